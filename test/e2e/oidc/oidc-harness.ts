import { createServer } from 'node:net';
import * as oidc from 'openid-client';
import { buildTestApp, createTenant, type TestApp } from '../../helpers/test-app.ts';

/**
 * The provider as a real relying party meets it: Gatehouse listening on 127.0.0.1 (a random port, which is also its
 * public URL), openid-client as the RP, and a cookie-keeping fetch as the browser on the hosted pages.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface OidcServer {
  t: TestApp;
  base: string;
  close(): Promise<void>;
}

export async function startOidcServer(env: Record<string, string> = {}): Promise<OidcServer> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t = await buildTestApp({ GATEHOUSE_PUBLIC_URL: base, ...env });
  await t.app.listen({ port, host: '127.0.0.1' });
  return { t, base, close: () => t.close() };
}

/** A tenant with relaxed limits and room for many sessions per user (each flow opens a browser and a grant session). */
export async function oidcTenant(s: OidcServer, slug: string) {
  return createTenant(s.t, slug, { settings: { max_sessions_per_user: 100 } });
}

export async function registerClient(s: OidcServer, slug: string, body: Record<string, unknown>) {
  const res = await s.t.app.inject({
    method: 'POST',
    url: `/api/v1/platform/tenants/${slug}/clients`,
    headers: { authorization: `Bearer ${s.t.platformToken}` },
    payload: body,
  });
  if (res.statusCode !== 201) throw new Error(`client create: ${res.statusCode} ${res.body}`);
  return res.json() as { client_id: string; client_secret?: string; scope: string; redirect_uris: string[] };
}

/** openid-client's configuration for a client of the tenant (plain http is allowed: the test server is on loopback). */
export function discover(issuer: string, clientId: string, auth?: oidc.ClientAuth, metadata: Partial<oidc.ClientMetadata> = {}) {
  return oidc.discovery(new URL(issuer), clientId, metadata, auth, { execute: [oidc.allowInsecureRequests] });
}

/** A browser for the hosted pages: keeps cookies, follows nothing by itself. */
/** An authorization URL for the code flow with PKCE S256 and a fresh state, with the values the exchange needs. */
export async function pkceAuthorization(config: oidc.Configuration, redirectUri: string, scope: string, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  });
  return { url, verifier, state };
}

export class Browser {
  readonly jar = new Map<string, string>();
  /** Sent with every request (Accept-Language, ...). */
  readonly extraHeaders: Record<string, string> = {};

  async fetch(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...this.extraHeaders };
    if (this.jar.size) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      redirect: 'manual',
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const body = await res.text();
    return { status: res.status, location: res.headers.get('location'), body, headers: res.headers };
  }
}

/** The same browser over app.inject, for suites that do not listen (absolute URLs are reduced to their path). */
export class InjectBrowser extends Browser {
  constructor(private readonly t: TestApp) {
    super();
  }

  override async fetch(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    const u = new URL(url, 'http://gatehouse.test');
    const headers: Record<string, string> = { ...this.extraHeaders, host: u.host };
    if (this.jar.size) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await this.t.app.inject({
      method: (init.method ?? (init.form ? 'POST' : 'GET')) as 'GET' | 'POST',
      url: u.pathname + u.search,
      headers,
      ...(init.form ? { payload: new URLSearchParams(init.form).toString() } : {}),
    });
    const raw = res.headers['set-cookie'];
    for (const c of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
      const pair = c.split(';')[0]!;
      const i = pair.indexOf('=');
      const value = pair.slice(i + 1).trim();
      if (value === '' || /max-age=0/i.test(c)) this.jar.delete(pair.slice(0, i).trim());
      else this.jar.set(pair.slice(0, i).trim(), value);
    }
    const headersOut = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headersOut.set(k, v);
    return { status: res.statusCode, location: (res.headers.location as string | undefined) ?? null, body: res.body, headers: headersOut };
  }
}

export function formOf(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no form in page:\n${html}`);
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = m[2]!.replaceAll('&amp;', '&');
  return { action: action.replaceAll('&amp;', '&'), fields };
}

/**
 * Follows the browser from the authorization URL through the hosted pages until it is sent back to `redirectUri`:
 * signs in when the login page shows, answers the consent page with `consent`.
 */
export async function runBrowser(
  browser: Browser,
  authorizationUrl: string,
  redirectUri: string,
  o: { email?: string; password?: string; consent?: 'allow' | 'deny'; pages?: string[]; mfaCode?: string } = {},
): Promise<URL> {
  let next: { url: string; form?: Record<string, string> } = { url: authorizationUrl };
  for (let hop = 0; hop < 12; hop++) {
    const res = await browser.fetch(next.url, next.form ? { form: next.form } : {});
    if (res.status === 303 || res.status === 302) {
      if (res.location!.startsWith(redirectUri)) return new URL(res.location!);
      next = { url: new URL(res.location!, new URL(next.url, 'http://gatehouse.test')).href };
      continue;
    }
    if (res.status === 200 || res.status === 401) {
      const { action, fields } = formOf(res.body);
      if (action.endsWith('/login')) {
        o.pages?.push('login');
        if (!o.email) throw new Error('the login page showed but no credentials were given');
        next = { url: action, form: { ...fields, email: o.email, password: o.password! } };
        if (res.status === 401) throw new Error(`sign-in refused:\n${res.body}`);
        continue;
      }
      if (action.endsWith('/mfa')) {
        o.pages?.push('mfa');
        if (!o.mfaCode) throw new Error('the second-step page showed but no code was given');
        if (res.status === 401) throw new Error(`code refused:\n${res.body}`);
        next = { url: action, form: { ...fields, code: o.mfaCode } };
        continue;
      }
      if (action.endsWith('/consent')) {
        o.pages?.push('consent');
        if (!o.consent) throw new Error('the consent page showed but no decision was given');
        next = { url: action, form: { ...fields, decision: o.consent } };
        continue;
      }
    }
    throw new Error(`unexpected ${res.status} at ${next.url}:\n${res.body.slice(0, 2000)}`);
  }
  throw new Error('too many hops');
}

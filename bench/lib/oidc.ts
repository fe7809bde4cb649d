/**
 * Gatehouse's OAuth/OIDC side of the oidc-* benchmarks: clients registered through the platform API (as
 * `gatehouse client create` does), and the authorization code flow driven over real HTTP the way a browser does it
 * (cookie jar, 303s followed by hand, the hosted login form posted with its CSRF field), then the code redeemed at
 * the token endpoint with client_secret_basic and PKCE S256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ROOT, spawnChild, type Child } from './child.ts';
import { api, PASSWORD, type Backend, type GatehouseProcess } from './gatehouse.ts';
import type { LoadResult } from './load.ts';
import { benchLine, fmt, info, mean, ms } from './report.ts';

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

export interface OAuthClient {
  client_id: string;
  client_secret: string;
  scope: string;
}

export async function createClient(gh: GatehouseProcess, slug: string, body: Record<string, unknown>): Promise<OAuthClient> {
  const r = await api<OAuthClient>(gh.url, 'POST', `/api/v1/platform/tenants/${slug}/clients`, { token: gh.platformToken, body });
  if (r.status !== 201) throw new Error(`create client: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`);
  return r.body;
}

/** RFC 6749 §2.3.1 Basic credentials (form-urlencoded, then base64). */
export function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export const FORM = 'application/x-www-form-urlencoded';

/**
 * A cookie-keeping browser on one server. Gatehouse writes absolute URLs with its public URL (which, with PORT=0,
 * does not name the port it got), so every URL is reduced to its path and sent to `base`.
 */
export class Browser {
  readonly jar = new Map<string, string>();
  constructor(private readonly base: string) {}

  async fetch(url: string, form?: Record<string, string>) {
    const u = new URL(url, this.base);
    const headers: Record<string, string> = {};
    if (this.jar.size) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) headers['content-type'] = FORM;
    const res = await fetch(this.base + u.pathname + u.search, {
      method: form ? 'POST' : 'GET',
      headers,
      redirect: 'manual',
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0]!;
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (value === '' || /max-age=0/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { status: res.status, location: res.headers.get('location'), body: await res.text() };
  }
}

function formOf(html: string): { action: string; fields: Record<string, string> } {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no form in the page: ${html.slice(0, 600)}`);
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = m[2]!.replaceAll('&amp;', '&');
  return { action: action.replaceAll('&amp;', '&'), fields };
}

export interface CodeFlowResult {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  /** Whether the hosted login form was shown and posted (false when the browser already had a session). */
  signedIn: boolean;
}

/**
 * authorize → (hosted login page → login form post) → redirect with the code → token request. Throws on anything
 * but the expected path (a consent page, an error redirect, a non-200 token answer). A first-party client is
 * expected, so no consent page shows.
 */
export async function codeFlow(
  gh: GatehouseProcess,
  slug: string,
  client: OAuthClient,
  browser: Browser,
  email: string,
  scope = 'openid offline_access',
  stages?: Record<string, number>,
): Promise<CodeFlowResult> {
  // Wall time per step, when asked for (ms, added up): authorize (GET /authorize, its 303 and the login page),
  // login (the form post and the 303s until the redirect URI with the code), token (the code redeemed).
  let mark = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    if (stages) stages[name] = (stages[name] ?? 0) + now - mark;
    mark = now;
  };
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    scope,
    state,
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  let next: { url: string; form?: Record<string, string> } = { url: `/t/${slug}/oauth/authorize?${query}` };
  let signedIn = false;
  let callback: URL | undefined;
  for (let hop = 0; hop < 8 && !callback; hop++) {
    const res = await browser.fetch(next.url, next.form);
    if (res.status === 302 || res.status === 303) {
      if (res.location!.startsWith(REDIRECT_URI)) callback = new URL(res.location!);
      else next = { url: res.location! };
      continue;
    }
    if (res.status === 200) {
      lap('authorize');
      const { action, fields } = formOf(res.body);
      if (!action.endsWith('/login') || signedIn) throw new Error(`unexpected page with a form to ${action}`);
      signedIn = true;
      next = { url: action, form: { ...fields, email, password: PASSWORD } };
      continue;
    }
    throw new Error(`code flow: HTTP ${res.status} at ${next.url}: ${res.body.slice(0, 400)}`);
  }
  if (!callback) throw new Error('code flow: too many hops');
  lap(signedIn ? 'login' : 'authorize');
  const code = callback.searchParams.get('code');
  if (!code || callback.searchParams.get('state') !== state) throw new Error(`code flow: no code in ${callback.href}`);
  const res = await fetch(`${gh.url}/t/${slug}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(client.client_id, client.client_secret), 'content-type': FORM },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }).toString(),
  });
  const body = (await res.json()) as Omit<CodeFlowResult, 'signedIn'>;
  if (res.status !== 200) throw new Error(`code flow: token HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  lap('token');
  return { ...body, signedIn };
}

/**
 * Starts node-oidc-provider (bench/lib/oidc-provider-server.ts) as the peer. Its storage: BENCH_OIDC_PROVIDER_ADAPTER,
 * by default its in-memory adapter beside the embedded Gatehouse and the local Redis beside BENCH_BACKEND=server.
 */
export async function startOidcProvider(backend: Backend): Promise<Child & { adapter: string }> {
  const adapter = process.env.BENCH_OIDC_PROVIDER_ADAPTER ?? (backend === 'server' ? 'redis' : 'memory');
  const child = await spawnChild(join(ROOT, 'bench/lib/oidc-provider-server.ts'), { env: { BENCH_OIDC_PROVIDER_ADAPTER: adapter } });
  return Object.assign(child, { adapter });
}

/**
 * The peer comparison both token benchmarks run: `rounds` alternating rounds (the order flips each round, so neither
 * side always runs right after the other's load), a line per round, the server-CPU cross-check, the target line and
 * the BENCH line. `unit` names one operation ("token", "rotation"); `detail` adds to each side's round figures.
 */
export async function comparePeerRounds(
  name: string,
  unit: string,
  rounds: number,
  ours: () => Promise<LoadResult & { cpuUsPerReq: number }>,
  theirs: () => Promise<LoadResult & { cpuUsPerReq: number }>,
  detail: (r: LoadResult) => string = () => '',
): Promise<void> {
  const o: number[] = [];
  const l: number[] = [];
  const cpuO: number[] = [];
  const cpuL: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let a: LoadResult & { cpuUsPerReq: number };
    let b: typeof a;
    if (i % 2 === 0) {
      a = await ours();
      b = await theirs();
    } else {
      b = await theirs();
      a = await ours();
    }
    o.push(a.rps);
    l.push(b.rps);
    cpuO.push(a.cpuUsPerReq);
    cpuL.push(b.cpuUsPerReq);
    const side = (r: typeof a) => `${fmt(r.rps)}/s (${detail(r)}p50 ${ms(r.p50)} p95 ${ms(r.p95)}, ${fmt(r.cpuUsPerReq, 0)} µs CPU/req)`;
    info(`round ${i + 1}: gatehouse ${side(a)} | oidc-provider ${side(b)}`);
  }
  info(
    `server CPU per ${unit} (noise-robust cross-check): gatehouse ${fmt(mean(cpuO), 0)} µs vs oidc-provider ${fmt(mean(cpuL), 0)} µs ` +
      `-> CPU-equivalent ratio ${fmt(mean(cpuL) / mean(cpuO))}`,
  );
  const ratio = mean(o) / mean(l);
  info(`target ratio >= 1.50: ${ratio >= 1.5 ? 'met' : 'MISSED'}`);
  benchLine(name, mean(o), mean(l));
}

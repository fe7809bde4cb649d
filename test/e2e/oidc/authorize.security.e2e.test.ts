import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, createUser, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, STRONG_PASSWORD } from '../../helpers/test-app.ts';
import { cleanupExpiredCodes } from '../../../src/oauth/authorize/code-cleanup.ts';
import { sha256 } from '../../../src/shared/crypto.ts';
import { Browser, discover, oidcTenant, registerClient, runBrowser, startOidcServer, type OidcServer } from './oidc-harness.ts';

const REDIRECT = 'https://app.example/callback';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * Threats at /authorize and the code exchange: open redirects, PKCE downgrade, code reuse and substitution, and
 * clients of another tenant.
 */
describe(`OIDC authorize and code threats (${backendName})`, () => {
  let s: OidcServer;
  let issuer: string;
  let tenantId: string;
  let web: { client_id: string; client_secret?: string };
  let config: oidc.Configuration;
  let foreign: { client_id: string; client_secret?: string };
  let adminEmail: string;
  const email = 'bob@az-acme.test';

  async function challenge() {
    const verifier = oidc.randomPKCECodeVerifier();
    return { verifier, code_challenge: await oidc.calculatePKCECodeChallenge(verifier) };
  }

  const authorizeUrl = (params: Record<string, string>) => `${issuer}/oauth/authorize?${new URLSearchParams(params)}`;

  /** A code for `web`, obtained through the hosted sign-in. */
  async function code(o: { verifier?: string; browser?: Browser; cfg?: oidc.Configuration; redirect?: string } = {}) {
    const pkce = o.verifier ? { verifier: o.verifier, code_challenge: await oidc.calculatePKCECodeChallenge(o.verifier) } : await challenge();
    const url = oidc.buildAuthorizationUrl(o.cfg ?? config, { redirect_uri: o.redirect ?? REDIRECT, scope: 'openid offline_access', code_challenge: pkce.code_challenge, code_challenge_method: 'S256', state: 'st' });
    const callback = await runBrowser(o.browser ?? new Browser(), url.href, o.redirect ?? REDIRECT, { email, password: STRONG_PASSWORD });
    return { callback, verifier: pkce.verifier, code: callback.searchParams.get('code')! };
  }

  const exchange = (params: Record<string, string>, secret = web.client_secret!, clientId = web.client_id) =>
    fetch(`${issuer}/oauth/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', redirect_uri: REDIRECT, ...params }),
    });

  beforeAll(async () => {
    s = await startOidcServer();
    const t = await oidcTenant(s, 'az-acme');
    issuer = t.issuer;
    tenantId = t.id;
    adminEmail = t.adminEmail;
    await oidcTenant(s, 'az-globex');
    await createUser(s.t, 'az-acme', email);
    web = await registerClient(s, 'az-acme', { name: 'Web', type: 'confidential', redirect_uris: [REDIRECT, 'http://127.0.0.1/native'], first_party: true });
    foreign = await registerClient(s, 'az-globex', { name: 'Globex Web', type: 'confidential', redirect_uris: [REDIRECT], first_party: true });
    config = await discover(issuer, web.client_id, oidc.ClientSecretBasic(web.client_secret!));
  });
  afterAll(() => s.close());

  it('an unregistered redirect_uri (path, query, port, scheme, host variants) gets an error page, never a redirect', async () => {
    const { code_challenge } = await challenge();
    for (const redirect_uri of [
      'https://app.example/callback/',
      'https://app.example/callback?next=1',
      'https://app.example:444/callback',
      'http://app.example/callback',
      'https://evil.example/callback',
      'https://app.example/callbac',
      'http://127.0.0.1/native/x',
    ]) {
      const res = await new Browser().fetch(authorizeUrl({ response_type: 'code', client_id: web.client_id, redirect_uri, code_challenge, code_challenge_method: 'S256', state: 's' }));
      expect(res.status, redirect_uri).toBe(400);
      expect(res.location, redirect_uri).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.body).toContain('invalid_redirect_uri');
      expect(res.body).not.toContain('evil.example');
    }
    // The loopback redirect may vary its port (RFC 8252).
    const loop = await new Browser().fetch(authorizeUrl({ response_type: 'code', client_id: web.client_id, redirect_uri: 'http://127.0.0.1:53211/native', code_challenge, code_challenge_method: 'S256' }));
    expect(loop.status).toBe(303);
    expect(loop.location).toMatch(/\/oauth\/interaction\//);
  });

  it('an unknown client, or a client of another tenant, gets an error page', async () => {
    const { code_challenge } = await challenge();
    for (const client_id of ['ghc_unknown', foreign.client_id, '']) {
      const res = await new Browser().fetch(authorizeUrl({ response_type: 'code', client_id, redirect_uri: REDIRECT, code_challenge, code_challenge_method: 'S256' }));
      expect(res.status, client_id).toBe(400);
      expect(res.location).toBeNull();
    }
  });

  it('PKCE is required and only S256: plain, a missing method or a missing challenge are refused at the redirect URI', async () => {
    const { verifier, code_challenge } = await challenge();
    const cases: Record<string, string>[] = [
      { code_challenge: verifier, code_challenge_method: 'plain' },
      { code_challenge },
      {},
      { code_challenge: 'short', code_challenge_method: 'S256' },
    ];
    for (const pkce of cases) {
      const res = await new Browser().fetch(authorizeUrl({ response_type: 'code', client_id: web.client_id, redirect_uri: REDIRECT, state: 'xyz', ...pkce }));
      expect(res.status, JSON.stringify(pkce)).toBe(303);
      const back = new URL(res.location!);
      expect(back.origin + back.pathname).toBe(REDIRECT);
      expect(back.searchParams.get('error')).toBe('invalid_request');
      expect(back.searchParams.get('state')).toBe('xyz');
      expect(back.searchParams.get('iss')).toBe(issuer);
    }
  });

  it('other request errors go back to the client: response_type, scope, prompt', async () => {
    const { code_challenge } = await challenge();
    const base = { client_id: web.client_id, redirect_uri: REDIRECT, code_challenge, code_challenge_method: 'S256', state: 's1' };
    const cases: [Record<string, string>, string][] = [
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ response_type: 'code', scope: 'openid admin' }, 'invalid_scope'],
      [{ response_type: 'code', prompt: 'none login' }, 'invalid_request'],
      [{ response_type: 'code', max_age: '-1' }, 'invalid_request'],
      [{ response_type: 'code', prompt: 'none' }, 'login_required'],
    ];
    for (const [params, error] of cases) {
      const res = await new Browser().fetch(authorizeUrl({ ...base, ...params }));
      expect(res.status).toBe(303);
      expect(new URL(res.location!).searchParams.get('error'), JSON.stringify(params)).toBe(error);
    }
    const twice = await new Browser().fetch(`${authorizeUrl({ ...base, response_type: 'code' })}&scope=openid&scope=email`);
    expect(new URL(twice.location!).searchParams.get('error')).toBe('invalid_request');
  });

  it('the code is bound to the PKCE verifier: missing or wrong verifier fails, and the code is then spent', async () => {
    const a = await code();
    const missing = await exchange({ code: a.code });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'invalid_request' });
    const wrong = await exchange({ code: a.code, code_verifier: oidc.randomPKCECodeVerifier() });
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
    const right = await exchange({ code: a.code, code_verifier: a.verifier });
    expect(await right.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('the code is bound to its redirect URI and its client', async () => {
    const a = await code();
    const other = await exchange({ code: a.code, code_verifier: a.verifier, redirect_uri: 'http://127.0.0.1/native' });
    expect(await other.json()).toMatchObject({ error: 'invalid_grant' });

    const b = await code();
    const second = await registerClient(s, 'az-acme', { name: 'Second', type: 'confidential', redirect_uris: [REDIRECT], first_party: true });
    const stolen = await exchange({ code: b.code, code_verifier: b.verifier }, second.client_secret!, second.client_id);
    expect(await stolen.json()).toMatchObject({ error: 'invalid_grant' });
    // Not spent by another client's attempt: its own client still redeems it.
    const own = await exchange({ code: b.code, code_verifier: b.verifier });
    expect(own.status).toBe(200);
    // And another tenant's client cannot even authenticate here.
    const cross = await exchange({ code: b.code, code_verifier: b.verifier }, foreign.client_secret!, foreign.client_id);
    expect(cross.status).toBe(401);
  });

  it('a code expires after 60 seconds', async () => {
    const a = await code();
    await tenantQuery(s.t, tenantId, `UPDATE oauth_codes SET expires_at = now() - interval '1 second' WHERE consumed_at IS NULL`);
    const res = await exchange({ code: a.code, code_verifier: a.verifier });
    expect(await res.json()).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/expired/) });
    // The clean-up job removes codes an hour past expiry, in every tenant, and nothing younger.
    const fresh = await code();
    await tenantQuery(s.t, tenantId, `UPDATE oauth_codes SET expires_at = now() - interval '2 hours' WHERE code_hash <> $1`, [sha256(fresh.code)]);
    expect(await cleanupExpiredCodes(s.t.gh)).toBeGreaterThan(0);
    expect(await tenantQuery(s.t, tenantId, 'SELECT code_hash FROM oauth_codes')).toEqual([{ code_hash: sha256(fresh.code) }]);
  });

  it('a reused code revokes the tokens it issued (access and refresh), and the reuse is audited', async () => {
    const a = await code();
    const tokens = await oidc.authorizationCodeGrant(config, a.callback, { pkceCodeVerifier: a.verifier, expectedState: 'st' });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    const again = await exchange({ code: a.code, code_verifier: a.verifier });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const grant = await tenantQuery<{ revoked_reason: string }>(s.t, tenantId, 'SELECT revoked_reason FROM sessions WHERE id = $1', [decodeJwt(tokens.access_token).sid]);
    expect(grant).toEqual([{ revoked_reason: 'code_reuse' }]);
    const admin = (await signIn(s.t, 'az-acme', adminEmail)).access;
    const events = await auditEvents(s.t, 'az-acme', admin, 'oauth.code.reuse_detected');
    expect(events[0]).toMatchObject({ risk: 'high', details: { client_id: web.client_id } });
  });

  it('the hosted sign-in goes through the password login’s protection: progressive delays after repeated failures', async () => {
    await createUser(s.t, 'az-acme', 'carol@az-acme.test');
    const browser = new Browser();
    const { code_challenge } = await challenge();
    const start = await browser.fetch(authorizeUrl({ response_type: 'code', client_id: web.client_id, redirect_uri: REDIRECT, code_challenge, code_challenge_method: 'S256' }));
    const loginPage = await browser.fetch(start.location!);
    const action = /action="([^"]+)"/.exec(loginPage.body)![1]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(loginPage.body)![1]!;
    for (let i = 0; i < 5; i++) {
      const wrong = await browser.fetch(action, { form: { csrf, email: 'carol@az-acme.test', password: `wrong password number ${i}` } });
      expect(wrong.status).toBe(401);
    }
    // Now even the right password waits: 429 with Retry-After, the message on the page.
    const limited = await browser.fetch(action, { form: { csrf, email: 'carol@az-acme.test', password: STRONG_PASSWORD } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body).toMatch(/role="alert"[^>]*>Too many login attempts/);
    expect(browser.jar.has('gh_session')).toBe(false);
    // The failures were audited as any password login's are.
    const admin = (await signIn(s.t, 'az-acme', adminEmail)).access;
    expect((await auditEvents(s.t, 'az-acme', admin, 'login.failed')).filter((e) => e.details.email === 'carol@az-acme.test')).toHaveLength(5);
  });

  it('an access token of one tenant is inactive and refused at another tenant’s endpoints', async () => {
    const a = await code();
    const tokens = await oidc.authorizationCodeGrant(config, a.callback, { pkceCodeVerifier: a.verifier, expectedState: 'st' });
    const globexIssuer = issuer.replace('az-acme', 'az-globex');
    const globex = await discover(globexIssuer, foreign.client_id, oidc.ClientSecretBasic(foreign.client_secret!));
    expect((await oidc.tokenIntrospection(globex, tokens.access_token)).active).toBe(false);
    expect((await oidc.tokenIntrospection(globex, tokens.refresh_token!)).active).toBe(false);
    const info = await fetch(`${globexIssuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(info.status).toBe(401);
    await expect(oidc.refreshTokenGrant(globex, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // Nothing was burnt at home.
    expect((await oidc.refreshTokenGrant(config, tokens.refresh_token!)).refresh_token).toMatch(/^ghr_/);
  });
});

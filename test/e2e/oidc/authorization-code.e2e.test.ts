import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, patchTenant, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, bearer, STRONG_PASSWORD } from '../../helpers/test-app.ts';
import { Browser, discover, oidcTenant, registerClient, runBrowser, startOidcServer, type OidcServer } from './oidc-harness.ts';

const REDIRECT = 'http://127.0.0.1:9/callback';

/**
 * The authorization code flow with PKCE, end to end: openid-client as the relying party, a cookie-keeping browser
 * on the hosted sign-in and consent pages, then the tokens it got: ID token, userinfo, refresh, introspection,
 * revocation and logout.
 */
describe(`OIDC authorization code + PKCE (${backendName})`, () => {
  let s: OidcServer;
  let issuer: string;
  let tenantId: string;
  let user: { id: string; email: string };
  let web: { client_id: string; client_secret?: string };
  let config: oidc.Configuration;

  async function authorize(cfg: oidc.Configuration, browser: Browser, params: Record<string, string>, o: Parameters<typeof runBrowser>[3] = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: REDIRECT,
      scope: 'openid email profile offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...params,
    });
    const callback = await runBrowser(browser, url.href, REDIRECT, { email: user.email, password: STRONG_PASSWORD, ...o });
    return { callback, verifier, state, nonce };
  }

  beforeAll(async () => {
    s = await startOidcServer();
    const t = await oidcTenant(s, 'ac-acme');
    issuer = t.issuer;
    tenantId = t.id;
    user = await createUser(s.t, 'ac-acme', 'alice@ac-acme.test');
    await tenantQuery(s.t, tenantId, `UPDATE users SET name = 'Alice Liddell', given_name = 'Alice', email_verified = true WHERE id = $1`, [user.id]);
    web = await registerClient(s, 'ac-acme', { name: 'Acme Web', type: 'confidential', redirect_uris: [REDIRECT], post_logout_redirect_uris: ['http://127.0.0.1:9/bye'], first_party: true });
    config = await discover(issuer, web.client_id, oidc.ClientSecretBasic(web.client_secret!));
  });
  afterAll(() => s.close());

  it('signs in on the hosted page and gets an access token, an ID token and a refresh token', async () => {
    const browser = new Browser();
    const pages: string[] = [];
    const { callback, verifier, state, nonce } = await authorize(config, browser, {}, { pages });
    expect(pages).toEqual(['login']);
    expect(callback.searchParams.get('iss')).toBe(issuer);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
    expect(tokens.refresh_token).toMatch(/^ghr_/);
    expect(tokens.scope).toBe('openid email profile offline_access');
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: issuer, sub: user.id, aud: web.client_id, nonce, amr: ['pwd'], acr: 'urn:gatehouse:aal1', email: user.email, email_verified: true, name: 'Alice Liddell' });
    expect(claims.auth_time).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(claims.sid).toEqual(expect.any(String));
    const digest = createHash('sha256').update(tokens.access_token).digest();
    expect(claims.at_hash).toBe(digest.subarray(0, 16).toString('base64url'));
    // The ID token verifies against the published keys; its sid is the browser's session.
    await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)), { issuer, audience: web.client_id });
    const browserSession = await tenantQuery<{ id: string; client_id: string | null }>(s.t, tenantId, 'SELECT id, client_id FROM sessions WHERE id = $1', [claims.sid]);
    expect(browserSession).toEqual([{ id: claims.sid, client_id: null }]);
    // The access token's grant is another row of the same sessions table, naming the client.
    const at = decodeJwt(tokens.access_token);
    const grant = await tenantQuery<{ client_id: string; parent_session_id: string }>(s.t, tenantId, 'SELECT client_id, parent_session_id FROM sessions WHERE id = $1', [at.sid]);
    expect(grant).toEqual([{ client_id: web.client_id, parent_session_id: claims.sid }]);

    // Using the browser session extends its idle expiry; an idle-expired one is signed out.
    await tenantQuery(s.t, tenantId, `UPDATE sessions SET idle_expires_at = now() + interval '1 minute' WHERE id = $1`, [claims.sid]);
    // A second authorization in the same browser needs no sign-in (first-party: no consent either).
    const again = await authorize(config, browser, {}, { pages });
    expect(pages).toEqual(['login']);
    const t2 = await oidc.authorizationCodeGrant(config, again.callback, { pkceCodeVerifier: again.verifier, expectedState: again.state, expectedNonce: again.nonce });
    expect(t2.claims()!.sid).toBe(claims.sid);
    const [touched] = await tenantQuery<{ idle_left: number }>(s.t, tenantId, `SELECT extract(epoch FROM idle_expires_at - now())::int AS idle_left FROM sessions WHERE id = $1`, [claims.sid]);
    expect(touched!.idle_left).toBeGreaterThan(3600);
    await tenantQuery(s.t, tenantId, `UPDATE sessions SET idle_expires_at = now() - interval '1 second' WHERE id = $1`, [claims.sid]);
    const afterIdle: string[] = [];
    await authorize(config, browser, {}, { pages: afterIdle });
    expect(afterIdle).toEqual(['login']);
  });

  it('userinfo (GET and POST) gives only the claims the granted scopes allow', async () => {
    const browser = new Browser();
    const full = await authorize(config, browser, {});
    const t1 = await oidc.authorizationCodeGrant(config, full.callback, { pkceCodeVerifier: full.verifier, expectedState: full.state, expectedNonce: full.nonce });
    const info = await oidc.fetchUserInfo(config, t1.access_token, user.id);
    expect(info).toMatchObject({ sub: user.id, email: user.email, email_verified: true, name: 'Alice Liddell', given_name: 'Alice' });
    const post = await fetch(`${issuer}/oauth/userinfo`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `access_token=${t1.access_token}` });
    expect(await post.json()).toMatchObject({ sub: user.id, email: user.email });

    const narrow = await authorize(config, browser, { scope: 'openid' });
    const t2 = await oidc.authorizationCodeGrant(config, narrow.callback, { pkceCodeVerifier: narrow.verifier, expectedState: narrow.state, expectedNonce: narrow.nonce });
    expect(t2.refresh_token).toBeUndefined();
    expect(await oidc.fetchUserInfo(config, t2.access_token, user.id)).toEqual({ sub: user.id });
    expect(t2.claims()!.email).toBeUndefined();

    const emailOnly = await authorize(config, browser, { scope: 'openid email' });
    const t3 = await oidc.authorizationCodeGrant(config, emailOnly.callback, { pkceCodeVerifier: emailOnly.verifier, expectedState: emailOnly.state, expectedNonce: emailOnly.nonce });
    expect(await oidc.fetchUserInfo(config, t3.access_token, user.id)).toEqual({ sub: user.id, email: user.email, email_verified: true });

    // Not a user's token, or a junk one: 401 invalid_token with a Bearer challenge.
    const res = await fetch(`${issuer}/oauth/userinfo`, { headers: bearer('junk') });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    // The OAuth token does not open the first-party API either.
    expect((await s.t.app.inject({ method: 'GET', url: '/t/ac-acme/api/v1/me', headers: bearer(t1.access_token) })).statusCode).toBe(401);
  });

  it('refresh rotates the token in the same family; a reused refresh token revokes the grant', async () => {
    const flow = await authorize(config, new Browser(), {});
    const first = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    const second = await oidc.refreshTokenGrant(config, first.refresh_token!);
    expect(second.refresh_token).toMatch(/^ghr_/);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.claims()!.sub).toBe(user.id);
    const narrower = await oidc.refreshTokenGrant(config, second.refresh_token!, { scope: 'openid' });
    expect(narrower.scope).toBe('openid');
    await expect(oidc.refreshTokenGrant(config, narrower.refresh_token!, { scope: 'openid admin' })).rejects.toMatchObject({ error: 'invalid_scope' });

    const family = await tenantQuery<{ n: number }>(s.t, tenantId, `SELECT count(DISTINCT family_id)::int AS n FROM refresh_tokens WHERE session_id = $1`, [decodeJwt(second.access_token).sid]);
    expect(family).toEqual([{ n: 1 }]);

    // The first (rotated) token again: reuse. The whole grant is revoked, including the newest tokens.
    await expect(oidc.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(config, narrower.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(config, narrower.access_token)).active).toBe(false);
    const res = await fetch(`${issuer}/oauth/userinfo`, { headers: bearer(narrower.access_token) });
    expect(res.status).toBe(401);
  });

  it('a refresh token is bound to its client; the first-party API does not take it', async () => {
    const flow = await authorize(config, new Browser(), {});
    const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    const other = await registerClient(s, 'ac-acme', { name: 'Other', type: 'confidential', redirect_uris: [REDIRECT], first_party: true });
    const otherConfig = await discover(issuer, other.client_id, oidc.ClientSecretBasic(other.client_secret!));
    await expect(oidc.refreshTokenGrant(otherConfig, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(otherConfig, tokens.refresh_token!)).active).toBe(false);
    const fp = await s.t.app.inject({ method: 'POST', url: '/t/ac-acme/api/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } });
    expect(fp.statusCode).toBe(401);
    // And a first-party refresh token is unknown at the token endpoint (and stays usable where it belongs).
    const firstParty = await s.t.app.inject({ method: 'POST', url: '/t/ac-acme/api/v1/auth/login', payload: { email: user.email, password: STRONG_PASSWORD } });
    const fpRefresh = firstParty.json().refresh_token as string;
    await expect(oidc.refreshTokenGrant(config, fpRefresh)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await s.t.app.inject({ method: 'POST', url: '/t/ac-acme/api/v1/auth/refresh', payload: { refresh_token: fpRefresh } })).statusCode).toBe(200);
    // Still good for its own client: nothing was burnt.
    expect((await oidc.refreshTokenGrant(config, tokens.refresh_token!)).access_token).toEqual(expect.any(String));
  });

  it('introspection and revocation of the user’s tokens', async () => {
    const flow = await authorize(config, new Browser(), {});
    const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true, sub: user.id, client_id: web.client_id, scope: 'openid email profile offline_access' });
    expect(await oidc.tokenIntrospection(config, tokens.refresh_token!)).toMatchObject({ active: true, token_type: 'refresh_token', sub: user.id });
    // Revoking the refresh token ends the grant: its access token too.
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    expect((await oidc.tokenIntrospection(config, tokens.refresh_token!)).active).toBe(false);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('a public client uses PKCE with no secret', async () => {
    const spa = await registerClient(s, 'ac-acme', { name: 'SPA', type: 'public', redirect_uris: [REDIRECT], first_party: true });
    const cfg = await discover(issuer, spa.client_id, oidc.None());
    const flow = await authorize(cfg, new Browser(), {});
    const tokens = await oidc.authorizationCodeGrant(cfg, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    expect(tokens.claims()!.aud).toBe(spa.client_id);
    const rotated = await oidc.refreshTokenGrant(cfg, tokens.refresh_token!);
    expect(rotated).toMatchObject({ token_type: 'bearer' });
    // It may revoke its tokens, but not introspect (not advertised for `none`, refused).
    await expect(oidc.tokenIntrospection(cfg, rotated.access_token)).rejects.toMatchObject({ error: 'invalid_client' });
    await oidc.tokenRevocation(cfg, rotated.refresh_token!);
    const after = await oidc.tokenIntrospection(config, rotated.refresh_token!);
    expect(after.active).toBe(false);
    const revoked = await tenantQuery<{ revoked_reason: string }>(s.t, tenantId, 'SELECT revoked_reason FROM sessions WHERE id = $1', [decodeJwt(rotated.access_token).sid]);
    expect(revoked).toEqual([{ revoked_reason: 'oauth_revoked' }]);
  });

  it('a third-party client asks for consent once; the decision is remembered; deny returns access_denied', async () => {
    const app3 = await registerClient(s, 'ac-acme', { name: 'Partner App', type: 'confidential', redirect_uris: [REDIRECT], scope: 'openid email' });
    const cfg = await discover(issuer, app3.client_id, oidc.ClientSecretBasic(app3.client_secret!));
    const browser = new Browser();
    const denied = await authorize(cfg, browser, { scope: 'openid email' }, { consent: 'deny' });
    expect(denied.callback.searchParams.get('error')).toBe('access_denied');
    expect(denied.callback.searchParams.get('state')).toBe(denied.state);
    const pages: string[] = [];
    const flow = await authorize(cfg, browser, { scope: 'openid email' }, { consent: 'allow', pages });
    expect(pages).toEqual(['consent']);
    await oidc.authorizationCodeGrant(cfg, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    const later: string[] = [];
    await authorize(cfg, browser, { scope: 'openid email' }, { pages: later });
    expect(later).toEqual([]);
    // prompt=consent asks again.
    const asked: string[] = [];
    await authorize(cfg, browser, { scope: 'openid', prompt: 'consent' }, { consent: 'allow', pages: asked });
    expect(asked).toEqual(['consent']);
  });

  it('prompt=login and max_age=0 make the user sign in again; prompt=none answers from the session alone', async () => {
    const browser = new Browser();
    await authorize(config, browser, {});
    const cases: Record<string, string>[] = [{ prompt: 'login' }, { max_age: '0' }];
    for (const params of cases) {
      const pages: string[] = [];
      const flow = await authorize(config, browser, params, { pages });
      expect(pages, JSON.stringify(params)).toEqual(['login']);
      await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, ...(params.max_age ? { maxAge: 0 } : {}) });
    }
    const silent = await authorize(config, browser, { prompt: 'none' });
    expect(silent.callback.searchParams.get('code')).toEqual(expect.any(String));
    const fresh = await authorize(config, new Browser(), { prompt: 'none' });
    expect(fresh.callback.searchParams.get('error')).toBe('login_required');
    expect(fresh.callback.searchParams.get('state')).toBe(fresh.state);
    expect(fresh.callback.searchParams.get('iss')).toBe(issuer);
  });

  it('end_session with id_token_hint ends the browser session and redirects to the registered URI', async () => {
    const browser = new Browser();
    const flow = await authorize(config, browser, { scope: 'openid email' });
    const tokens = await oidc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
    const url = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/bye', state: 'st8' });
    const res = await browser.fetch(url.href);
    expect(res.status).toBe(303);
    expect(res.location).toBe('http://127.0.0.1:9/bye?state=st8');
    // The session is over: its non-offline grant is revoked and the browser must sign in again.
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    const pages: string[] = [];
    await authorize(config, browser, {}, { pages });
    expect(pages).toEqual(['login']);
    // An unregistered post-logout URI is refused on a page, not followed.
    const bad = await browser.fetch(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://evil.example/' }).href);
    expect(bad.status).toBe(400);
    expect(bad.location).toBeNull();
  });

  it('hosted pages show the tenant’s validated branding, allowed by the CSP', async () => {
    await patchTenant(s.t, 'ac-acme', { branding: { color: '#AA3300', logo_url: 'https://cdn.example/acme.png' } });
    const browser = new Browser();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const pageRes = await browser.fetch((await browser.fetch(url.href)).location!);
    expect(pageRes.body).toContain('<img class="logo" src="https://cdn.example/acme.png" alt="AC-ACME">');
    const css = /<style>([\s\S]*?)<\/style>/.exec(pageRes.body)![1]!;
    expect(css).toContain('--accent:#aa3300');
    const csp = pageRes.headers.get('content-security-policy')!;
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(css).digest('base64')}'`);
    expect(csp).toContain('img-src https://cdn.example');
    // Values that are not a hex colour or an https URL are ignored, never written into the page.
    await patchTenant(s.t, 'ac-acme', { branding: { color: 'red}body{display:none', logo_url: 'javascript:alert(1)' } });
    const plain = await browser.fetch((await browser.fetch(url.href)).location!);
    expect(plain.body).not.toContain('display:none');
    expect(plain.body).not.toContain('javascript:');
    expect(plain.body).toContain('--accent:#2f5bea');
    expect(plain.headers.get('content-security-policy')).not.toContain('img-src');
  });

  it('hosted pages speak Brazilian Portuguese when the browser asks for it', async () => {
    const browser = new Browser();
    browser.extraHeaders['accept-language'] = 'pt-BR,pt;q=0.9,en;q=0.5';
    const partner = await registerClient(s, 'ac-acme', { name: 'Parceiro', type: 'confidential', redirect_uris: [REDIRECT], scope: 'openid email' });
    const url = `${issuer}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: partner.client_id, redirect_uri: REDIRECT, scope: 'openid email', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' })}`;
    const start = await browser.fetch(url);
    const login = await browser.fetch(start.location!);
    expect(login.body).toContain('<html lang="pt-BR">');
    expect(login.body).toContain('<label for="password">Senha</label>');
    const action = /action="([^"]+)"/.exec(login.body)![1]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(login.body)![1]!;
    const wrong = await browser.fetch(action, { form: { csrf, email: user.email, password: 'senha errada de propósito 7' } });
    expect(wrong.body).toContain('E-mail ou senha incorretos.');
    const ok = await browser.fetch(action, { form: { csrf, email: user.email, password: STRONG_PASSWORD } });
    const consent = await browser.fetch(new URL(ok.location!, issuer).href);
    expect(consent.body).toContain('Permitir acesso?');
    expect(consent.body).toContain('Ver seu endereço de e-mail');
    const bad = await browser.fetch(`${issuer}/oauth/authorize?client_id=ghc_nobody&redirect_uri=${encodeURIComponent(REDIRECT)}`);
    expect(bad.body).toContain('Pedido de acesso recusado');
  });

  it('ui_locales (OIDC Core 3.1.2.1) picks the hosted pages\' language before the browser\'s, and is advertised', async () => {
    const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { ui_locales_supported?: string[] };
    expect(meta.ui_locales_supported).toEqual(['en', 'pt-BR']);
    const loginPage = async (uiLocales: string | undefined, acceptLanguage: string) => {
      const browser = new Browser();
      browser.extraHeaders['accept-language'] = acceptLanguage;
      const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
      const q = { response_type: 'code', client_id: config.clientMetadata().client_id, redirect_uri: REDIRECT, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', ...(uiLocales ? { ui_locales: uiLocales } : {}) };
      const start = await browser.fetch(`${issuer}/oauth/authorize?${new URLSearchParams(q)}`);
      const page = await browser.fetch(start.location!);
      return { browser, page };
    };
    // The client asks for Portuguese; the browser says English: the client's choice wins, on every page of the interaction.
    const { browser, page } = await loginPage('pt-BR en', 'en-US,en;q=0.9');
    expect(page.body).toContain('<html lang="pt-BR">');
    const action = /action="([^"]+)"/.exec(page.body)![1]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const wrong = await browser.fetch(action, { form: { csrf, email: user.email, password: 'senha errada de propósito 8' } });
    expect(wrong.body).toContain('E-mail ou senha incorretos.');
    // The first shipped tag counts; tags Gatehouse does not ship are skipped; none shipped leaves the browser to decide.
    expect((await loginPage('fr-CA en pt-BR', 'pt-BR')).page.body).toContain('<html lang="en">');
    expect((await loginPage('fr de', 'pt-BR,pt;q=0.9')).page.body).toContain('<html lang="pt-BR">');
    expect((await loginPage(undefined, 'en')).page.body).toContain('<html lang="en">');

    // RP-initiated logout takes it too: the confirmation page, and (carried in its form) the signed-out page.
    const flow = await authorize(config, browser, {});
    expect(flow.callback.searchParams.get('code')).toBeTruthy();
    const confirm = await browser.fetch(`${issuer}/oauth/end_session?ui_locales=pt-BR`);
    expect(confirm.body).toContain('<html lang="pt-BR">');
    expect(confirm.body).toContain('name="ui_locales" value="pt-BR"');
    const form = Object.fromEntries([...confirm.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
    const done = await browser.fetch(`${issuer}/oauth/end_session`, { form });
    expect(done.status).toBe(200);
    expect(done.body).toContain('<html lang="pt-BR">');
  });

  it('hosted pages: tenant name, CSRF token, strict CSP, no framing, session cookie httpOnly + SameSite=Lax', async () => {
    const browser = new Browser();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const first = await browser.fetch(url.href);
    expect(first.status).toBe(303);
    const pageRes = await browser.fetch(first.location!);
    expect(pageRes.status).toBe(200);
    expect(pageRes.headers.get('content-type')).toMatch(/^text\/html/);
    expect(pageRes.body).toContain('AC-ACME');
    expect(pageRes.body).toMatch(/name="csrf" value="[A-Za-z0-9_-]{32}"/);
    expect(pageRes.body).not.toMatch(/<script/i);
    const csp = pageRes.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).not.toMatch(/unsafe-inline/);
    expect(pageRes.headers.get('x-frame-options')).toBe('DENY');
    // A forged form (wrong CSRF token) is refused.
    const action = /action="([^"]+)"/.exec(pageRes.body)![1]!;
    const forged = await browser.fetch(action, { form: { csrf: 'x'.repeat(32), email: user.email, password: STRONG_PASSWORD } });
    expect(forged.status).toBe(403);
    // Another browser cannot use this interaction.
    const stranger = await new Browser().fetch(first.location!);
    expect(stranger.status).toBe(400);
    // A wrong password re-shows the form with the error, announced.
    const csrf = /name="csrf" value="([^"]+)"/.exec(pageRes.body)![1]!;
    const wrong = await browser.fetch(action, { form: { csrf, email: user.email, password: 'not the password at all 9' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatch(/role="alert"[^>]*>Email or password is incorrect/);
    const ok = await browser.fetch(action, { form: { csrf, email: user.email, password: STRONG_PASSWORD } });
    expect(ok.status).toBe(303);
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith('gh_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\/t\/ac-acme\//);
  });
});

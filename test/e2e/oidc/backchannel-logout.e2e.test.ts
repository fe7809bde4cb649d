import { createServer, type Server } from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverDueBackchannelLogouts } from '../../../src/oauth/backchannel/backchannel-worker.ts';
import { auditEvents, createUser, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, bearer, createTenant, expectError, STRONG_PASSWORD } from '../../helpers/test-app.ts';
import { Browser, discover, freePort, oidcTenant, pkceAuthorization, registerClient, runBrowser, startOidcServer, type OidcServer } from './oidc-harness.ts';

const REDIRECT = 'http://127.0.0.1:9/callback';
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

interface Received {
  path: string;
  contentType: string | undefined;
  token: string;
}

/**
 * OIDC Back-Channel Logout 1.0 end to end: openid-client relying parties signed in through the hosted pages, a
 * receiver on 127.0.0.1 as their backchannel_logout_uri, sessions ended through the real routes (end_session,
 * admin revocation, refresh-token reuse, connected-app removal, logout-all), the worker run, and the tokens the
 * receiver got verified with jose against the tenant's published keys.
 */
describe(`OIDC back-channel logout (${backendName})`, () => {
  let s: OidcServer;
  let receiver: Server;
  let hook: string;
  const received: Received[] = [];
  /** Statuses the receiver answers next (then 200). */
  const answers: number[] = [];
  let acme: { id: string; issuer: string; adminEmail: string };
  let other: { id: string; issuer: string; adminEmail: string };
  let alice: { id: string; email: string };
  let rp: { client_id: string; client_secret?: string };
  let rpCfg: oidc.Configuration;
  let plain: { client_id: string; client_secret?: string };
  let plainCfg: oidc.Configuration;

  /** Runs the worker (retries due at once) and hands back what the receiver got since the last call. */
  async function deliver(opts: Parameters<typeof deliverDueBackchannelLogouts>[1] = {}) {
    const run = await deliverDueBackchannelLogouts(s.t.gh, { baseBackoffMs: 0, ...opts });
    return { run, got: received.splice(0) };
  }

  async function signInTo(cfg: oidc.Configuration, browser: Browser, scope = 'openid email', email = alice.email) {
    const nonce = oidc.randomNonce();
    const { url, verifier, state } = await pkceAuthorization(cfg, REDIRECT, scope, { nonce });
    const callback = await runBrowser(browser, url.href, REDIRECT, { email, password: STRONG_PASSWORD });
    const tokens = await oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
    return { tokens, sid: tokens.claims()!.sid as string };
  }

  /** The Logout Token as a relying party checks it (§2.6): signature, iss, aud, typ, exp, the event, sid, no nonce. */
  async function verifyLogout(token: string, issuer: string, clientId: string): Promise<JWTPayload> {
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)), {
      issuer,
      audience: clientId,
      typ: 'logout+jwt',
      requiredClaims: ['iat', 'exp', 'jti', 'sub', 'sid', 'events'],
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.events).toEqual({ [EVENT]: {} });
    expect(payload).not.toHaveProperty('nonce');
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(120);
    return payload;
  }

  beforeAll(async () => {
    const port = await freePort();
    hook = `http://127.0.0.1:${port}`;
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ path: req.url!, contentType: req.headers['content-type'], token: new URLSearchParams(body).get('logout_token') ?? '' });
        res.writeHead(answers.shift() ?? 200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
    // The receiver is on loopback: the operator's allowance for client-registered URLs on private hosts.
    s = await startOidcServer({ GATEHOUSE_JWKS_ALLOW_PRIVATE: 'true' });
    acme = await oidcTenant(s, 'bcl-acme');
    other = await oidcTenant(s, 'bcl-other');
    alice = await createUser(s.t, 'bcl-acme', 'alice@bcl-acme.test');
    rp = await registerClient(s, 'bcl-acme', {
      name: 'RP',
      type: 'confidential',
      redirect_uris: [REDIRECT],
      post_logout_redirect_uris: ['http://127.0.0.1:9/bye'],
      first_party: true,
      backchannel_logout_uri: `${hook}/rp/logout?x=1`,
    });
    rpCfg = await discover(acme.issuer, rp.client_id, oidc.ClientSecretBasic(rp.client_secret!));
    plain = await registerClient(s, 'bcl-acme', { name: 'Plain', type: 'confidential', redirect_uris: [REDIRECT], first_party: true });
    plainCfg = await discover(acme.issuer, plain.client_id, oidc.ClientSecretBasic(plain.client_secret!));
  });
  afterAll(async () => {
    await s?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('discovery advertises back-channel logout with sid; clients register, show and change the URI', async () => {
    const meta = (await (await fetch(`${acme.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });

    const admin = (await signIn(s.t, 'bcl-acme', acme.adminEmail)).access;
    const url = `/t/bcl-acme/api/v1/admin/clients/${rp.client_id}`;
    const shown = await s.t.app.inject({ method: 'GET', url, headers: bearer(admin) });
    expect(shown.json()).toMatchObject({ backchannel_logout_uri: `${hook}/rp/logout?x=1`, backchannel_logout_session_required: true });
    expect(((await s.t.app.inject({ method: 'GET', url: `/t/bcl-acme/api/v1/admin/clients/${plain.client_id}`, headers: bearer(admin) })).json())).toMatchObject({
      backchannel_logout_uri: null,
      backchannel_logout_session_required: true,
    });

    const created = await s.t.app.inject({
      method: 'POST',
      url: '/t/bcl-acme/api/v1/admin/clients',
      headers: bearer(admin),
      payload: { name: 'Later', type: 'public', redirect_uris: [REDIRECT], backchannel_logout_uri: 'https://later.example/bcl', backchannel_logout_session_required: false },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ backchannel_logout_uri: 'https://later.example/bcl', backchannel_logout_session_required: false });
    const later = `/t/bcl-acme/api/v1/admin/clients/${created.json().client_id}`;
    const patched = await s.t.app.inject({ method: 'PATCH', url: later, headers: bearer(admin), payload: { backchannel_logout_uri: null, backchannel_logout_session_required: true } });
    expect(patched.json()).toMatchObject({ backchannel_logout_uri: null, backchannel_logout_session_required: true });

    // https, or http on loopback only; no fragment, no credentials, no private-use scheme; not for service clients.
    for (const bad of ['http://rp.example/logout', 'https://rp.example/logout#frag', 'https://u:p@rp.example/', 'com.example.app:/logout', 'not a url']) {
      const err = expectError(await s.t.app.inject({ method: 'PATCH', url: later, headers: bearer(admin), payload: { backchannel_logout_uri: bad } }), 400, 'VALIDATION_ERROR');
      expect(err.details?.[0]?.field, bad).toBe('backchannel_logout_uri');
    }
    expectError(
      await s.t.app.inject({ method: 'POST', url: '/t/bcl-acme/api/v1/admin/clients', headers: bearer(admin), payload: { name: 'svc', type: 'service', backchannel_logout_uri: 'https://svc.example/bcl' } }),
      400,
      'VALIDATION_ERROR',
    );
    expect((await s.t.app.inject({ method: 'PATCH', url: later, headers: bearer(admin), payload: { backchannel_logout_uri: 'http://[::1]:8080/bcl' } })).statusCode).toBe(200);
  });

  it('end_session with id_token_hint: the signed-in client gets a verifiable Logout Token with the ID token’s sid; one without a URI gets nothing', async () => {
    const browser = new Browser();
    // Two grants of the RP in one browser session (one offline) and one of a client without a URI.
    const first = await signInTo(rpCfg, browser);
    const offline = await signInTo(rpCfg, browser, 'openid offline_access');
    const plainSignIn = await signInTo(plainCfg, browser);
    expect(offline.sid).toBe(first.sid);
    expect(plainSignIn.sid).toBe(first.sid);
    expect((await deliver()).got).toEqual([]);

    const res = await browser.fetch(oidc.buildEndSessionUrl(rpCfg, { id_token_hint: first.tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/bye' }).href);
    expect(res.status).toBe(303);
    // Queued with the revocation; nothing sent by the request itself.
    expect(received).toEqual([]);
    const [row] = await tenantQuery<{ status: string; reason: string }>(s.t, acme.id, 'SELECT status, reason FROM backchannel_logouts WHERE sid = $1', [first.sid]);
    expect(row).toEqual({ status: 'pending', reason: 'logout' });

    const { run, got } = await deliver();
    expect(run).toEqual({ attempted: 1, delivered: 1, retrying: 0, failed: 0 });
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ path: '/rp/logout?x=1', contentType: 'application/x-www-form-urlencoded' });
    const claims = await verifyLogout(got[0]!.token, acme.issuer, rp.client_id);
    expect(claims).toMatchObject({ sub: alice.id, sid: first.sid });
    expect(await tenantQuery(s.t, acme.id, 'SELECT status, attempts, last_status FROM backchannel_logouts WHERE sid = $1', [first.sid])).toEqual([
      { status: 'delivered', attempts: 1, last_status: 200 },
    ]);
    expect(await tenantQuery(s.t, acme.id, 'SELECT 1 FROM backchannel_logouts WHERE client_id = $1', [plain.client_id])).toEqual([]);
    // The offline grant outlives the sign-in (its refresh token still works), though the RP was told the session ended.
    expect((await oidc.refreshTokenGrant(rpCfg, offline.tokens.refresh_token!)).access_token).toEqual(expect.any(String));
    expect((await deliver()).got).toEqual([]);
  });

  it('an admin revoking the browser session, and revoking one grant, each send a logout for the ID token’s sid', async () => {
    const admin = (await signIn(s.t, 'bcl-acme', acme.adminEmail)).access;
    const browser = new Browser();
    const { sid } = await signInTo(rpCfg, browser);
    const res = await s.t.app.inject({ method: 'DELETE', url: `/t/bcl-acme/api/v1/admin/users/${alice.id}/sessions/${sid}`, headers: bearer(admin) });
    expect(res.statusCode, res.body).toBe(204);
    const { got } = await deliver();
    expect(got).toHaveLength(1);
    expect(await verifyLogout(got[0]!.token, acme.issuer, rp.client_id)).toMatchObject({ sub: alice.id, sid });

    // A grant revoked alone (its access token's sid is the grant; the ID token's is the browser's).
    const again = await signInTo(rpCfg, new Browser());
    const grantSid = (await oidc.tokenIntrospection(rpCfg, again.tokens.access_token)).sid as string;
    expect(grantSid).not.toBe(again.sid);
    const one = await s.t.app.inject({ method: 'DELETE', url: `/t/bcl-acme/api/v1/admin/users/${alice.id}/sessions/${grantSid}`, headers: bearer(admin) });
    expect(one.statusCode, one.body).toBe(204);
    const second = await deliver();
    expect(second.got).toHaveLength(1);
    expect(await verifyLogout(second.got[0]!.token, acme.issuer, rp.client_id)).toMatchObject({ sub: alice.id, sid: again.sid });
  });

  it('refresh-token reuse and removing the connected app end the grant and tell the RP', async () => {
    const reuse = await signInTo(rpCfg, new Browser(), 'openid offline_access');
    await oidc.refreshTokenGrant(rpCfg, reuse.tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(rpCfg, reuse.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const first = await deliver();
    expect(first.got).toHaveLength(1);
    expect(await verifyLogout(first.got[0]!.token, acme.issuer, rp.client_id)).toMatchObject({ sub: alice.id, sid: reuse.sid });

    const removed = await signInTo(rpCfg, new Browser());
    const api = (await signIn(s.t, 'bcl-acme', alice.email)).access;
    const res = await s.t.app.inject({ method: 'DELETE', url: `/t/bcl-acme/api/v1/me/applications/${rp.client_id}`, headers: bearer(api) });
    expect(res.statusCode, res.body).toBe(204);
    const second = await deliver();
    // Every live grant of the RP ended (the offline one of the end_session test too): one token per sid.
    const sids = await Promise.all(second.got.map(async (g) => (await verifyLogout(g.token, acme.issuer, rp.client_id)).sid));
    expect(sids).toContain(removed.sid);
    expect(new Set(sids).size).toBe(sids.length);
  });

  it('a failing receiver is retried until it answers 200; a logout given up is failed and audited', async () => {
    const { sid } = await signInTo(rpCfg, new Browser());
    answers.push(503);
    const api = (await signIn(s.t, 'bcl-acme', alice.email)).access;
    expect((await s.t.app.inject({ method: 'POST', url: '/t/bcl-acme/api/v1/auth/logout-all', headers: bearer(api) })).statusCode).toBe(204);
    const down = await deliver();
    expect(down.run).toEqual({ attempted: 1, delivered: 0, retrying: 1, failed: 0 });
    expect(await tenantQuery(s.t, acme.id, 'SELECT status, attempts, last_status, last_error FROM backchannel_logouts WHERE sid = $1', [sid])).toEqual([
      { status: 'pending', attempts: 1, last_status: 503, last_error: 'HTTP 503' },
    ]);
    const up = await deliver();
    expect(up.run).toEqual({ attempted: 1, delivered: 1, retrying: 0, failed: 0 });
    expect(await verifyLogout(up.got[0]!.token, acme.issuer, rp.client_id)).toMatchObject({ sub: alice.id, sid });
    // Both attempts reached the receiver, each a token of its own.
    expect(down.got[0]!.token).not.toBe(up.got[0]!.token);

    // The last attempt fails: given up, and the tenant's audit trail says so (without the token).
    const gone = await signInTo(rpCfg, new Browser());
    answers.push(500);
    const admin = (await signIn(s.t, 'bcl-acme', acme.adminEmail)).access;
    expect((await s.t.app.inject({ method: 'PATCH', url: `/t/bcl-acme/api/v1/admin/users/${alice.id}`, headers: bearer(admin), payload: { status: 'disabled' } })).statusCode).toBe(200);
    const failed = await deliver({ maxAttempts: 1 });
    expect(failed.run).toEqual({ attempted: 1, delivered: 0, retrying: 0, failed: 1 });
    expect(await tenantQuery(s.t, acme.id, 'SELECT status, reason FROM backchannel_logouts WHERE sid = $1', [gone.sid])).toEqual([{ status: 'failed', reason: 'user_disabled' }]);
    const events = await auditEvents(s.t, 'bcl-acme', admin, 'oauth.backchannel_logout.failed');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor_type: 'system', subject_id: alice.id, details: { client_id: rp.client_id, sid: gone.sid, attempts: 1, last_status: 500 } });
    expect(JSON.stringify(events)).not.toContain(failed.got[0]!.token.split('.')[1]!);
    expect((await deliver()).run.attempted).toBe(0);
    await s.t.app.inject({ method: 'PATCH', url: `/t/bcl-acme/api/v1/admin/users/${alice.id}`, headers: bearer(admin), payload: { status: 'active' } });
  });

  it('a loopback URI is refused at delivery unless the operator allows private hosts (SSRF guard)', async () => {
    const { sid } = await signInTo(rpCfg, new Browser());
    const api = (await signIn(s.t, 'bcl-acme', alice.email)).access;
    expect((await s.t.app.inject({ method: 'POST', url: '/t/bcl-acme/api/v1/auth/logout-all', headers: bearer(api) })).statusCode).toBe(204);
    s.t.gh.config.jwksAllowPrivate = false;
    try {
      const { run, got } = await deliver();
      expect(run).toEqual({ attempted: 1, delivered: 0, retrying: 0, failed: 1 });
      expect(got).toEqual([]);
    } finally {
      s.t.gh.config.jwksAllowPrivate = true;
    }
    const [row] = await tenantQuery<{ status: string; last_error: string }>(s.t, acme.id, 'SELECT status, last_error FROM backchannel_logouts WHERE sid = $1', [sid]);
    expect(row).toEqual({ status: 'failed', last_error: '127.0.0.1 is not a public address' });
  });

  it('another tenant’s sessions (its user deleted) only ever reach that tenant’s clients, signed with its own key', async () => {
    const carol = await createUser(s.t, 'bcl-other', 'carol@bcl-other.test');
    const theirs = await registerClient(s, 'bcl-other', { name: 'Other RP', type: 'confidential', redirect_uris: [REDIRECT], first_party: true, backchannel_logout_uri: `${hook}/other/logout` });
    const cfg = await discover(other.issuer, theirs.client_id, oidc.ClientSecretBasic(theirs.client_secret!));
    const { url, verifier, state } = await pkceAuthorization(cfg, REDIRECT, 'openid');
    const callback = await runBrowser(new Browser(), url.href, REDIRECT, { email: carol.email, password: STRONG_PASSWORD });
    const tokens = await oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: verifier, expectedState: state });
    // Deleting the user: the session rows go with it, the logout it is owed does not.
    const admin = (await signIn(s.t, 'bcl-other', other.adminEmail)).access;
    expect((await s.t.app.inject({ method: 'DELETE', url: `/t/bcl-other/api/v1/admin/users/${carol.id}`, headers: bearer(admin) })).statusCode).toBe(204);

    const { got } = await deliver();
    expect(got.map((g) => g.path)).toEqual(['/other/logout']);
    expect(await verifyLogout(got[0]!.token, other.issuer, theirs.client_id)).toMatchObject({ sub: carol.id, sid: tokens.claims()!.sid });
    // Not acceptable as the first tenant's: another issuer and another key.
    await expect(jwtVerify(got[0]!.token, createRemoteJWKSet(new URL(`${acme.issuer}/.well-known/jwks.json`)))).rejects.toThrow();
    expect(await tenantQuery(s.t, acme.id, 'SELECT 1 FROM backchannel_logouts WHERE client_id = $1', [theirs.client_id])).toEqual([]);
  });

  it('the per-user cap evicting a client’s oldest grant queues and delivers a logout for that grant’s sid', async () => {
    // Two sessions of each kind per user: the third sign-in evicts the first browser session (housekeeping, its grant
    // lives on), the third grant evicts the first grant (the relying party's session for the first sid ends).
    const capped = await createTenant(s.t, 'bcl-cap', { settings: { max_sessions_per_user: 2 } });
    const dan = await createUser(s.t, 'bcl-cap', 'dan@bcl-cap.test');
    const capRp = await registerClient(s, 'bcl-cap', { name: 'Capped RP', type: 'confidential', redirect_uris: [REDIRECT], first_party: true, backchannel_logout_uri: `${hook}/cap/logout` });
    const cfg = await discover(capped.issuer, capRp.client_id, oidc.ClientSecretBasic(capRp.client_secret!));
    const owed = () => tenantQuery(s.t, capped.id, 'SELECT sid, reason, status FROM backchannel_logouts ORDER BY created_at');

    const first = await signInTo(cfg, new Browser(), 'openid', dan.email);
    const second = await signInTo(cfg, new Browser(), 'openid', dan.email);
    expect(await owed()).toEqual([]);
    const third = await signInTo(cfg, new Browser(), 'openid', dan.email);
    const [evicted] = await tenantQuery<{ revoked_reason: string }>(s.t, capped.id, 'SELECT revoked_reason FROM sessions WHERE client_id = $1 ORDER BY created_at LIMIT 1', [capRp.client_id]);
    expect(evicted).toEqual({ revoked_reason: 'evicted' });
    expect((await oidc.tokenIntrospection(cfg, first.tokens.access_token)).active).toBe(false);
    expect((await oidc.tokenIntrospection(cfg, second.tokens.access_token)).active).toBe(true);
    expect(await owed()).toEqual([{ sid: first.sid, reason: 'evicted', status: 'pending' }]);

    const { run, got } = await deliver();
    expect(run).toEqual({ attempted: 1, delivered: 1, retrying: 0, failed: 0 });
    expect(got.map((g) => g.path)).toEqual(['/cap/logout']);
    expect(await verifyLogout(got[0]!.token, capped.issuer, capRp.client_id)).toMatchObject({ sub: dan.id, sid: first.sid });
    expect(await owed()).toEqual([{ sid: first.sid, reason: 'evicted', status: 'delivered' }]);

    // A fourth browser signing in three times: its first two grants evict the second's and the third's (both sids are
    // owed a logout); its third evicts its own first grant while its second holds the same sid: that relying-party
    // session lives on, nothing is owed.
    const browser = new Browser();
    await signInTo(cfg, browser, 'openid', dan.email);
    await signInTo(cfg, browser, 'openid', dan.email);
    await signInTo(cfg, browser, 'openid', dan.email);
    const more = await deliver();
    const sids = await Promise.all(more.got.map(async (g) => (await verifyLogout(g.token, capped.issuer, capRp.client_id)).sid));
    expect(sids.sort()).toEqual([second.sid, third.sid].sort());
  });

  it('tenant admins list a client’s back-channel logouts (status filter, cursor pages, never a token); other clients, tenants and roles see none', async () => {
    const listed = await registerClient(s, 'bcl-acme', { name: 'Listed RP', type: 'confidential', redirect_uris: [REDIRECT], first_party: true, backchannel_logout_uri: `${hook}/listed/logout` });
    const cfg = await discover(acme.issuer, listed.client_id, oidc.ClientSecretBasic(listed.client_secret!));
    const admin = (await signIn(s.t, 'bcl-acme', acme.adminEmail)).access;
    const endSession = async (sid: string) =>
      expect((await s.t.app.inject({ method: 'DELETE', url: `/t/bcl-acme/api/v1/admin/users/${alice.id}/sessions/${sid}`, headers: bearer(admin) })).statusCode).toBe(204);
    // Three ended sign-ins: one delivered, one given up, one waiting for its retry in an hour.
    const delivered = await signInTo(cfg, new Browser());
    await endSession(delivered.sid);
    const tokens = (await deliver()).got;
    const failed = await signInTo(cfg, new Browser());
    answers.push(500);
    await endSession(failed.sid);
    tokens.push(...(await deliver({ maxAttempts: 1 })).got);
    const pending = await signInTo(cfg, new Browser());
    answers.push(503);
    await endSession(pending.sid);
    tokens.push(...(await deliver({ baseBackoffMs: 3_600_000 })).got);
    expect(tokens).toHaveLength(3);

    const url = `/t/bcl-acme/api/v1/admin/clients/${listed.client_id}/backchannel-logouts`;
    const list = (query = '', token = admin) => s.t.app.inject({ method: 'GET', url: url + query, headers: bearer(token) });
    const all = await list();
    expect(all.statusCode, all.body).toBe(200);
    const body = all.json() as { deliveries: Record<string, unknown>[]; next_cursor: string | null };
    expect(body.next_cursor).toBeNull();
    const common = { id: expect.any(String), user_id: alice.id, reason: 'admin_revoked', created_at: expect.any(String), next_attempt_at: expect.any(String) };
    expect(body.deliveries).toEqual([
      { ...common, sid: pending.sid, status: 'pending', attempts: 1, last_status: 503, last_error: 'HTTP 503', delivered_at: null },
      { ...common, sid: failed.sid, status: 'failed', attempts: 1, last_status: 500, last_error: 'HTTP 500', delivered_at: null },
      { ...common, sid: delivered.sid, status: 'delivered', attempts: 1, last_status: 200, last_error: null, delivered_at: expect.any(String) },
    ]);
    expect(Date.parse(body.deliveries[0]!.next_attempt_at as string)).toBeGreaterThan(Date.now() + 3_000_000);
    // No token, nor any part of one, is in the answer (it is never stored).
    for (const t of tokens) for (const part of t.token.split('.')) expect(all.body).not.toContain(part);

    const onlyFailed = await list('?status=failed');
    expect((onlyFailed.json() as typeof body).deliveries.map((d) => d.sid)).toEqual([failed.sid]);
    expectError(await list('?status=sent'), 400, 'VALIDATION_ERROR');

    // Pages of one, newest first, until next_cursor is null.
    const seen: unknown[] = [];
    let cursor: string | null = '';
    for (let i = 0; i < 4 && cursor !== null; i++) {
      const page = (await list(`?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json() as typeof body;
      seen.push(...page.deliveries.map((d) => d.sid));
      cursor = page.next_cursor;
    }
    expect(seen).toEqual([pending.sid, failed.sid, delivered.sid]);
    expect(cursor).toBeNull();
    expectError(await list('?cursor=not-a-cursor'), 400, 'VALIDATION_ERROR');

    // Another client's list has none of these; an unknown client is 404.
    const rpList = (await s.t.app.inject({ method: 'GET', url: `/t/bcl-acme/api/v1/admin/clients/${rp.client_id}/backchannel-logouts`, headers: bearer(admin) })).json() as typeof body;
    const rpRows = await tenantQuery<{ id: string }>(s.t, acme.id, 'SELECT id FROM backchannel_logouts WHERE client_id = $1 ORDER BY created_at DESC, id DESC', [rp.client_id]);
    expect(rpList.deliveries.map((d) => d.id)).toEqual(rpRows.map((r) => r.id));
    expectError(await s.t.app.inject({ method: 'GET', url: '/t/bcl-acme/api/v1/admin/clients/ghc_nope/backchannel-logouts', headers: bearer(admin) }), 404, 'CLIENT_NOT_FOUND');

    // A signed-in user who is not an admin: 403.
    expectError(await list('', (await signIn(s.t, 'bcl-acme', alice.email)).access), 403, 'FORBIDDEN');
    // The other tenant's admin: at its own tenant the client does not exist (RLS), at this one its token is refused.
    const otherAdmin = (await signIn(s.t, 'bcl-other', other.adminEmail)).access;
    expectError(await s.t.app.inject({ method: 'GET', url: `/t/bcl-other/api/v1/admin/clients/${listed.client_id}/backchannel-logouts`, headers: bearer(otherAdmin) }), 404, 'CLIENT_NOT_FOUND');
    expectError(await list('', otherAdmin), 403, 'TENANT_MISMATCH');

    // Documented: the item schema (which also serialises the answer: an undeclared column never leaves) and the 404.
    const doc = (await s.t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, { get?: { parameters?: { name: string }[]; responses: Record<string, { content: Record<string, { schema: { properties: { deliveries: { items: { properties: object } } } } }> }> } }>;
    };
    const op = doc.paths['/t/{tenant}/api/v1/admin/clients/{client_id}/backchannel-logouts']!.get!;
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404']));
    expect(op.parameters!.map((p) => p.name)).toEqual(expect.arrayContaining(['client_id', 'status', 'cursor', 'limit']));
    expect(Object.keys(op.responses['200']!.content['application/json']!.schema.properties.deliveries.items.properties).sort()).toEqual(
      Object.keys(body.deliveries[0]!).sort(),
    );
  });
});

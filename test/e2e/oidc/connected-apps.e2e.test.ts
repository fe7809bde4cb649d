import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, createUser, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, bearer, expectError, STRONG_PASSWORD } from '../../helpers/test-app.ts';
import { Browser, discover, oidcTenant, registerClient, runBrowser, startOidcServer, type OidcServer, pkceAuthorization } from './oidc-harness.ts';

const REDIRECT = 'http://127.0.0.1:9/callback';

interface AppOut {
  client_id: string;
  name: string;
  scopes: string[];
  first_party: boolean;
  granted_at: string;
  last_used_at: string | null;
  active_sessions: number;
}

/**
 * "Connected apps": GET/DELETE /me/applications after real authorization code flows (openid-client as the relying
 * party, a cookie-keeping browser on the hosted pages). Removing an application forgets the consent and ends its
 * grants: refresh tokens fail with invalid_grant, access tokens are refused, the next authorization asks again.
 */
describe(`connected apps API (${backendName})`, () => {
  let s: OidcServer;
  let issuer: string;
  let tenantId: string;
  let adminEmail: string;
  let alice: { id: string; email: string };
  let notes: { client_id: string; client_secret?: string };
  let notesCfg: oidc.Configuration;
  let web: { client_id: string; client_secret?: string };
  let webCfg: oidc.Configuration;

  async function authorize(cfg: oidc.Configuration, browser: Browser, scope: string, o: Parameters<typeof runBrowser>[3] = {}) {
    const { url, verifier, state } = await pkceAuthorization(cfg, REDIRECT, scope);
    const callback = await runBrowser(browser, url.href, REDIRECT, { email: alice.email, password: STRONG_PASSWORD, ...o });
    return { callback, verifier, state };
  }
  const exchange = (cfg: oidc.Configuration, f: Awaited<ReturnType<typeof authorize>>) =>
    oidc.authorizationCodeGrant(cfg, f.callback, { pkceCodeVerifier: f.verifier, expectedState: f.state });

  const list = (slug: string, access: string) => s.t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/me/applications`, headers: bearer(access) });
  const remove = (slug: string, access: string, clientId: string) =>
    s.t.app.inject({ method: 'DELETE', url: `/t/${slug}/api/v1/me/applications/${encodeURIComponent(clientId)}`, headers: bearer(access) });
  async function apps(access: string): Promise<AppOut[]> {
    const res = await list('ca-acme', access);
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { applications: AppOut[] }).applications;
  }
  const userinfoStatus = async (access: string) => (await fetch(`${issuer}/oauth/userinfo`, { headers: bearer(access) })).status;

  beforeAll(async () => {
    s = await startOidcServer();
    const t = await oidcTenant(s, 'ca-acme');
    issuer = t.issuer;
    tenantId = t.id;
    adminEmail = t.adminEmail;
    await oidcTenant(s, 'ca-other');
    alice = await createUser(s.t, 'ca-acme', 'alice@ca-acme.test');
    await createUser(s.t, 'ca-acme', 'bob@ca-acme.test');
    await createUser(s.t, 'ca-other', 'carol@ca-other.test');
    notes = await registerClient(s, 'ca-acme', { name: 'Acme Notes', type: 'confidential', redirect_uris: [REDIRECT], scope: 'openid profile email offline_access notes:read' });
    notesCfg = await discover(issuer, notes.client_id, oidc.ClientSecretBasic(notes.client_secret!));
    web = await registerClient(s, 'ca-acme', { name: 'Acme Web', type: 'confidential', redirect_uris: [REDIRECT], first_party: true });
    webCfg = await discover(issuer, web.client_id, oidc.ClientSecretBasic(web.client_secret!));
  });
  afterAll(() => s?.close());

  it('lists a third-party app with the granted scopes and its live grant; removing it ends its tokens and asks for consent again', async () => {
    const browser = new Browser();
    const pages: string[] = [];
    const flow = await authorize(notesCfg, browser, 'openid email offline_access notes:read', { consent: 'allow', pages });
    expect(pages).toEqual(['login', 'consent']);
    const tokens = await exchange(notesCfg, flow);
    expect(tokens.refresh_token).toMatch(/^ghr_/);
    const rotated = await oidc.refreshTokenGrant(notesCfg, tokens.refresh_token!);

    const aliceApi = (await signIn(s.t, 'ca-acme', alice.email)).access;
    const listed = await apps(aliceApi);
    expect(listed).toEqual([
      {
        client_id: notes.client_id,
        name: 'Acme Notes',
        scopes: ['openid', 'email', 'offline_access', 'notes:read'],
        first_party: false,
        granted_at: expect.any(String),
        last_used_at: expect.any(String),
        active_sessions: 1,
      },
    ]);
    expect(Date.parse(listed[0]!.granted_at)).toBeGreaterThan(Date.now() - 60_000);

    // Nobody else sees or removes it: another user of the tenant, a user of another tenant (there, or here).
    const bobApi = (await signIn(s.t, 'ca-acme', 'bob@ca-acme.test')).access;
    expect(await apps(bobApi)).toEqual([]);
    expectError(await remove('ca-acme', bobApi, notes.client_id), 404, 'APPLICATION_NOT_FOUND');
    const carolApi = (await signIn(s.t, 'ca-other', 'carol@ca-other.test')).access;
    expect((await list('ca-other', carolApi)).json()).toEqual({ applications: [] });
    expectError(await remove('ca-other', carolApi, notes.client_id), 404, 'APPLICATION_NOT_FOUND');
    expectError(await remove('ca-acme', carolApi, notes.client_id), 403, 'TENANT_MISMATCH');
    expectError(await remove('ca-acme', aliceApi, 'no-such-client'), 404, 'APPLICATION_NOT_FOUND');
    expect((await s.t.app.inject({ method: 'DELETE', url: `/t/ca-acme/api/v1/me/applications/${notes.client_id}` })).statusCode).toBe(401);
    // ... so the grant still works.
    const still = await oidc.refreshTokenGrant(notesCfg, rotated.refresh_token!);
    expect(await userinfoStatus(still.access_token)).toBe(200);

    const res = await remove('ca-acme', aliceApi, notes.client_id);
    expect(res.statusCode, res.body).toBe(204);
    await expect(oidc.refreshTokenGrant(notesCfg, still.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await userinfoStatus(still.access_token)).toBe(401);
    expect((await oidc.tokenIntrospection(notesCfg, still.access_token)).active).toBe(false);
    expect(await apps(aliceApi)).toEqual([]);
    expectError(await remove('ca-acme', aliceApi, notes.client_id), 404, 'APPLICATION_NOT_FOUND');
    const [grant] = await tenantQuery<{ revoked_reason: string }>(s.t, tenantId, 'SELECT revoked_reason FROM sessions WHERE id = $1', [decodeJwt(still.access_token).sid]);
    expect(grant).toEqual({ revoked_reason: 'application_revoked' });

    // The browser is still signed in (only the app's grant ended), and the app must ask for consent again.
    const again: string[] = [];
    const second = await authorize(notesCfg, browser, 'openid email', { consent: 'allow', pages: again });
    expect(again).toEqual(['consent']);
    await exchange(notesCfg, second);
    expect((await apps(aliceApi)).map((a) => [a.client_id, a.scopes, a.active_sessions])).toEqual([[notes.client_id, ['openid', 'email'], 1]]);

    const admin = (await signIn(s.t, 'ca-acme', adminEmail)).access;
    const events = await auditEvents(s.t, 'ca-acme', admin, 'oauth.grant.revoked');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor_type: 'user', actor_id: alice.id, subject_id: alice.id, details: { client_id: notes.client_id, sessions: 1 } });
  });

  it('a first-party app shows through its live grants; removing it ends all of them and its unexchanged codes', async () => {
    const browser = new Browser();
    const pages: string[] = [];
    const one = await exchange(webCfg, await authorize(webCfg, browser, 'openid profile offline_access', { pages }));
    const two = await exchange(webCfg, await authorize(webCfg, browser, 'openid email offline_access', { pages }));
    expect(pages).toEqual(['login']);
    const aliceApi = (await signIn(s.t, 'ca-acme', alice.email)).access;
    const listed = (await apps(aliceApi)).find((a) => a.client_id === web.client_id);
    expect(listed).toMatchObject({ name: 'Acme Web', first_party: true, active_sessions: 2 });
    expect([...listed!.scopes].sort()).toEqual(['email', 'offline_access', 'openid', 'profile']);

    const pending = await authorize(webCfg, browser, 'openid');
    expect((await remove('ca-acme', aliceApi, web.client_id)).statusCode).toBe(204);
    for (const t of [one, two]) {
      await expect(oidc.refreshTokenGrant(webCfg, t.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect(await userinfoStatus(t.access_token)).toBe(401);
    }
    await expect(exchange(webCfg, pending)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await apps(aliceApi)).find((a) => a.client_id === web.client_id)).toBeUndefined();
    // First-party: signing in to it again asks nothing.
    const later: string[] = [];
    await exchange(webCfg, await authorize(webCfg, browser, 'openid', { pages: later }));
    expect(later).toEqual([]);
    expect((await apps(aliceApi)).find((a) => a.client_id === web.client_id)).toMatchObject({ active_sessions: 1, scopes: ['openid'] });
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await s.t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/t/{tenant}/api/v1/me/applications']!)).toContain('get');
    expect(Object.keys(doc.paths['/t/{tenant}/api/v1/me/applications/{client_id}']!)).toContain('delete');
  });
});

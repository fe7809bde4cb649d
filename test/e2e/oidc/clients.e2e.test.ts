import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, type TestApp } from '../../helpers/test-app.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });

/** The tenant admin's client registry: /t/{slug}/api/v1/admin/clients. */
describe(`OAuth client registry (${backendName})`, () => {
  let t: TestApp;
  let admin: string;
  let tenantId: string;

  beforeAll(async () => {
    t = await buildTestApp();
    const acme = await createTenant(t, 'reg-acme');
    tenantId = acme.id;
    await createTenant(t, 'reg-globex');
    admin = (await signIn(t, 'reg-acme', acme.adminEmail)).access;
  });
  afterAll(() => t.close());

  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, token: string, payload?: object, slug = 'reg-acme') =>
    t.app.inject({ method, url: `/t/${slug}/api/v1/admin/clients${path}`, headers: bearer(token), ...(payload ? { payload } : {}) });
  const tokenWith = (id: string, secret: string) =>
    t.app.inject({ method: 'POST', url: '/t/reg-acme/oauth/token', headers: { ...FORM, ...basic(id, secret) }, payload: 'grant_type=client_credentials' });

  it('creates a confidential client with a 256-bit secret shown once and stored only as a digest', async () => {
    const res = await api('POST', '', admin, { name: 'web', type: 'confidential', redirect_uris: ['https://app.example/cb'], post_logout_redirect_uris: ['https://app.example/bye'], scope: 'openid email', first_party: true });
    expect(res.statusCode, res.body).toBe(201);
    const c = res.json();
    expect(c).toMatchObject({ name: 'web', type: 'confidential', token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code', 'refresh_token'], scope: 'openid email', first_party: true, has_secret: true });
    expect(c.client_secret).toMatch(/^ghcs_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(c.client_secret.slice(5), 'base64url')).toHaveLength(32);
    const rows = await tenantQuery<{ secret_hash: string }>(t, tenantId, 'SELECT secret_hash FROM oauth_clients WHERE client_id = $1', [c.client_id]);
    expect(rows[0]!.secret_hash).not.toContain(c.client_secret);
    expect(rows[0]!.secret_hash).toHaveLength(43);
    // Reads never show the secret or its digest.
    const got = await api('GET', `/${c.client_id}`, admin);
    expect(got.json().client_secret).toBeUndefined();
    expect(got.body).not.toContain(rows[0]!.secret_hash);
    expect((await api('GET', '', admin)).json().clients.map((x: { client_id: string }) => x.client_id)).toContain(c.client_id);
  });

  it('public clients get no secret and authenticate with none; service clients get client_credentials only', async () => {
    const pub = (await api('POST', '', admin, { name: 'spa', type: 'public', redirect_uris: ['http://127.0.0.1/cb'] })).json();
    expect(pub).toMatchObject({ token_endpoint_auth_method: 'none', has_secret: false, scope: 'openid profile email offline_access' });
    expect(pub.client_secret).toBeUndefined();
    const svc = (await api('POST', '', admin, { name: 'svc', type: 'service' })).json();
    expect(svc).toMatchObject({ grant_types: ['client_credentials'], redirect_uris: [], scope: '' });
  });

  it('refuses incoherent clients with the fields named', async () => {
    const cases: [object, string][] = [
      [{ name: 'x', type: 'public', redirect_uris: ['https://a.example/cb'], token_endpoint_auth_method: 'client_secret_basic' }, 'token_endpoint_auth_method'],
      [{ name: 'x', type: 'confidential', redirect_uris: ['http://app.example/cb'] }, 'redirect_uris'],
      [{ name: 'x', type: 'confidential', redirect_uris: ['https://app.example/cb#x'] }, 'redirect_uris'],
      [{ name: 'x', type: 'confidential' }, 'redirect_uris'],
      [{ name: 'x', type: 'service', redirect_uris: ['https://a.example/cb'] }, 'redirect_uris'],
      [{ name: 'x', type: 'service', grant_types: ['authorization_code'] }, 'grant_types'],
      [{ name: 'x', type: 'public', redirect_uris: ['https://a.example/cb'], grant_types: ['client_credentials'] }, 'grant_types'],
      [{ name: 'x', type: 'service', token_endpoint_auth_method: 'private_key_jwt' }, 'jwks'],
      [{ name: 'x', type: 'service', scope: 'ok bad"scope' }, 'scope'],
    ];
    for (const [body, field] of cases) {
      const err = expectError(await api('POST', '', admin, body), 400, 'VALIDATION_ERROR');
      expect(err.details?.map((d) => d.field), JSON.stringify(body)).toContain(field);
    }
  });

  it('rotates a secret: the previous one works until the overlap ends; with no overlap it stops at once', async () => {
    const c = (await api('POST', '', admin, { name: 'rot', type: 'service', scope: 'a' })).json();
    expect((await tokenWith(c.client_id, c.client_secret)).statusCode).toBe(200);
    const r1 = await api('POST', `/${c.client_id}/secret`, admin, { overlap_seconds: 3600 });
    expect(r1.statusCode, r1.body).toBe(200);
    const second = r1.json().client_secret as string;
    expect(second).not.toBe(c.client_secret);
    expect(r1.json().previous_secret_expires_at).toEqual(expect.any(String));
    expect((await tokenWith(c.client_id, c.client_secret)).statusCode).toBe(200);
    expect((await tokenWith(c.client_id, second)).statusCode).toBe(200);
    // The overlap runs out: the previous secret stops working.
    await tenantQuery(t, tenantId, `UPDATE oauth_clients SET previous_secret_expires_at = now() - interval '1 second' WHERE client_id = $1`, [c.client_id]);
    // That write went around the service: drop the cached row as the service would (time passing needs no such
    // step: the cached row carries the expiry, compared at each use).
    t.gh.clients.invalidate(tenantId, c.client_id);
    expect((await tokenWith(c.client_id, c.client_secret)).statusCode).toBe(401);
    const third = (await api('POST', `/${c.client_id}/secret`, admin, { overlap_seconds: 0 })).json().client_secret as string;
    expect((await tokenWith(c.client_id, second)).statusCode).toBe(401);
    expect((await tokenWith(c.client_id, third)).statusCode).toBe(200);
    // A public client has no secret to rotate.
    const pub = (await api('POST', '', admin, { name: 'spa2', type: 'public', redirect_uris: ['https://a.example/cb'] })).json();
    expectError(await api('POST', `/${pub.client_id}/secret`, admin, {}), 404, 'CLIENT_NOT_FOUND');
  });

  it('patches redirect URIs and scopes (still validated), deletes a client', async () => {
    const c = (await api('POST', '', admin, { name: 'p', type: 'confidential', redirect_uris: ['https://a.example/cb'] })).json();
    const p = await api('PATCH', `/${c.client_id}`, admin, { redirect_uris: ['https://b.example/cb'], scope: 'openid', access_token_ttl: 300 });
    expect(p.statusCode, p.body).toBe(200);
    expect(p.json()).toMatchObject({ redirect_uris: ['https://b.example/cb'], scope: 'openid', access_token_ttl: 300 });
    expectError(await api('PATCH', `/${c.client_id}`, admin, { redirect_uris: ['http://evil.example/cb'] }), 400, 'VALIDATION_ERROR');
    expect((await api('DELETE', `/${c.client_id}`, admin)).statusCode).toBe(204);
    expectError(await api('GET', `/${c.client_id}`, admin), 404, 'CLIENT_NOT_FOUND');
    // A deleted client stops at once, though its row was just read (and cached) by the token endpoint.
    const svc = (await api('POST', '', admin, { name: 'gone', type: 'service', scope: 'a' })).json();
    expect((await tokenWith(svc.client_id, svc.client_secret)).statusCode).toBe(200);
    expect((await api('DELETE', `/${svc.client_id}`, admin)).statusCode).toBe(204);
    expect((await tokenWith(svc.client_id, svc.client_secret)).statusCode).toBe(401);
  });

  it('only a tenant admin manages clients, and only its own tenant’s', async () => {
    await createUser(t, 'reg-acme', 'mgr@reg-acme.test', { role: 'manager' });
    const mgr = (await signIn(t, 'reg-acme', 'mgr@reg-acme.test')).access;
    expectError(await api('GET', '', mgr), 403, 'FORBIDDEN');
    expectError(await api('POST', '', mgr, { name: 'x', type: 'service' }), 403, 'FORBIDDEN');
    expectError(await t.app.inject({ method: 'GET', url: '/t/reg-acme/api/v1/admin/clients' }), 401, 'UNAUTHENTICATED');
    // Acme's admin token at Globex's registry: refused; Globex's registry does not list Acme's clients.
    expectError(await api('GET', '', admin, undefined, 'reg-globex'), 403, 'TENANT_MISMATCH');
    const c = (await api('POST', '', admin, { name: 'mine', type: 'service' })).json();
    const globexAdmin = (await signIn(t, 'reg-globex', 'admin@reg-globex.test')).access;
    expectError(await api('GET', `/${c.client_id}`, globexAdmin, undefined, 'reg-globex'), 404, 'CLIENT_NOT_FOUND');
    expect((await api('GET', '', globexAdmin, undefined, 'reg-globex')).json().clients).toEqual([]);
  });

  it('the platform API registers clients for operators and the CLI', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/platform/tenants/reg-acme/clients', headers: bearer(t.platformToken), payload: { name: 'ops', type: 'service' } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().client_secret).toMatch(/^ghcs_/);
    expectError(await t.app.inject({ method: 'POST', url: '/api/v1/platform/tenants/reg-acme/clients', payload: { name: 'ops', type: 'service' } }), 401, 'UNAUTHENTICATED');
    expectError(await t.app.inject({ method: 'POST', url: '/api/v1/platform/tenants/nope-nope/clients', headers: bearer(t.platformToken), payload: { name: 'ops', type: 'service' } }), 404, 'TENANT_NOT_FOUND');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

const credentials = (email: string) => ({ email, password: STRONG_PASSWORD });

async function setStatus(t: TestApp, slug: string, status: 'active' | 'suspended' | 'canceled') {
  const r = await t.app.inject({
    method: 'PATCH',
    url: `/api/v1/platform/tenants/${slug}`,
    headers: bearer(t.platformToken),
    payload: { status },
  });
  expect(r.statusCode, r.body).toBe(200);
  expect(r.json().status).toBe(status);
}

describe(`tenant resolution: path and token (${backendName})`, () => {
  let t: TestApp;
  let acme: Awaited<ReturnType<typeof createTenant>>;
  let userToken: string;

  beforeAll(async () => {
    t = await buildTestApp();
    acme = await createTenant(t, 'acme');
    await createTenant(t, 'globex');
    expect((await register(t, 'acme', 'user@acme.test')).statusCode).toBe(201);
    userToken = (await login(t, 'acme', 'user@acme.test')).json().access_token;
  });
  afterAll(() => t.close());

  it('resolves /t/{slug}', async () => {
    const r = await login(t, 'acme', 'user@acme.test');
    expect(r.statusCode, r.body).toBe(200);
    const claims = JSON.parse(Buffer.from(r.json().access_token.split('.')[1], 'base64url').toString());
    expect(claims.tenant).toBe('acme');
    expect(claims.tenant_id).toBe(acme.id);
    expect(claims.iss).toBe('http://gatehouse.test/t/acme');
  });

  it('answers 404 TENANT_NOT_FOUND for an unknown or malformed slug', async () => {
    for (const slug of ['nosuchtenant', 'ACME', 'acme_x', 'a'.repeat(64)]) {
      expectError(await login(t, slug, 'user@acme.test'), 404, 'TENANT_NOT_FOUND');
      expectError(await t.app.inject({ method: 'GET', url: `/t/${slug}/.well-known/jwks.json` }), 404, 'TENANT_NOT_FOUND');
    }
  });

  it('with neither path, subdomain nor enabled header, a root route finds no tenant', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: credentials('user@acme.test') });
    const err = expectError(r, 404, 'TENANT_NOT_FOUND');
    expect(err.message).toMatch(/\/t\/\{slug\}/);
  });

  it('ignores X-Tenant-Id unless GATEHOUSE_TENANT_HEADER is true', async () => {
    for (const value of ['acme', acme.id]) {
      const r = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'x-tenant-id': value }, payload: credentials('user@acme.test') });
      expectError(r, 404, 'TENANT_NOT_FOUND');
    }
    // Nor does it override the tenant of a token.
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { ...bearer(userToken), 'x-tenant-id': 'globex' } });
    expect(me.statusCode, me.body).toBe(200);
  });

  it('root /api/v1/me with only a bearer token resolves the tenant from the token', async () => {
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(userToken) });
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json().email).toBe('user@acme.test');
    const sessions = await t.app.inject({ method: 'GET', url: '/api/v1/me/sessions', headers: bearer(userToken) });
    expect(sessions.statusCode, sessions.body).toBe(200);
  });

  it('a token used under another tenant’s path is refused with TENANT_MISMATCH', async () => {
    expectError(await t.app.inject({ method: 'GET', url: '/t/globex/api/v1/me', headers: bearer(userToken) }), 403, 'TENANT_MISMATCH');
    expectError(await t.app.inject({ method: 'GET', url: '/t/nosuchtenant/api/v1/me', headers: bearer(userToken) }), 404, 'TENANT_NOT_FOUND');
  });

  it('suspended → 403 TENANT_SUSPENDED, canceled → 403 TENANT_CANCELED, active again → works, on every route kind', async () => {
    const probes = () => [
      login(t, 'acme', 'user@acme.test'),
      register(t, 'acme', `new-${Date.now()}@acme.test`),
      t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(userToken) }),
      t.app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(userToken) }),
      t.app.inject({ method: 'GET', url: '/t/acme/.well-known/jwks.json' }),
    ];
    await setStatus(t, 'acme', 'suspended');
    for (const r of await Promise.all(probes())) expectError(r, 403, 'TENANT_SUSPENDED');

    await setStatus(t, 'acme', 'canceled');
    for (const r of await Promise.all(probes())) expectError(r, 403, 'TENANT_CANCELED');

    await setStatus(t, 'acme', 'active');
    const [l, reg, me, rootMe, jwks] = await Promise.all(probes());
    expect(l!.statusCode, l!.body).toBe(200);
    expect(reg!.statusCode, reg!.body).toBe(201);
    expect(me!.statusCode, me!.body).toBe(200);
    expect(rootMe!.statusCode, rootMe!.body).toBe(200);
    expect(jwks!.statusCode, jwks!.body).toBe(200);
  });

  it('another tenant is unaffected by a suspension', async () => {
    await setStatus(t, 'acme', 'suspended');
    try {
      const r = await login(t, 'globex', 'admin@globex.test');
      expect(r.statusCode, r.body).toBe(200);
    } finally {
      await setStatus(t, 'acme', 'active');
    }
  });
});

describe(`tenant resolution: subdomains (${backendName})`, () => {
  let t: TestApp;
  let globexToken: string;

  beforeAll(async () => {
    t = await buildTestApp({ GATEHOUSE_BASE_DOMAIN: 'auth.test' });
    await createTenant(t, 'acme');
    await createTenant(t, 'globex');
    globexToken = (await login(t, 'globex', 'admin@globex.test')).json().access_token;
  });
  afterAll(() => t.close());

  const at = (host: string) => ({ host });

  it('resolves the tenant from the Host header on root paths', async () => {
    const reg = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', headers: at('acme.auth.test'), payload: credentials('sub@acme.test') });
    expect(reg.statusCode, reg.body).toBe(201);
    const l = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: at('acme.auth.test'), payload: credentials('sub@acme.test') });
    expect(l.statusCode, l.body).toBe(200);
    const token = l.json().access_token as string;
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims.tenant).toBe('acme');
    expect(claims.iss).toBe('http://acme.auth.test');

    const me = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { ...at('acme.auth.test'), ...bearer(token) } });
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json().email).toBe('sub@acme.test');
    // The path form keeps working next to subdomains.
    expect((await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(token) })).statusCode).toBe(200);
  });

  it('ignores case and port in the Host header', async () => {
    for (const host of ['ACME.Auth.Test', 'acme.auth.test:8443']) {
      const l = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: at(host), payload: credentials('admin@acme.test') });
      expect(l.statusCode, `${host}: ${l.body}`).toBe(200);
      expect(l.json().user.email).toBe('admin@acme.test');
    }
  });

  it('an unknown or nested subdomain is 404 TENANT_NOT_FOUND', async () => {
    for (const host of ['nosuch.auth.test', 'x.acme.auth.test']) {
      expectError(
        await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: at(host), payload: credentials('admin@acme.test') }),
        404,
        'TENANT_NOT_FOUND',
      );
    }
  });

  it('the base domain itself, or a foreign host, names no tenant', async () => {
    for (const host of ['auth.test', 'acme.evil.test', 'acmeauth.test']) {
      expectError(
        await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: at(host), payload: credentials('admin@acme.test') }),
        404,
        'TENANT_NOT_FOUND',
      );
    }
  });

  it("a token of one tenant is refused on another tenant's subdomain", async () => {
    expectError(
      await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { ...at('acme.auth.test'), ...bearer(globexToken) } }),
      403,
      'TENANT_MISMATCH',
    );
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { ...at('globex.auth.test'), ...bearer(globexToken) } })).statusCode).toBe(200);
  });

  it('a suspended tenant is refused on its subdomain too', async () => {
    await setStatus(t, 'acme', 'suspended');
    try {
      expectError(
        await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: at('acme.auth.test'), payload: credentials('admin@acme.test') }),
        403,
        'TENANT_SUSPENDED',
      );
    } finally {
      await setStatus(t, 'acme', 'active');
    }
  });
});

describe(`tenant resolution: X-Tenant-Id header enabled (${backendName})`, () => {
  let t: TestApp;
  let acmeId: string;

  beforeAll(async () => {
    t = await buildTestApp({ GATEHOUSE_TENANT_HEADER: 'true' });
    acmeId = (await createTenant(t, 'acme')).id;
    await createTenant(t, 'globex');
  });
  afterAll(() => t.close());

  it('resolves the tenant from X-Tenant-Id given as slug or as id', async () => {
    for (const value of ['acme', acmeId]) {
      const r = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'x-tenant-id': value }, payload: credentials('admin@acme.test') });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json().user.email).toBe('admin@acme.test');
    }
  });

  it('an unknown X-Tenant-Id is 404 TENANT_NOT_FOUND', async () => {
    for (const value of ['nosuch', '00000000-0000-4000-8000-000000000000', "acme' OR 1=1 --"]) {
      expectError(
        await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'x-tenant-id': value }, payload: credentials('admin@acme.test') }),
        404,
        'TENANT_NOT_FOUND',
      );
    }
  });

  it('a header naming another tenant than the token is TENANT_MISMATCH', async () => {
    const token = (await login(t, 'acme', 'admin@acme.test')).json().access_token as string;
    expectError(await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { ...bearer(token), 'x-tenant-id': 'globex' } }), 403, 'TENANT_MISMATCH');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { ...bearer(token), 'x-tenant-id': 'acme' } })).statusCode).toBe(200);
  });

  it('the path wins over the header', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/login', headers: { 'x-tenant-id': 'globex' }, payload: credentials('admin@acme.test') });
    expect(r.statusCode, r.body).toBe(200);
  });
});

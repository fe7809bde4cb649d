import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

type Method = 'POST' | 'PATCH';

/** The one error shape, a 4xx, and nothing internal leaking (stack frames, module paths, SQL). */
function expectCleanError(res: LightMyRequestResponse, status?: number, code?: string) {
  const context = `${res.statusCode} ${res.body.slice(0, 500)}`;
  expect(res.statusCode, context).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, context).toBeLessThan(500);
  if (status !== undefined) expect(res.statusCode, context).toBe(status);
  expect(res.headers['content-type'], context).toMatch(/^application\/json/);
  const body = res.json();
  expect(Object.keys(body), context).toEqual(['error']);
  expect(typeof body.error.code, context).toBe('string');
  expect(typeof body.error.message, context).toBe('string');
  expect(body.error.requestId, context).toBe(res.headers['x-request-id']);
  if (code !== undefined) expect(body.error.code, context).toBe(code);
  expectNoInternals(res.body);
  return body.error as { code: string; message: string; details?: { field: string; message: string }[] };
}

function expectNoInternals(text: string) {
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toMatch(/\bat [\w.<>]+ \(/);
  expect(text).not.toMatch(/node_modules|file:\/\/|\.ts:\d+/);
  expect(text).not.toMatch(/\b(SELECT|INSERT|UPDATE) .* (FROM|INTO|SET) /);
  expect(text).not.toMatch(/violates|syntax error at|pglite|postgres/i);
}

describe(`bad input everywhere (${backendName})`, () => {
  let t: TestApp;
  let adminToken: string;
  let userToken: string;
  let userId: string;

  /** Every JSON-accepting route, with the credentials it needs and a body it would accept. */
  let routes: { name: string; method: Method; url: string; headers: Record<string, string>; valid: Record<string, unknown> }[];

  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'acme');
    adminToken = (await login(t, 'acme', 'admin@acme.test')).json().access_token;
    const reg = await register(t, 'acme', 'user@acme.test');
    userToken = reg.json().access_token;
    userId = reg.json().user.id;
    const platform = bearer(t.platformToken);
    routes = [
      { name: 'register', method: 'POST', url: '/t/acme/api/v1/auth/register', headers: {}, valid: { email: 'new@acme.test', password: STRONG_PASSWORD } },
      { name: 'login', method: 'POST', url: '/t/acme/api/v1/auth/login', headers: {}, valid: { email: 'user@acme.test', password: STRONG_PASSWORD } },
      { name: 'refresh', method: 'POST', url: '/t/acme/api/v1/auth/refresh', headers: {}, valid: { refresh_token: 'ghr_x' } },
      { name: 'root login', method: 'POST', url: '/api/v1/auth/login', headers: {}, valid: { email: 'user@acme.test', password: STRONG_PASSWORD } },
      { name: 'update profile', method: 'PATCH', url: '/t/acme/api/v1/me', headers: bearer(userToken), valid: { name: 'User' } },
      { name: 'change password', method: 'POST', url: '/t/acme/api/v1/me/password', headers: bearer(userToken), valid: { current_password: 'x', new_password: 'y' } },
      { name: 'admin create user', method: 'POST', url: '/t/acme/api/v1/admin/users', headers: bearer(adminToken), valid: { email: 'made@acme.test' } },
      { name: 'admin update user', method: 'PATCH', url: `/t/acme/api/v1/admin/users/${userId}`, headers: bearer(adminToken), valid: { name: 'Renamed' } },
      { name: 'platform create tenant', method: 'POST', url: '/api/v1/platform/tenants', headers: platform, valid: { slug: 'newco', name: 'New' } },
      { name: 'platform update tenant', method: 'PATCH', url: '/api/v1/platform/tenants/acme', headers: platform, valid: { name: 'Acme' } },
      { name: 'platform create user', method: 'POST', url: '/api/v1/platform/tenants/acme/users', headers: platform, valid: { email: 'plat@acme.test' } },
      { name: 'platform create credential', method: 'POST', url: '/api/v1/platform/credentials', headers: platform, valid: { name: 'ci' } },
    ];
  });
  afterAll(() => t.close());

  const send = (r: (typeof routes)[number], payload: string | Buffer, contentType = 'application/json', extra: Record<string, string> = {}) =>
    t.app.inject({ method: r.method, url: r.url, headers: { ...r.headers, 'content-type': contentType, ...extra }, payload });

  it('malformed JSON → 400 INVALID_JSON on every route', async () => {
    for (const r of routes) {
      for (const payload of ['{"email":', '{email: "a"}', "{'a': 1}", '{"a":1,}', 'nul', '{"a":1}{"b":2}', '']) {
        expectCleanError(await send(r, payload), 400, 'INVALID_JSON');
      }
    }
  });

  it('a body that is not application/json → 415 UNSUPPORTED_MEDIA_TYPE on every route', async () => {
    for (const r of routes) {
      const json = JSON.stringify(r.valid);
      expectCleanError(await send(r, json, 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectCleanError(await send(r, 'email=a%40b.c&password=x', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectCleanError(await send(r, json, 'multipart/form-data; boundary=x'), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expectCleanError(await send(r, json, 'application/xml'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('a body over the limit → 413 PAYLOAD_TOO_LARGE on every route', async () => {
    const limit = t.gh.config.bodyLimit;
    for (const r of routes) {
      const payload = JSON.stringify({ ...r.valid, padding: 'x'.repeat(limit + 1) });
      expectCleanError(await send(r, payload), 413, 'PAYLOAD_TOO_LARGE');
    }
  });

  it('bytes that are not UTF-8 → 400 INVALID_ENCODING on every route', async () => {
    const latin1 = Buffer.concat([Buffer.from('{"email":"caf'), Buffer.from([0xe9]), Buffer.from('@acme.test","password":"x"}')]);
    const overlong = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]);
    const truncated = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]);
    const surrogateBytes = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
    for (const r of routes) {
      for (const payload of [latin1, overlong, truncated, surrogateBytes, Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00])]) {
        expectCleanError(await send(r, payload), 400, 'INVALID_ENCODING');
      }
    }
  });

  it('text the database cannot hold (NUL, unpaired surrogates, as JSON escapes) → 400, never a 500', async () => {
    for (const r of routes) {
      for (const bad of ['a\\u0000b', '\\ud800', 'x\\udfffy']) {
        const fields = Object.keys(r.valid);
        const payload = '{' + fields.map((f) => `"${f}":"${bad}${f.includes('email') ? '@acme.test' : ''}"`).join(',') + '}';
        expectCleanError(await send(r, payload), 400);
        expectCleanError(await send(r, `{"${bad}":1}`), 400);
      }
    }
    // A well-formed surrogate pair (an emoji) is fine.
    const ok = await t.app.inject({ method: 'PATCH', url: '/t/acme/api/v1/me', headers: bearer(userToken), payload: { name: 'Ann 🔑' } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().name).toBe('Ann 🔑');
  });

  it('unknown fields → 400 VALIDATION_ERROR naming the field', async () => {
    for (const r of routes) {
      const err = expectCleanError(await send(r, JSON.stringify({ ...r.valid, sneaky_field: true })), 400, 'VALIDATION_ERROR');
      expect(err.details?.map((d) => d.field), r.name).toContain('sneaky_field');
    }
    const cases: [string, Method, string, Record<string, string>, Record<string, unknown>, string][] = [
      ['role on register', 'POST', '/t/acme/api/v1/auth/register', {}, { email: 'r@acme.test', password: STRONG_PASSWORD, role: 'admin' }, 'role'],
      ['email on profile', 'PATCH', '/t/acme/api/v1/me', bearer(userToken), { email: 'other@acme.test' }, 'email'],
      ['password via admin update', 'PATCH', `/t/acme/api/v1/admin/users/${userId}`, bearer(adminToken), { password: 'x' }, 'password'],
      ['nested in admin', 'POST', '/api/v1/platform/tenants', bearer(t.platformToken), { slug: 'nest-co', name: 'N', admin: { email: 'a@n.test', password: STRONG_PASSWORD, role: 'user' } }, 'admin.role'],
      ['nested in settings', 'PATCH', '/api/v1/platform/tenants/acme', bearer(t.platformToken), { settings: { not_a_setting: 1 } }, 'settings.not_a_setting'],
      ['nested in limits', 'PATCH', '/api/v1/platform/tenants/acme', bearer(t.platformToken), { limits: { max_things: 1 } }, 'limits.max_things'],
    ];
    for (const [name, method, url, headers, payload, field] of cases) {
      const err = expectCleanError(await t.app.inject({ method, url, headers, payload }), 400, 'VALIDATION_ERROR');
      expect(err.details?.map((d) => d.field), name).toContain(field);
      expect(err.message, name).toContain(field.split('.').pop()!);
    }
    // Nothing was written by the refused requests.
    expect((await login(t, 'acme', 'r@acme.test')).statusCode).toBe(401);
  });

  it('missing required fields → 400 VALIDATION_ERROR naming each', async () => {
    const err = expectCleanError(await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/register', payload: {} }), 400, 'VALIDATION_ERROR');
    expect(err.details?.map((d) => d.field).sort()).toEqual(['email', 'password']);
    expectCleanError(await t.app.inject({ method: 'PATCH', url: '/t/acme/api/v1/me', headers: bearer(userToken), payload: {} }), 400, 'VALIDATION_ERROR');
  });

  it('over-long strings → 400 VALIDATION_ERROR naming the field', async () => {
    const long = (n: number) => 'a'.repeat(n);
    const cases: [Method, string, Record<string, string>, Record<string, unknown>, string][] = [
      ['POST', '/t/acme/api/v1/auth/register', {}, { email: `${long(250)}@a.co`, password: STRONG_PASSWORD }, 'email'],
      ['POST', '/t/acme/api/v1/auth/register', {}, { email: 'long@acme.test', password: long(4097) }, 'password'],
      ['POST', '/t/acme/api/v1/auth/register', {}, { email: 'long@acme.test', password: STRONG_PASSWORD, name: long(201) }, 'name'],
      ['POST', '/t/acme/api/v1/auth/login', {}, { email: long(255), password: 'x' }, 'email'],
      ['POST', '/t/acme/api/v1/auth/login', {}, { email: 'user@acme.test', password: long(4097) }, 'password'],
      ['POST', '/t/acme/api/v1/auth/refresh', {}, { refresh_token: long(201) }, 'refresh_token'],
      ['PATCH', '/t/acme/api/v1/me', bearer(userToken), { family_name: long(101) }, 'family_name'],
      ['PATCH', '/t/acme/api/v1/me', bearer(userToken), { timezone: long(65) }, 'timezone'],
      ['POST', '/api/v1/platform/tenants', bearer(t.platformToken), { slug: 'longname', name: long(201) }, 'name'],
      ['POST', '/api/v1/platform/credentials', bearer(t.platformToken), { name: long(101) }, 'name'],
      ['PATCH', '/api/v1/platform/tenants/acme', bearer(t.platformToken), { branding: { logo: long(2001) } }, 'branding.logo'],
    ];
    for (const [method, url, headers, payload, field] of cases) {
      const err = expectCleanError(await t.app.inject({ method, url, headers, payload }), 400, 'VALIDATION_ERROR');
      expect(err.details?.map((d) => d.field), `${url} ${field}`).toContain(field);
    }
    // Within the schema but over the tenant's password policy: PASSWORD_POLICY, same shape.
    expectCleanError(await register(t, 'acme', 'policy@acme.test', 'p'.repeat(2000)), 400, 'PASSWORD_POLICY');
    // Over-long query strings too.
    const q = await t.app.inject({ method: 'GET', url: `/t/acme/api/v1/admin/users?search=${long(255)}`, headers: bearer(adminToken) });
    expect(expectCleanError(q, 400, 'VALIDATION_ERROR').details?.map((d) => d.field)).toContain('search');
  });

  it('wrong types → 400 VALIDATION_ERROR naming the field', async () => {
    const cases: [Method, string, Record<string, string>, Record<string, unknown>, string][] = [
      ['POST', '/t/acme/api/v1/auth/register', {}, { email: { address: 'a@b.co' }, password: STRONG_PASSWORD }, 'email'],
      ['POST', '/t/acme/api/v1/auth/register', {}, { email: ['a@b.co', 'c@d.co'], password: STRONG_PASSWORD }, 'email'],
      ['POST', '/t/acme/api/v1/auth/login', {}, { email: 'user@acme.test', password: { $ne: null } }, 'password'],
      ['POST', '/t/acme/api/v1/auth/login', {}, { email: { $gt: '' }, password: STRONG_PASSWORD }, 'email'],
      ['POST', '/t/acme/api/v1/auth/login', {}, { email: 'user@acme.test', password: STRONG_PASSWORD, token_delivery: 'carrier-pigeon' }, 'token_delivery'],
      ['POST', '/t/acme/api/v1/auth/refresh', {}, { refresh_token: ['a', 'b'] }, 'refresh_token'],
      ['PATCH', '/t/acme/api/v1/me', bearer(userToken), { name: { first: 'A' } }, 'name'],
      ['POST', '/t/acme/api/v1/admin/users', bearer(adminToken), { email: 'typed@acme.test', email_verified: 'perhaps' }, 'email_verified'],
      ['POST', '/t/acme/api/v1/admin/users', bearer(adminToken), { email: 'typed@acme.test', role: 'superuser' }, 'role'],
      ['PATCH', `/t/acme/api/v1/admin/users/${userId}`, bearer(adminToken), { status: 'locked' }, 'status'],
      ['PATCH', '/api/v1/platform/tenants/acme', bearer(t.platformToken), { settings: [] }, 'settings'],
      ['PATCH', '/api/v1/platform/tenants/acme', bearer(t.platformToken), { features: { sso: 'yes please' } }, 'features.sso'],
      ['PATCH', '/api/v1/platform/tenants/acme', bearer(t.platformToken), { limits: { max_users: 'lots' } }, 'limits.max_users'],
      ['PATCH', '/api/v1/platform/tenants/acme', bearer(t.platformToken), { settings: { access_token_ttl: 600.5 } }, 'settings.access_token_ttl'],
      ['PATCH', '/api/v1/platform/tenants/acme', bearer(t.platformToken), { plan: 'platinum' }, 'plan'],
    ];
    for (const [method, url, headers, payload, field] of cases) {
      const err = expectCleanError(await t.app.inject({ method, url, headers, payload }), 400, 'VALIDATION_ERROR');
      expect(err.details?.map((d) => d.field), `${url} ${JSON.stringify(payload)}`).toContain(field);
    }
    // A body that is not an object at all.
    for (const payload of ['[]', '"text"', '42', 'null', 'true']) {
      const res = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/login', headers: { 'content-type': 'application/json' }, payload });
      expectCleanError(res, 400);
    }
  });

  it('invalid email formats on register → 400 VALIDATION_ERROR on email', async () => {
    for (const email of ['not-an-email', 'a@', '@acme.test', 'a b@acme.test', 'a@@acme.test', 'a@acme..test', '<script>@x.y']) {
      const err = expectCleanError(await register(t, 'acme', email), 400, 'VALIDATION_ERROR');
      expect(err.details?.map((d) => d.field), email).toContain('email');
    }
  });

  it('a __proto__ / constructor.prototype pollution attempt is refused and pollutes nothing', async () => {
    const payloads = [
      `{"email":"proto@acme.test","password":"${STRONG_PASSWORD}","__proto__":{"role":"admin","isAdmin":true}}`,
      `{"email":"proto@acme.test","password":"${STRONG_PASSWORD}","constructor":{"prototype":{"role":"admin","isAdmin":true}}}`,
      `{"email":"proto@acme.test","password":"${STRONG_PASSWORD}","name":{"__proto__":{"isAdmin":true}}}`,
      `{"email":"proto@acme.test","password":"${STRONG_PASSWORD}","\\u005f_proto__":{"isAdmin":true}}`,
    ];
    for (const payload of payloads) {
      const res = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/register', headers: { 'content-type': 'application/json' }, payload });
      expectCleanError(res, 400);
    }
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    expect((await login(t, 'acme', 'proto@acme.test')).statusCode).toBe(401);
    // The same attempt against tenant settings.
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/platform/tenants/acme',
      headers: { ...bearer(t.platformToken), 'content-type': 'application/json' },
      payload: '{"settings":{"__proto__":{"registration":"open"}}}',
    });
    expectCleanError(res, 400);
  });

  it('huge and non-finite numbers → 400, in bodies and in query strings', async () => {
    const platform = { ...bearer(t.platformToken), 'content-type': 'application/json' };
    for (const payload of [
      '{"settings":{"access_token_ttl":1e308}}',
      '{"settings":{"access_token_ttl":1e999}}',
      '{"settings":{"access_token_ttl":-1e999}}',
      '{"settings":{"max_sessions_per_user":9007199254740993}}',
      '{"limits":{"max_users":1e300}}',
      '{"limits":{"max_users":-5}}',
      '{"limits":{"max_users":0}}',
    ]) {
      const res = await t.app.inject({ method: 'PATCH', url: '/api/v1/platform/tenants/acme', headers: platform, payload });
      expectCleanError(res, 400, 'VALIDATION_ERROR');
    }
    for (const url of [
      '/t/acme/api/v1/admin/users?limit=1e400',
      '/t/acme/api/v1/admin/users?limit=-1e400',
      '/t/acme/api/v1/admin/users?limit=Infinity',
      '/t/acme/api/v1/admin/users?limit=99999999999999999999',
      '/t/acme/api/v1/admin/users?limit=0',
      '/t/acme/api/v1/admin/users?limit=NaN',
      '/t/acme/api/v1/admin/audit?limit=1e400',
      '/t/acme/api/v1/admin/audit?cursor=9999999999999999999',
      '/api/v1/platform/tenants?limit=1e400',
    ]) {
      const res = await t.app.inject({ method: 'GET', url, headers: url.includes('platform') ? bearer(t.platformToken) : bearer(adminToken) });
      expectCleanError(res, 400, 'VALIDATION_ERROR');
    }
    // A tenant whose limit was pushed as high as allowed still registers users (no overflow deeper down).
    const high = await t.app.inject({ method: 'PATCH', url: '/api/v1/platform/tenants/acme', headers: platform, payload: '{"limits":{"max_users":1000000000}}' });
    expect(high.statusCode, high.body).toBe(200);
    expect((await register(t, 'acme', 'high@acme.test')).statusCode).toBe(201);
  });

  it('bad cursors, dates and filters in query strings → 400, never a 500', async () => {
    const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const uuid = '00000000-0000-4000-8000-000000000000';
    for (const c of [
      'not-a-cursor',
      cursor(['2024-01-01T00:00:00Z']),
      cursor(['2024-01-01T00:00:00Z', 'not-a-uuid']),
      cursor(['yesterday', uuid]),
      cursor(['0000-01-01T00:00:00.000Z', uuid]),
      cursor(['+200000-01-01T00:00:00.000Z', uuid]),
      cursor(['-000001-01-01T00:00:00.000Z', uuid]),
      cursor([{}, uuid]),
      cursor({ a: 1 }),
    ]) {
      const res = await t.app.inject({ method: 'GET', url: `/t/acme/api/v1/admin/users?cursor=${c}`, headers: bearer(adminToken) });
      expectCleanError(res, 400, 'VALIDATION_ERROR');
    }
    for (const q of ['from=0000-01-01T00:00:00Z', 'to=0000-06-01T00:00:00Z', 'from=yesterday', 'action=DROP%20TABLE', 'user_id=1', 'cursor=-1']) {
      const res = await t.app.inject({ method: 'GET', url: `/t/acme/api/v1/admin/audit?${q}`, headers: bearer(adminToken) });
      expectCleanError(res, 400, 'VALIDATION_ERROR');
    }
    for (const q of ['search=%00', 'search=a%00b', 'status=gone', 'unknown=1']) {
      const res = await t.app.inject({ method: 'GET', url: `/t/acme/api/v1/admin/users?${q}`, headers: bearer(adminToken) });
      expectCleanError(res, 400, 'VALIDATION_ERROR');
    }
    // The edges that are valid still work.
    const edge = await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/admin/audit?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z', headers: bearer(adminToken) });
    expect(edge.statusCode, edge.body).toBe(200);
  });

  it('bad path parameters → 4xx with the error shape', async () => {
    for (const url of [
      '/t/acme/api/v1/admin/users/not-a-uuid',
      '/t/acme/api/v1/admin/users/%00',
      `/t/acme/api/v1/admin/users/${userId}%27--`,
      '/t/acme/api/v1/admin/users/00000000-0000-4000-8000-000000000000/sessions/nope',
    ]) {
      const res = await t.app.inject({ method: url.endsWith('nope') ? 'DELETE' : 'GET', url, headers: bearer(adminToken) });
      expectCleanError(res);
    }
    expectCleanError(await t.app.inject({ method: 'GET', url: `/t/${'x'.repeat(300)}/api/v1/me`, headers: bearer(userToken) }));
    expectCleanError(await t.app.inject({ method: 'DELETE', url: '/api/v1/platform/credentials/not-a-uuid', headers: bearer(t.platformToken) }), 400, 'VALIDATION_ERROR');
  });

  it('odd but harmless inputs are accepted: a UTF-8 BOM-less body with charset, extra whitespace', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/t/acme/api/v1/auth/login',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      payload: `  \n{ "email" : "user@acme.test" ,\n "password" : "${STRONG_PASSWORD}" }\n `,
    });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('unknown routes and methods get the error shape too', async () => {
    expectCleanError(await t.app.inject({ method: 'GET', url: '/nope' }), 404, 'NOT_FOUND');
    expectCleanError(await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/nope' }), 404, 'NOT_FOUND');
    expectCleanError(await t.app.inject({ method: 'PUT', url: '/t/acme/api/v1/auth/login', payload: {} }), 404);
  });

  describe('fuzzing (fast-check)', () => {
    const fuzzRoutes = ['/t/acme/api/v1/auth/login', '/t/acme/api/v1/auth/register'];

    const checkResponse = (res: LightMyRequestResponse) => {
      expect(res.statusCode, res.body).toBeLessThan(500);
      expectNoInternals(res.body);
      if (res.statusCode >= 400) expectCleanError(res);
    };

    it('random JSON values as login/register bodies never cause a 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...fuzzRoutes), fc.jsonValue({ maxDepth: 4 }), async (url, body) => {
          const res = await t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
          checkResponse(res);
        }),
        { numRuns: 150 },
      );
    });

    it('near-valid bodies with hostile strings and extra keys never cause a 5xx', async () => {
      const hostile = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.emailAddress(),
        fc.constantFrom("' OR 1=1 --", '%00', '\u0000', '\ud800', '${jndi:ldap://x}', '../../etc/passwd', 'ADMIN@ACME.TEST', ' user@acme.test '),
        fc.jsonValue({ maxDepth: 2 }),
      );
      const body = fc.record(
        {
          email: hostile,
          password: fc.oneof(hostile, fc.constant(STRONG_PASSWORD)),
          name: hostile,
          token_delivery: fc.oneof(fc.constantFrom('body', 'cookie'), hostile),
          extra: hostile,
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...fuzzRoutes), body, async (url, b) => {
          const res = await t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(b) });
          checkResponse(res);
        }),
        { numRuns: 150 },
      );
    });

    it('random bytes as a JSON body never cause a 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...fuzzRoutes), fc.uint8Array({ maxLength: 200 }), async (url, bytes) => {
          const res = await t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: Buffer.from(bytes) });
          checkResponse(res);
        }),
        { numRuns: 100 },
      );
    });

    it('random query strings on list endpoints never cause a 5xx', async () => {
      const value = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.integer().map(String), fc.double().map(String));
      const cursorish = fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url'));
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('/t/acme/api/v1/admin/users', '/t/acme/api/v1/admin/audit'),
          fc.record({ search: value, limit: value, cursor: fc.oneof(value, cursorish), action: value, from: value, status: value }, { requiredKeys: [] }),
          async (path, q) => {
            const qs = Object.entries(q)
              .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
              .join('&');
            const res = await t.app.inject({ method: 'GET', url: `${path}?${qs}`, headers: bearer(adminToken) });
            checkResponse(res);
          },
        ),
        { numRuns: 150 },
      );
    });
  });
});

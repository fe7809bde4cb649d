import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, login, register, type TestApp } from '../../helpers/test-app.ts';

describe(`smoke (${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'acme');
  });
  afterAll(() => t.close());

  it('registers, logs in, reads /me, refreshes, logs out', async () => {
    const r = await register(t, 'acme', 'alice@example.com');
    expect(r.statusCode, r.body).toBe(201);
    const l = await login(t, 'acme', 'alice@example.com');
    expect(l.statusCode, l.body).toBe(200);
    const body = l.json();
    expect(body.token_type).toBe('Bearer');
    const me = await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(body.access_token) });
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json().email).toBe('alice@example.com');
    // The login answer shows the user as stored: the same sign-in stamp /me reads back from the database.
    expect(body.user.last_login_at).toBe(me.json().last_login_at);
    expect(body.user.login_count).toBe(me.json().login_count);
    const rf = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/refresh', payload: { refresh_token: body.refresh_token } });
    expect(rf.statusCode, rf.body).toBe(200);
    const lo = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/logout', headers: bearer(rf.json().access_token) });
    expect(lo.statusCode, lo.body).toBe(204);
    const me2 = await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(rf.json().access_token) });
    expect(me2.statusCode).toBe(401);
    expect(me2.json().error.code).toBe('TOKEN_REVOKED');
  });
});

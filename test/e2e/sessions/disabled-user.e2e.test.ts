import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, errorCode, meOutcome, refreshWith, signIn, tenantQuery, type SignedIn } from '../../helpers/auth-flows.ts';
import { backendName, bearer, buildTestApp, createTenant, login, type TestApp } from '../../helpers/test-app.ts';

/** Disabling a user (admin) cuts every live credential at once and blocks new logins. */
describe(`disabled user (${backendName})`, () => {
  let t: TestApp;
  let admin: SignedIn;

  beforeAll(async () => {
    t = await buildTestApp();
    const acme = await createTenant(t, 'acme');
    admin = await signIn(t, 'acme', acme.adminEmail);
  });
  afterAll(() => t.close());

  const setStatus = (id: string, status: 'active' | 'disabled') =>
    t.app.inject({ method: 'PATCH', url: `/t/acme/api/v1/admin/users/${id}`, headers: bearer(admin.access), payload: { status } });

  it('existing tokens are refused at once, refresh fails, login is 403 ACCOUNT_DISABLED (401 with a wrong password)', async () => {
    const user = await createUser(t, 'acme', 'alice@example.com');
    const a = await signIn(t, 'acme', 'alice@example.com');
    const b = await signIn(t, 'acme', 'alice@example.com');
    expect(await meOutcome(t, 'acme', a.access)).toEqual({ status: 200, code: undefined }); // warms any user cache

    const res = await setStatus(user.id, 'disabled');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().status).toBe('disabled');

    for (const s of [a, b]) {
      const me = await meOutcome(t, 'acme', s.access);
      expect(me.status).toBe(401);
      expect(errorCode(await refreshWith(t, 'acme', s.refresh))).toBe('REFRESH_TOKEN_INVALID');
    }
    // Write routes too, not just GET /me.
    const patch = await t.app.inject({ method: 'PATCH', url: '/t/acme/api/v1/me', headers: bearer(a.access), payload: { name: 'x' } });
    expect(patch.statusCode).toBe(401);

    const right = await login(t, 'acme', 'alice@example.com');
    expect(right.statusCode).toBe(403);
    expect(errorCode(right)).toBe('ACCOUNT_DISABLED');
    expect(right.body).not.toContain('access_token');

    const wrong = await login(t, 'acme', 'alice@example.com', 'not the password');
    expect(wrong.statusCode).toBe(401);
    expect(errorCode(wrong)).toBe('INVALID_CREDENTIALS');
  });

  it('a wrong-password login of a disabled user is indistinguishable from an unknown email', async () => {
    const user = await createUser(t, 'acme', 'bob@example.com');
    expect((await setStatus(user.id, 'disabled')).statusCode).toBe(200);
    const strip = (body: string) => {
      const j = JSON.parse(body);
      delete j.error.requestId;
      return j;
    };
    const disabled = await login(t, 'acme', 'bob@example.com', 'not the password');
    const unknown = await login(t, 'acme', 'nobody@example.com', 'not the password');
    expect(disabled.statusCode).toBe(unknown.statusCode);
    expect(strip(disabled.body)).toEqual(strip(unknown.body));
  });

  it('re-enabling allows login again; the old tokens stay dead', async () => {
    const user = await createUser(t, 'acme', 'carol@example.com');
    const old = await signIn(t, 'acme', 'carol@example.com');
    expect((await setStatus(user.id, 'disabled')).statusCode).toBe(200);
    expect((await setStatus(user.id, 'active')).statusCode).toBe(200);
    expect((await meOutcome(t, 'acme', old.access)).status).toBe(401);
    expect(errorCode(await refreshWith(t, 'acme', old.refresh))).toBe('REFRESH_TOKEN_INVALID');
    const fresh = await signIn(t, 'acme', 'carol@example.com');
    expect(await meOutcome(t, 'acme', fresh.access)).toEqual({ status: 200, code: undefined });
  });

  it('a refresh racing the disable: a session whose user is disabled cannot be refreshed even if not revoked', async () => {
    // Simulates a node that disabled the user without revoking sessions (e.g. a direct database change).
    const user = await createUser(t, 'acme', 'dave@example.com');
    const s = await signIn(t, 'acme', 'dave@example.com');
    const tenantId = (await t.gh.tenants.bySlug('acme'))!.id;
    await tenantQuery(t, tenantId, `UPDATE users SET status = 'disabled' WHERE id = $1`, [user.id]);
    t.gh.users.invalidate(tenantId, user.id);
    const rf = await refreshWith(t, 'acme', s.refresh);
    expect(rf.statusCode).toBe(401);
    expect(errorCode(rf)).toBe('REFRESH_TOKEN_INVALID');
    expect((await meOutcome(t, 'acme', s.access)).status).toBe(401);
  });
});

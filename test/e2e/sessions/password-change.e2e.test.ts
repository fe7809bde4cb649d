import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, errorCode, freshPassword, meOutcome, refreshOk, refreshWith, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, bearer, buildTestApp, createTenant, login, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

/** POST /me/password: needs the current password; signs out every other session and keeps this one. */
describe(`password change (${backendName})`, () => {
  let t: TestApp;
  let acme: Awaited<ReturnType<typeof createTenant>>;

  beforeAll(async () => {
    t = await buildTestApp();
    acme = await createTenant(t, 'acme');
  });
  afterAll(() => t.close());

  const change = (access: string, current_password: string, new_password: string) =>
    t.app.inject({ method: 'POST', url: '/t/acme/api/v1/me/password', headers: bearer(access), payload: { current_password, new_password } });

  it('revokes all other sessions at once and keeps the current one', async () => {
    await createUser(t, 'acme', 'alice@example.com');
    await createUser(t, 'acme', 'bob@example.com');
    const here = await signIn(t, 'acme', 'alice@example.com');
    const laptop = await signIn(t, 'acme', 'alice@example.com');
    const tablet = await signIn(t, 'acme', 'alice@example.com');
    const tabletRotated = await refreshOk(t, 'acme', tablet.refresh);
    const bob = await signIn(t, 'acme', 'bob@example.com');
    const next = freshPassword();

    const res = await change(here.access, STRONG_PASSWORD, next);
    expect(res.statusCode, res.body).toBe(204);

    for (const other of [laptop, tabletRotated]) {
      expect(await meOutcome(t, 'acme', other.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
      expect(errorCode(await refreshWith(t, 'acme', other.refresh))).toBe('REFRESH_TOKEN_INVALID');
    }
    const reasons = await tenantQuery<{ revoked_reason: string }>(t, acme.id, 'SELECT revoked_reason FROM sessions WHERE id = ANY($1)', [[laptop.sid, tablet.sid]]);
    expect(reasons.map((r) => r.revoked_reason)).toEqual(['password_changed', 'password_changed']);

    // The current session carries on: access token and refresh both work.
    expect(await meOutcome(t, 'acme', here.access)).toEqual({ status: 200, code: undefined });
    const renewed = await refreshOk(t, 'acme', here.refresh);
    expect(renewed.sid).toBe(here.sid);
    // Other users are untouched.
    expect(await meOutcome(t, 'acme', bob.access)).toEqual({ status: 200, code: undefined });

    // Old password is dead, the new one works.
    const old = await login(t, 'acme', 'alice@example.com', STRONG_PASSWORD);
    expect(old.statusCode).toBe(401);
    expect(errorCode(old)).toBe('INVALID_CREDENTIALS');
    expect((await login(t, 'acme', 'alice@example.com', next)).statusCode).toBe(200);
  });

  it('wrong current password → 400 CURRENT_PASSWORD_INVALID, nothing changes and nothing is revoked', async () => {
    await createUser(t, 'acme', 'carol@example.com');
    const here = await signIn(t, 'acme', 'carol@example.com');
    const other = await signIn(t, 'acme', 'carol@example.com');
    const [before] = await tenantQuery<{ password_hash: string }>(t, acme.id, 'SELECT password_hash FROM users WHERE id = $1', [here.sub]);

    const res = await change(here.access, 'definitely not it', freshPassword());
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe('CURRENT_PASSWORD_INVALID');

    const [after] = await tenantQuery<{ password_hash: string }>(t, acme.id, 'SELECT password_hash FROM users WHERE id = $1', [here.sub]);
    expect(after!.password_hash).toBe(before!.password_hash);
    expect(await meOutcome(t, 'acme', other.access)).toEqual({ status: 200, code: undefined });
    expect(await meOutcome(t, 'acme', here.access)).toEqual({ status: 200, code: undefined });
    expect((await login(t, 'acme', 'carol@example.com')).statusCode).toBe(200);
  });

  it('a new password that fails the policy → 400, nothing revoked', async () => {
    await createUser(t, 'acme', 'dave@example.com');
    const here = await signIn(t, 'acme', 'dave@example.com');
    const other = await signIn(t, 'acme', 'dave@example.com');
    const res = await change(here.access, STRONG_PASSWORD, 'short');
    expect(res.statusCode).toBe(400);
    expect(await meOutcome(t, 'acme', other.access)).toEqual({ status: 200, code: undefined });
  });

  it('needs a live access token: a revoked one cannot change the password', async () => {
    await createUser(t, 'acme', 'erin@example.com');
    const s = await signIn(t, 'acme', 'erin@example.com');
    expect((await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/logout', headers: bearer(s.access) })).statusCode).toBe(204);
    const res = await change(s.access, STRONG_PASSWORD, freshPassword());
    expect(res.statusCode).toBe(401);
    expect((await login(t, 'acme', 'erin@example.com')).statusCode).toBe(200);
  });
});

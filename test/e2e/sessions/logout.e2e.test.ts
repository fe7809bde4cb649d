import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, errorCode, meOutcome, refreshOk, refreshWith, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, bearer, buildTestApp, createTenant, type TestApp } from '../../helpers/test-app.ts';

/** Logging out ends a session for real: its stateless access token is refused at once, not at expiry. */
describe(`logout and logout-all (${backendName})`, () => {
  let t: TestApp;
  let acme: Awaited<ReturnType<typeof createTenant>>;

  beforeAll(async () => {
    t = await buildTestApp();
    acme = await createTenant(t, 'acme');
    await createUser(t, 'acme', 'alice@example.com');
    await createUser(t, 'acme', 'bob@example.com');
  });
  afterAll(() => t.close());

  const post = (path: string, access: string) => t.app.inject({ method: 'POST', url: `/t/acme/api/v1/auth/${path}`, headers: bearer(access) });

  it('logout: the access token is refused at once (TOKEN_REVOKED) and the refresh token is invalid', async () => {
    const s = await signIn(t, 'acme', 'alice@example.com');
    const other = await signIn(t, 'acme', 'alice@example.com');
    expect(await meOutcome(t, 'acme', s.access)).toEqual({ status: 200, code: undefined });

    const out = await post('logout', s.access);
    expect(out.statusCode, out.body).toBe(204);

    expect(await meOutcome(t, 'acme', s.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    const rf = await refreshWith(t, 'acme', s.refresh);
    expect(rf.statusCode).toBe(401);
    expect(errorCode(rf)).toBe('REFRESH_TOKEN_INVALID');
    // Logging out again with the same token is refused too.
    const again = await post('logout', s.access);
    expect(again.statusCode).toBe(401);
    expect(errorCode(again)).toBe('TOKEN_REVOKED');

    // The user's other session is untouched.
    expect(await meOutcome(t, 'acme', other.access)).toEqual({ status: 200, code: undefined });
    expect((await refreshWith(t, 'acme', other.refresh)).statusCode).toBe(200);

    const [row] = await tenantQuery<{ revoked_reason: string }>(t, acme.id, 'SELECT revoked_reason FROM sessions WHERE id = $1', [s.sid]);
    expect(row!.revoked_reason).toBe('logout');
  });

  it('logout: every access token ever issued to that session is refused (earlier ones from before a refresh too)', async () => {
    const s0 = await signIn(t, 'acme', 'alice@example.com');
    const s1 = await refreshOk(t, 'acme', s0.refresh);
    const s2 = await refreshOk(t, 'acme', s1.refresh);
    expect((await post('logout', s2.access)).statusCode).toBe(204);
    for (const a of [s0.access, s1.access, s2.access]) {
      expect(await meOutcome(t, 'acme', a)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    }
    expect(errorCode(await refreshWith(t, 'acme', s2.refresh))).toBe('REFRESH_TOKEN_INVALID');
  });

  it('logout needs a valid access token', async () => {
    const none = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/logout' });
    expect(none.statusCode).toBe(401);
    const bad = await post('logout', 'not-a-token');
    expect(bad.statusCode).toBe(401);
  });

  it("logout-all: every session of the user dies at once; other users' sessions live", async () => {
    const sessions = [];
    for (let i = 0; i < 3; i++) sessions.push(await signIn(t, 'acme', 'alice@example.com'));
    const refreshed = await refreshOk(t, 'acme', sessions[2]!.refresh);
    const bob = await signIn(t, 'acme', 'bob@example.com');

    const out = await post('logout-all', sessions[0]!.access);
    expect(out.statusCode, out.body).toBe(204);

    for (const s of [...sessions, refreshed]) {
      expect(await meOutcome(t, 'acme', s.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    }
    for (const r of [sessions[0]!.refresh, sessions[1]!.refresh, refreshed.refresh]) {
      expect(errorCode(await refreshWith(t, 'acme', r))).toBe('REFRESH_TOKEN_INVALID');
    }
    const live = await tenantQuery(t, acme.id, 'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [sessions[0]!.sub]);
    expect(live).toHaveLength(0);

    expect(await meOutcome(t, 'acme', bob.access)).toEqual({ status: 200, code: undefined });
    expect((await refreshWith(t, 'acme', bob.refresh)).statusCode).toBe(200);

    // The user can sign in again afterwards.
    const fresh = await signIn(t, 'acme', 'alice@example.com');
    expect(await meOutcome(t, 'acme', fresh.access)).toEqual({ status: 200, code: undefined });
  });
});

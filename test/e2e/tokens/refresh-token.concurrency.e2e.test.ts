import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createUser,
  errorCode,
  meOutcome,
  patchTenant,
  refreshOk,
  refreshWith,
  signIn,
  sleep,
  tenantQuery,
  toSignedIn,
} from '../../helpers/auth-flows.ts';
import { backendName, buildTestApp, createTenant, type TestApp } from '../../helpers/test-app.ts';

/**
 * Two uses of the same refresh token at the same time. Strict mode (the default, grace 0): exactly one wins and
 * the second is reuse, so the session ends revoked. Grace mode: a second use inside the window gets a sibling
 * token and the session lives; outside the window it is reuse.
 */
describe(`concurrent refresh (${backendName})`, () => {
  let t: TestApp;
  let strict: Awaited<ReturnType<typeof createTenant>>;
  let graceful: Awaited<ReturnType<typeof createTenant>>;

  beforeAll(async () => {
    t = await buildTestApp();
    strict = await createTenant(t, 'strict');
    graceful = await createTenant(t, 'graceful');
    await createUser(t, 'strict', 'alice@example.com');
    await createUser(t, 'graceful', 'alice@example.com');
  });
  afterAll(() => t.close());

  const isRevoked = async (tenantId: string, sid: string) =>
    (await tenantQuery<{ revoked_at: Date | null }>(t, tenantId, 'SELECT revoked_at FROM sessions WHERE id = $1', [sid]))[0]!.revoked_at !== null;

  describe('strict mode (refresh_reuse_grace_seconds = 0, the default)', () => {
    it('the default setting is strict', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/platform/tenants/strict', headers: { authorization: `Bearer ${t.platformToken}` } });
      expect(res.json().settings.refresh_reuse_grace_seconds).toBe(0);
    });

    it('two concurrent refreshes with one token: exactly one succeeds, the session ends revoked (repeated)', async () => {
      for (let round = 0; round < 8; round++) {
        const s = await signIn(t, 'strict', 'alice@example.com');
        const results = await Promise.all([refreshWith(t, 'strict', s.refresh), refreshWith(t, 'strict', s.refresh)]);
        const ok = results.filter((r) => r.statusCode === 200);
        const failed = results.filter((r) => r.statusCode !== 200);
        expect(ok, `round ${round}: ${results.map((r) => `${r.statusCode} ${errorCode(r) ?? ''}`).join(', ')}`).toHaveLength(1);
        expect(failed[0]!.statusCode).toBe(401);
        expect(errorCode(failed[0]!)).toBe('REFRESH_TOKEN_REUSED');
        expect(await isRevoked(strict.id, s.sid), `round ${round}`).toBe(true);
        // Whatever the winner received is dead as well.
        const winner = toSignedIn(ok[0]!.json());
        expect(await meOutcome(t, 'strict', winner.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
        expect(errorCode(await refreshWith(t, 'strict', winner.refresh))).toBe('REFRESH_TOKEN_INVALID');
      }
    });

    it('three concurrent refreshes: one winner, the rest refused, session revoked (repeated)', async () => {
      for (let round = 0; round < 6; round++) {
        const s = await signIn(t, 'strict', 'alice@example.com');
        const results = await Promise.all([1, 2, 3].map(() => refreshWith(t, 'strict', s.refresh)));
        expect(results.filter((r) => r.statusCode === 200), `round ${round}: ${results.map((r) => r.statusCode)}`).toHaveLength(1);
        const codes = results.filter((r) => r.statusCode !== 200).map(errorCode);
        for (const c of codes) expect(['REFRESH_TOKEN_REUSED', 'REFRESH_TOKEN_INVALID']).toContain(c);
        expect(codes).toContain('REFRESH_TOKEN_REUSED');
        expect(await isRevoked(strict.id, s.sid)).toBe(true);
      }
    });

    it('a sequential second use, however quick, is reuse', async () => {
      for (let round = 0; round < 5; round++) {
        const s = await signIn(t, 'strict', 'alice@example.com');
        await refreshOk(t, 'strict', s.refresh);
        expect(errorCode(await refreshWith(t, 'strict', s.refresh))).toBe('REFRESH_TOKEN_REUSED');
        expect(await isRevoked(strict.id, s.sid)).toBe(true);
      }
    });
  });

  describe('grace mode', () => {
    it('inside the window: a concurrent second use succeeds with a different token, the session stays alive', async () => {
      await patchTenant(t, 'graceful', { settings: { refresh_reuse_grace_seconds: 10 } });
      for (let round = 0; round < 3; round++) {
        const s = await signIn(t, 'graceful', 'alice@example.com');
        const [a, b] = await Promise.all([refreshWith(t, 'graceful', s.refresh), refreshWith(t, 'graceful', s.refresh)]);
        expect(a!.statusCode, a!.body).toBe(200);
        expect(b!.statusCode, b!.body).toBe(200);
        const ta = toSignedIn(a!.json());
        const tb = toSignedIn(b!.json());
        expect(ta.refresh).not.toBe(tb.refresh);
        expect(ta.sid).toBe(s.sid);
        expect(tb.sid).toBe(s.sid);
        expect(await isRevoked(graceful.id, s.sid)).toBe(false);
        expect(await meOutcome(t, 'graceful', ta.access)).toEqual({ status: 200, code: undefined });
        expect(await meOutcome(t, 'graceful', tb.access)).toEqual({ status: 200, code: undefined });
        // Both branches keep working (each rotates normally).
        await refreshOk(t, 'graceful', ta.refresh);
        await refreshOk(t, 'graceful', tb.refresh);
        expect(await isRevoked(graceful.id, s.sid)).toBe(false);
      }
    });

    it('inside the window: a sequential second use also gets a sibling token', async () => {
      const s = await signIn(t, 'graceful', 'alice@example.com');
      const first = await refreshOk(t, 'graceful', s.refresh);
      const second = await refreshOk(t, 'graceful', s.refresh);
      expect(second.refresh).not.toBe(first.refresh);
      expect(await isRevoked(graceful.id, s.sid)).toBe(false);
    });

    it('after the window: reuse is detected and the session revoked', async () => {
      await patchTenant(t, 'graceful', { settings: { refresh_reuse_grace_seconds: 1 } });
      const s = await signIn(t, 'graceful', 'alice@example.com');
      const next = await refreshOk(t, 'graceful', s.refresh);
      await sleep(2100);
      const late = await refreshWith(t, 'graceful', s.refresh);
      expect(late.statusCode).toBe(401);
      expect(errorCode(late)).toBe('REFRESH_TOKEN_REUSED');
      expect(await isRevoked(graceful.id, s.sid)).toBe(true);
      expect(await meOutcome(t, 'graceful', next.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
      expect(errorCode(await refreshWith(t, 'graceful', next.refresh))).toBe('REFRESH_TOKEN_INVALID');
    });

    it('after the window (rotation backdated in storage): reuse is detected', async () => {
      await patchTenant(t, 'graceful', { settings: { refresh_reuse_grace_seconds: 10 } });
      const s = await signIn(t, 'graceful', 'alice@example.com');
      await refreshOk(t, 'graceful', s.refresh);
      await tenantQuery(t, graceful.id, `UPDATE refresh_tokens SET rotated_at = now() - interval '11 seconds' WHERE session_id = $1 AND status = 'rotated'`, [s.sid]);
      expect(errorCode(await refreshWith(t, 'graceful', s.refresh))).toBe('REFRESH_TOKEN_REUSED');
      expect(await isRevoked(graceful.id, s.sid)).toBe(true);
    });
  });
});

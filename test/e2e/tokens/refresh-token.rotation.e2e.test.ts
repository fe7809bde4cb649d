import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, errorCode, getMe, refreshOk, refreshWith, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, buildTestApp, createTenant, type TestApp } from '../../helpers/test-app.ts';
import { sha256 } from '../../../src/shared/crypto.ts';

/** Every refresh hands out a new refresh token; the presented one never works again. */
describe(`refresh token rotation (${backendName})`, () => {
  let t: TestApp;
  let acme: Awaited<ReturnType<typeof createTenant>>;

  beforeAll(async () => {
    t = await buildTestApp();
    acme = await createTenant(t, 'acme');
    await createUser(t, 'acme', 'alice@example.com');
  });
  afterAll(() => t.close());

  it('a chain of refreshes: each returns a new refresh and access token for the same session', async () => {
    const first = await signIn(t, 'acme', 'alice@example.com');
    const seenRefresh = new Set([first.refresh]);
    const seenJti = new Set([first.claims.jti]);
    let current = first;
    for (let i = 0; i < 5; i++) {
      const next = await refreshOk(t, 'acme', current.refresh);
      expect(seenRefresh.has(next.refresh)).toBe(false);
      expect(seenJti.has(next.claims.jti)).toBe(false);
      expect(next.sid).toBe(first.sid);
      expect(next.sub).toBe(first.sub);
      expect(next.refresh).toMatch(/^ghr_[A-Za-z0-9_-]{43}$/);
      expect((await getMe(t, 'acme', next.access)).statusCode).toBe(200);
      seenRefresh.add(next.refresh);
      seenJti.add(next.claims.jti);
      current = next;
    }
    // Storage keeps hashes, never the token itself.
    const rows = await tenantQuery<{ token_hash: string; status: string }>(
      t,
      acme.id,
      'SELECT token_hash, status FROM refresh_tokens WHERE session_id = $1 ORDER BY created_at',
      [first.sid],
    );
    expect(rows).toHaveLength(6);
    expect(rows.map((r) => r.status)).toEqual(['rotated', 'rotated', 'rotated', 'rotated', 'rotated', 'active']);
    expect(rows.map((r) => r.token_hash)).toEqual([...seenRefresh].map(sha256));
    for (const r of rows) expect(seenRefresh.has(r.token_hash)).toBe(false);
  });

  it('the presented refresh token stops working once rotated', async () => {
    const s = await signIn(t, 'acme', 'alice@example.com');
    await refreshOk(t, 'acme', s.refresh);
    const again = await refreshWith(t, 'acme', s.refresh);
    expect(again.statusCode).toBe(401);
    expect(['REFRESH_TOKEN_REUSED', 'REFRESH_TOKEN_INVALID']).toContain(errorCode(again));
  });

  it('unknown, malformed and oversized refresh tokens → 401 (or 400 by schema), with no session effect', async () => {
    const s = await signIn(t, 'acme', 'alice@example.com');
    for (const bad of ['ghr_' + 'A'.repeat(43), s.refresh.slice(0, -1), s.refresh + 'x', s.refresh.replace('ghr_', 'ghx_'), s.refresh.slice(4), 'ghr_']) {
      const res = await refreshWith(t, 'acme', bad);
      expect(res.statusCode, bad).toBe(401);
      expect(errorCode(res)).toBe('REFRESH_TOKEN_INVALID');
    }
    const long = await refreshWith(t, 'acme', 'ghr_' + 'A'.repeat(300));
    expect([400, 401]).toContain(long.statusCode);
    const none = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/refresh', payload: {} });
    expect(none.statusCode).toBe(401);
    expect(errorCode(none)).toBe('REFRESH_TOKEN_INVALID');
    // None of that touched the genuine session.
    expect((await refreshWith(t, 'acme', s.refresh)).statusCode).toBe(200);
  });

  it('an expired refresh token → 401 REFRESH_TOKEN_INVALID (expiry is not reuse: the session is not revoked)', async () => {
    const s = await signIn(t, 'acme', 'alice@example.com');
    const other = await signIn(t, 'acme', 'alice@example.com');
    await tenantQuery(t, acme.id, `UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [sha256(s.refresh)]);
    const res = await refreshWith(t, 'acme', s.refresh);
    expect(res.statusCode).toBe(401);
    expect(errorCode(res)).toBe('REFRESH_TOKEN_INVALID');
    const [row] = await tenantQuery<{ revoked_at: Date | null }>(t, acme.id, 'SELECT revoked_at FROM sessions WHERE id = $1', [s.sid]);
    expect(row!.revoked_at).toBeNull();
    expect((await refreshWith(t, 'acme', other.refresh)).statusCode).toBe(200);
  });

  it('a refresh token of an expired session → 401 REFRESH_TOKEN_INVALID', async () => {
    const s = await signIn(t, 'acme', 'alice@example.com');
    await tenantQuery(t, acme.id, `UPDATE sessions SET idle_expires_at = now() - interval '1 second' WHERE id = $1`, [s.sid]);
    const res = await refreshWith(t, 'acme', s.refresh);
    expect(res.statusCode).toBe(401);
    expect(errorCode(res)).toBe('REFRESH_TOKEN_INVALID');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditEvents,
  createUser,
  errorCode,
  meOutcome,
  refreshOk,
  refreshWith,
  signIn,
  tenantQuery,
  type SignedIn,
} from '../../helpers/auth-flows.ts';
import { backendName, buildTestApp, createTenant, type TestApp } from '../../helpers/test-app.ts';

/**
 * Refresh token reuse detection (RFC 9700 §4.14.2): presenting a token that was already rotated means it leaked
 * (or a client is broken). The whole session is revoked at once: the newest refresh token and the live access
 * token stop working, and a high-risk audit event is recorded.
 */
describe(`refresh token reuse detection (${backendName})`, () => {
  let t: TestApp;
  let acme: Awaited<ReturnType<typeof createTenant>>;
  let admin: SignedIn;

  beforeAll(async () => {
    t = await buildTestApp();
    acme = await createTenant(t, 'acme');
    await createUser(t, 'acme', 'alice@example.com');
    admin = await signIn(t, 'acme', acme.adminEmail);
  });
  afterAll(() => t.close());

  it('reusing a rotated token → 401 REFRESH_TOKEN_REUSED and the whole session dies at once', async () => {
    const s0 = await signIn(t, 'acme', 'alice@example.com');
    const bystander = await signIn(t, 'acme', 'alice@example.com'); // another device of the same user
    const s1 = await refreshOk(t, 'acme', s0.refresh);
    const s2 = await refreshOk(t, 'acme', s1.refresh);
    expect(await meOutcome(t, 'acme', s2.access)).toEqual({ status: 200, code: undefined });

    // The attacker replays the stolen first token.
    const reuse = await refreshWith(t, 'acme', s0.refresh);
    expect(reuse.statusCode).toBe(401);
    expect(errorCode(reuse)).toBe('REFRESH_TOKEN_REUSED');
    expect(reuse.body).not.toContain('access_token');

    // The legitimate holder's newest tokens are dead too, immediately.
    expect(await meOutcome(t, 'acme', s2.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    expect(await meOutcome(t, 'acme', s1.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    const newest = await refreshWith(t, 'acme', s2.refresh);
    expect(newest.statusCode).toBe(401);
    expect(errorCode(newest)).toBe('REFRESH_TOKEN_INVALID');
    // Replaying again changes nothing and issues nothing.
    const replay = await refreshWith(t, 'acme', s0.refresh);
    expect(replay.statusCode).toBe(401);

    const [session] = await tenantQuery<{ revoked_at: Date | null; revoked_reason: string | null }>(
      t,
      acme.id,
      'SELECT revoked_at, revoked_reason FROM sessions WHERE id = $1',
      [s0.sid],
    );
    expect(session!.revoked_at).not.toBeNull();
    expect(session!.revoked_reason).toBe('refresh_token_reuse');
    const live = await tenantQuery(t, acme.id, `SELECT 1 FROM refresh_tokens WHERE session_id = $1 AND status <> 'revoked'`, [s0.sid]);
    expect(live).toHaveLength(0);

    // Only that session: the user's other device is untouched.
    expect(await meOutcome(t, 'acme', bystander.access)).toEqual({ status: 200, code: undefined });
    expect((await refreshWith(t, 'acme', bystander.refresh)).statusCode).toBe(200);
  });

  it('records a high-risk token.refresh.reuse_detected audit event (admin API and storage)', async () => {
    const s0 = await signIn(t, 'acme', 'alice@example.com');
    await refreshOk(t, 'acme', s0.refresh);
    expect(errorCode(await refreshWith(t, 'acme', s0.refresh))).toBe('REFRESH_TOKEN_REUSED');

    const events = await auditEvents(t, 'acme', admin.access, 'token.refresh.reuse_detected');
    const mine = events.filter((e) => e.details.session_id === s0.sid);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ action: 'token.refresh.reuse_detected', risk: 'high', subject_id: s0.sub, actor_type: 'anonymous' });

    const rows = await tenantQuery<{ risk: string }>(
      t,
      acme.id,
      `SELECT risk FROM audit_events WHERE action = 'token.refresh.reuse_detected' AND details->>'session_id' = $1`,
      [s0.sid],
    );
    expect(rows).toEqual([{ risk: 'high' }]);
  });

  it('reuse of a token several generations old is detected too', async () => {
    const s0 = await signIn(t, 'acme', 'alice@example.com');
    let s = s0;
    for (let i = 0; i < 3; i++) s = await refreshOk(t, 'acme', s.refresh);
    expect(errorCode(await refreshWith(t, 'acme', s0.refresh))).toBe('REFRESH_TOKEN_REUSED');
    expect(await meOutcome(t, 'acme', s.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    expect(errorCode(await refreshWith(t, 'acme', s.refresh))).toBe('REFRESH_TOKEN_INVALID');
  });

  it('the legitimate client reusing after the attacker refreshed also kills the session', async () => {
    const victim = await signIn(t, 'acme', 'alice@example.com');
    const attacker = await refreshOk(t, 'acme', victim.refresh); // stolen and used first
    expect(errorCode(await refreshWith(t, 'acme', victim.refresh))).toBe('REFRESH_TOKEN_REUSED');
    expect(await meOutcome(t, 'acme', attacker.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    expect(errorCode(await refreshWith(t, 'acme', attacker.refresh))).toBe('REFRESH_TOKEN_INVALID');
  });
});

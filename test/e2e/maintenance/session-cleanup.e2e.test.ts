import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenantTx } from '../../../src/db/tenant-tx.ts';
import { cleanupExpiredSessions } from '../../../src/server.ts';
import { backendName, buildTestApp, createTenant, login, type TestApp } from '../../helpers/test-app.ts';

describe(`expired session clean-up (${backendName})`, () => {
  let t: TestApp;
  let tenantId: string;
  beforeAll(async () => {
    t = await buildTestApp();
    tenantId = (await createTenant(t, 'sweep')).id;
  });
  afterAll(() => t.close());

  it('deletes sessions a day past expiry or revocation, with their refresh tokens, and keeps live ones', async () => {
    const sessions: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await login(t, 'sweep', 'admin@sweep.test');
      expect(res.statusCode).toBe(200);
      sessions.push(JSON.parse(Buffer.from(res.json().access_token.split('.')[1], 'base64url').toString()).sid);
    }
    const [expired, revoked, live] = sessions as [string, string, string];
    await withTenantTx(t.gh.db, tenantId, async (tx) => {
      await tx.query(
        `UPDATE sessions SET created_at = now() - interval '10 days', idle_expires_at = now() - interval '2 days',
           absolute_expires_at = now() - interval '2 days' WHERE id = $1`,
        [expired],
      );
      await tx.query(`UPDATE sessions SET revoked_at = now() - interval '2 days' WHERE id = $1`, [revoked]);
    });
    const removed = await cleanupExpiredSessions(t.gh);
    expect(removed).toBe(2);
    const left = await withTenantTx(t.gh.db, tenantId, async (tx) => ({
      sessions: (await tx.query<{ id: string }>('SELECT id FROM sessions')).rows.map((r) => r.id),
      tokens: (await tx.query<{ session_id: string }>('SELECT DISTINCT session_id FROM refresh_tokens')).rows.map((r) => r.session_id),
    }));
    expect(left.sessions).toEqual([live]);
    expect(left.tokens).toEqual([live]);
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createGatehouse } from '../../src/context.ts';
import { withPlatformTx, withTenantTx } from '../../src/db/tenant-tx.ts';
import { createPlatformCredential } from '../../src/platform/platform-credentials.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-cost-'));
const gh = await createGatehouse(loadConfig({ GATEHOUSE_DATA_DIR: dir, GATEHOUSE_LOG_LEVEL: 'silent', GATEHOUSE_ARGON2_MEMORY_KIB: '8192', GATEHOUSE_ARGON2_TIME_COST: '1' }), { inMemory: true });
const app = await buildApp(gh);
const { secret } = await withPlatformTx(gh.db, (tx) => createPlatformCredential(tx, 'x', 'api'));
const r = await app.inject({ method: 'POST', url: '/api/v1/platform/tenants', headers: { authorization: `Bearer ${secret}` }, payload: { slug: 'cost', name: 'c', admin: { email: 'a@c.io', password: 'correct horse battery staple' }, settings: { rate_limits: { auth: { points: 10_000_000, window: 60 } } } } });
const tenantId = r.json().id;
(gh.hasher as { verify: unknown }).verify = async () => ({ ok: true, rehash: false });
for (let i = 0; i < 600; i++) await app.inject({ method: 'POST', url: '/t/cost/api/v1/auth/login', payload: { email: 'a@c.io', password: 'x'.repeat(12) } });
const userId = (await withTenantTx(gh.db, tenantId, (tx) => tx.query<{ id: string }>(`SELECT id FROM users WHERE email = 'a@c.io'`))).rows[0]!.id;
for (const q of [
  `EXPLAIN UPDATE sessions SET revoked_at = now(), revoked_reason = 'evicted' WHERE id IN (SELECT s.id FROM sessions s WHERE s.user_id = '${userId}' AND s.client_id IS NULL AND s.revoked_at IS NULL AND s.absolute_expires_at > now() ORDER BY s.created_at DESC, s.id OFFSET 4) RETURNING id`,
  `EXPLAIN UPDATE refresh_tokens SET status = 'revoked' WHERE session_id = ANY ('{${userId}}'::uuid[]) AND status = 'active'`,
  `EXPLAIN ANALYZE SELECT s.id FROM sessions s WHERE s.user_id = '${userId}' AND s.client_id IS NULL AND s.revoked_at IS NULL AND s.absolute_expires_at > now() ORDER BY s.created_at DESC, s.id OFFSET 4`,
  `EXPLAIN ANALYZE SELECT array(SELECT type FROM mfa_factors WHERE user_id = '${userId}' AND status = 'active' UNION SELECT 'webauthn' FROM webauthn_credentials WHERE user_id = '${userId}')`,
  `EXPLAIN ANALYZE SELECT kind, value, seen_count, last_seen FROM login_signals WHERE user_id = '${userId}'`,
]) {
  const out = await withTenantTx(gh.db, tenantId, (tx) => tx.query<{ 'QUERY PLAN': string }>(q));
  console.log(out.rows.map((x) => x['QUERY PLAN']).join('\n'), '\n');
}
const counts = await withPlatformTx(gh.db, (tx) => tx.query(`SELECT relname, n_live_tup, n_dead_tup FROM pg_stat_user_tables ORDER BY n_live_tup + n_dead_tup DESC LIMIT 8`));
console.log(counts.rows);
await gh.close();

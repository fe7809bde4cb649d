// Developer probe: database cost of one refresh-token rotation (rotateRefreshTokenQuick), chained, on the embedded
// database (MEM=1: in memory). VARIANT=sql-file replaces gatehouse_rotate_refresh first, to compare bodies.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createGatehouse } from '../../src/context.ts';
import { withPlatformTx } from '../../src/db/tenant-tx.ts';
import { createPlatformCredential } from '../../src/platform/platform-credentials.ts';
import { rotateRefreshTokenQuick } from '../../src/session/rotate-refresh.ts';
import { effectiveSettings } from '../../src/tenancy/tenant.model.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-cost-'));
const gh = await createGatehouse(loadConfig({ GATEHOUSE_DATA_DIR: dir, GATEHOUSE_LOG_LEVEL: 'silent', GATEHOUSE_ARGON2_MEMORY_KIB: '8192', GATEHOUSE_ARGON2_TIME_COST: '1' }), { inMemory: process.env.MEM === '1' });
const app = await buildApp(gh);
const { secret } = await withPlatformTx(gh.db, (tx) => createPlatformCredential(tx, 'x', 'api'));
const r = await app.inject({ method: 'POST', url: '/api/v1/platform/tenants', headers: { authorization: `Bearer ${secret}` }, payload: { slug: 'cost', name: 'c', admin: { email: 'a@c.io', password: 'correct horse battery staple' } } });
if (r.statusCode !== 201) throw new Error(r.body);
const tenantId = r.json().id as string;
if (process.env.VARIANT) await gh.db.exec(readFileSync(process.env.VARIANT, 'utf8'));
const login = await app.inject({ method: 'POST', url: '/t/cost/api/v1/auth/login', payload: { email: 'a@c.io', password: 'correct horse battery staple' } });
let token = login.json().refresh_token as string;
const tenant = await gh.tenants.bySlug('cost');
const settings = effectiveSettings(tenant!);
const n = Number(process.argv[2] ?? 2000);
for (let round = 0; round < 4; round++) {
  const t = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const q = await rotateRefreshTokenQuick(gh.db, tenantId, token, settings, null, { ip: '127.0.0.1', userAgent: 'probe', requestId: 'x' } as never);
    if (q.kind !== 'rotated') throw new Error(q.kind);
    token = q.refreshToken;
  }
  const c = process.cpuUsage(c0);
  console.log(`rotation: ${((performance.now() - t) / n).toFixed(3)} ms wall, ${((c.user + c.system) / 1000 / n).toFixed(3)} ms CPU`);
}
await app.close();
await gh.close();

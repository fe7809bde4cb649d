// Developer probe: CPU cost of a password login besides hashing (the hasher is replaced by an instant one).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createGatehouse } from '../../src/context.ts';
import { withPlatformTx } from '../../src/db/tenant-tx.ts';
import { createPlatformCredential } from '../../src/platform/platform-credentials.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-cost-'));
const gh = await createGatehouse(loadConfig({ GATEHOUSE_DATA_DIR: dir, GATEHOUSE_LOG_LEVEL: process.env.LOG ?? 'silent', GATEHOUSE_ARGON2_MEMORY_KIB: '8192', GATEHOUSE_ARGON2_TIME_COST: '1' }), { inMemory: process.env.MEM === '1' });
const app = await buildApp(gh);
const { secret } = await withPlatformTx(gh.db, (tx) => createPlatformCredential(tx, 'x', 'api'));
const r = await app.inject({ method: 'POST', url: '/api/v1/platform/tenants', headers: { authorization: `Bearer ${secret}` }, payload: { slug: 'cost', name: 'c', admin: { email: 'a@c.io', password: 'correct horse battery staple' }, settings: { rate_limits: { auth: { points: 10_000_000, window: 60 } } } } });
if (r.statusCode !== 201) throw new Error(r.body);
(gh.hasher as { verify: unknown }).verify = async () => ({ ok: true, rehash: false });
const n = Number(process.argv[2] ?? 400);
if (process.env.TIME_DB === '1') {
  const stats = new Map<string, { n: number; ms: number }>();
  for (const m of ['batch', 'query', 'exec', 'transaction'] as const) {
    const orig = (gh.db as any)[m].bind(gh.db);
    (gh.db as any)[m] = async (...a: unknown[]) => {
      const t = performance.now();
      try { return await orig(...a); } finally {
        const k = m + ':' + String(a[0]).replace(/\s+/g, ' ').slice(110, 160);
        const e = stats.get(k) ?? { n: 0, ms: 0 }; e.n++; e.ms += performance.now() - t; stats.set(k, e);
      }
    };
  }
  process.on('beforeExit', () => { for (const [k, e] of stats) if (e.n > 50) console.log((e.ms / e.n).toFixed(3), 'ms', e.n, k); });
}
for (let round = 0; round < 3; round++) {
  const t = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const res = await app.inject({ method: 'POST', url: '/t/cost/api/v1/auth/login', payload: { email: 'a@c.io', password: 'x'.repeat(12) } });
    if (res.statusCode !== 200) throw new Error(res.body);
  }
  const c = process.cpuUsage(c0);
  console.log(`login without hashing: ${((performance.now() - t) / n).toFixed(3)} ms/login wall, ${((c.user + c.system) / 1000 / n).toFixed(3)} ms/login CPU`);
}
await app.close();
await gh.close();

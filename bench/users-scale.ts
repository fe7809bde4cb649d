/**
 * users-scale: password-login latency (p50, p95) with 1,000 vs 1,000,000 users in a tenant, on real PostgreSQL.
 *
 * A fresh database gh_bench_<random> is created on BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * and dropped at the end; Gatehouse runs against it in a child process (migrations on start, in-memory KV, default
 * argon2 parameters). Two tenants are created through the platform API: "scale-small" and "scale-large". Users are
 * seeded with SQL as the postgres superuser (RLS does not apply to it; tenant_id is set explicitly; FK triggers off
 * for the bulk insert via session_replication_role) with generate_series, all sharing the tenant admin's real
 * argon2id hash of the known password, so every login verifies the correct password at full cost.
 *
 * Phases: (1) 1k users in scale-small while the users table holds only that tenant; (2) seed scale-large to 1M
 * users, VACUUM ANALYZE; (3) BENCH_ROUNDS (3) runs of BENCH_DURATION (8 s) in which logins alternate request by
 * request between the two tenants on the same connection, so both sizes see the same machine conditions. Each
 * login picks a random user of its tenant; one connection, so the figures are service latency without queueing.
 *
 * BENCH framing (latency as throughput-equivalents): ours = 1/p50(1M), limit = 1/p50(1k), each the median of the
 * phase-3 runs' p50s, so ratio = p50(1k)/p50(1M); ratio >= 0.87 means the 1M p50 is within 15% of the 1k p50.
 * Phase 1's p50 is printed too, to show any effect of the table (not just the tenant) growing.
 */
import pg from 'pg';
import { createTenant, freshPostgres, login, startGatehouse, PASSWORD, type GatehouseProcess } from './lib/gatehouse.ts';
import { assertClean, runLoad, type LoadResult } from './lib/load.ts';
import { benchLine, envNumber, fmt, info, median, ms } from './lib/report.ts';

const SMALL = 1_000;
const LARGE = envNumber('BENCH_USERS_LARGE', 1_000_000);

async function seed(url: string, tenantId: string, slug: string, from: number, to: number, hash: string, parallel: number) {
  const per = Math.ceil((to - from + 1) / parallel);
  await Promise.all(
    Array.from({ length: parallel }, async (_, i) => {
      const a = from + i * per;
      const b = Math.min(to, a + per - 1);
      if (a > b) return;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`SET session_replication_role = replica`);
        await c.query(
          `INSERT INTO users (tenant_id, email, email_verified, password_hash, role)
           SELECT $1::uuid, 'user' || g || '@' || $2 || '.bench', true, $3, 'user' FROM generate_series($4::int, $5::int) g`,
          [tenantId, slug, hash, a, b],
        );
      } finally {
        await c.end();
      }
    }),
  );
}

function measure(gh: GatehouseProcess, slug: string, users: number, seconds: number): Promise<LoadResult> {
  return runLoad(
    {
      url: gh.url,
      method: 'POST',
      path: `/t/${slug}/api/v1/auth/login`,
      // user1..user{users-1} plus the admin make `users` accounts; any seeded one is picked at random.
      body$: () => JSON.stringify({ email: `user${1 + Math.floor(Math.random() * (users - 1))}@${slug}.bench`, password: PASSWORD }),
    },
    { connections: 1, duration: seconds },
  );
}

/** Planner/executor view of the login lookup as the app role, bound to the tenant, for one random user. */
async function explainLookup(db: pg.Client, tenantId: string, email: string): Promise<string> {
  await db.query('BEGIN');
  try {
    await db.query(`SET LOCAL ROLE gatehouse_app; SELECT set_config('app.tenant_id', '${tenantId}', true)`);
    const r = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM users WHERE email = $1`, [email]);
    const lines = r.rows.map((x) => x['QUERY PLAN']);
    const plan = lines[0]!.replace(/\s+\(actual.*$/, '').trim();
    const exec = lines.find((l) => l.startsWith('Execution Time')) ?? '';
    return `${plan}; ${exec}`;
  } finally {
    await db.query('ROLLBACK');
  }
}

export async function run(): Promise<void> {
  const seconds = envNumber('BENCH_DURATION', 8);
  const rounds = envNumber('BENCH_ROUNDS', 3);
  const fresh = await freshPostgres();
  let gh: GatehouseProcess | undefined;
  const db = new pg.Client({ connectionString: fresh.url });
  try {
    info(`database ${fresh.name}`);
    gh = await startGatehouse({ DATABASE_URL: fresh.url });
    await db.connect();
    const small = await createTenant(gh, 'scale-small', { plan: 'enterprise' });
    const large = await createTenant(gh, 'scale-large', { plan: 'enterprise' });
    await login(gh, small.slug, small.adminEmail); // the admin's hash is real: prove it before copying it
    const hash = (await db.query<{ password_hash: string }>(`SELECT password_hash FROM users WHERE email = $1`, [small.adminEmail])).rows[0]!
      .password_hash;
    if (!hash.startsWith('$argon2id$v=19$m=19456,t=2,p=1$')) throw new Error(`unexpected hash parameters: ${hash.slice(0, 40)}`);

    await seed(fresh.url, small.id, small.slug, 1, SMALL - 1, hash, 1);
    await db.query('VACUUM ANALYZE users');
    assertClean('warm-up', await measure(gh, small.slug, SMALL, 2));
    const alone = await measure(gh, small.slug, SMALL, seconds);
    assertClean('1k alone', alone);
    info(`phase 1 (table holds only the 1k tenant): p50 ${ms(alone.p50)} p95 ${ms(alone.p95)} (${alone.ok} logins)`);
    info(`lookup 1k: ${await explainLookup(db, small.id, `user${SMALL >> 1}@${small.slug}.bench`)}`);

    let t = performance.now();
    await seed(fresh.url, large.id, large.slug, 1, LARGE - 1, hash, 2);
    const seedS = (performance.now() - t) / 1000;
    t = performance.now();
    await db.query('VACUUM ANALYZE users');
    const size = (await db.query<{ s: string }>(`SELECT pg_size_pretty(pg_total_relation_size('users')) AS s`)).rows[0]!.s;
    const n = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE tenant_id = $1`, [large.id])).rows[0]!.n;
    info(`seeded ${n} users into ${large.slug} in ${fmt(seedS, 1)} s (+ VACUUM ANALYZE ${fmt((performance.now() - t) / 1000, 1)} s); users table ${size}`);
    info(`lookup 1M: ${await explainLookup(db, large.id, `user${LARGE >> 1}@${large.slug}.bench`)}`);

    assertClean('warm-up 1M', await measure(gh, large.slug, LARGE, 2));
    // Phase 3: every other login goes to the other tenant, on the same connection, so both sizes are sampled under
    // the same conditions at the same moments (other load on the machine cancels out).
    const p50s: Record<'1k' | '1M', number[]> = { '1k': [], '1M': [] };
    for (let i = 0; i < rounds; i++) {
      let flip = false;
      const r = await runLoad(
        {
          url: gh.url,
          method: 'POST',
          path: '/t/-/api/v1/auth/login',
          body$: () => {
            flip = !flip;
            const [label, ten, users] = flip ? (['1k', small, SMALL] as const) : (['1M', large, LARGE] as const);
            const email = `user${1 + Math.floor(Math.random() * (users - 1))}@${ten.slug}.bench`;
            return { label, body: JSON.stringify({ email, password: PASSWORD }), path: `/t/${ten.slug}/api/v1/auth/login` };
          },
        },
        { connections: 1, duration: seconds },
      );
      assertClean('interleaved logins', r);
      const a = r.byLabel['1k']!;
      const b = r.byLabel['1M']!;
      p50s['1k'].push(a.p50);
      p50s['1M'].push(b.p50);
      info(
        `round ${i + 1} (interleaved): 1k p50 ${ms(a.p50)} p95 ${ms(a.p95)} p99 ${ms(a.p99)} (${a.n}) | ` +
          `1M p50 ${ms(b.p50)} p95 ${ms(b.p95)} p99 ${ms(b.p99)} (${b.n})`,
      );
    }
    const p50Small = median(p50s['1k']);
    const p50Large = median(p50s['1M']);
    info(
      `median p50: 1k ${ms(p50Small)}, 1M ${ms(p50Large)}; 1M vs 1k ${p50Large >= p50Small ? '+' : ''}${fmt((p50Large / p50Small - 1) * 100, 1)}% ` +
        `(target within 15%: ${p50Large <= p50Small * 1.15 ? 'met' : 'MISSED'})`,
    );
    benchLine('users-scale', 1000 / p50Large, 1000 / p50Small);
  } finally {
    await db.end().catch(() => {});
    await gh?.stop();
    await fresh.drop();
  }
}

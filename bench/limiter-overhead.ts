/**
 * limiter-overhead: what the login limiter (progressive delays, lockout counters: src/protection/login-throttle.ts)
 * costs the two hot auth paths. Target: login and refresh throughput with the limiter at least 90% of the same
 * server's throughput without it.
 *
 * Two Gatehouse children, identical but for the limiter: "with" is the normal server (bench/lib/serve.ts); "without"
 * is the same server (bench/lib/serve.ts with BENCH_NO_LIMITER=1) started with a no-op login throttle.
 * Before measuring, each side is checked to be what it claims: 6 wrong passwords for one unknown email answer 429 on
 * "with" and never on "without".
 *
 * Login: argon2id is LOWERED for this benchmark only (m=8192 KiB, t=1, p=1; GATEHOUSE_ARGON2_MEMORY_KIB/TIME_COST),
 * otherwise the hash dominates a login so completely that the limiter's few KV operations could not show. With the
 * default parameters the overhead would be a smaller fraction still. C = availableParallelism() connections and hash
 * concurrency, BENCH_LOGIN_USERS (400) users round-robin with the right password. A successful login does the
 * limiter's block check for the email and the IP and resets the email's and the account's counters.
 *
 * Refresh: 16 rotation chains as in the `refresh` benchmark (informative: rotation does not consult the limiter, so
 * this is expected near 1.00 and shows the noise floor of the comparison).
 *
 * After a warm-up of both sides, BENCH_ROUNDS (4) rounds alternate with/without (the order flips every round) for
 * login (BENCH_DURATION, default 5 s) and then for refresh (3 s). Embedded default (PGlite + in-memory KV);
 * BENCH_BACKEND=server: each side on its own fresh PostgreSQL database, the limiter in the local Redis.
 */
import { availableParallelism } from 'node:os';
import { api, backendFromEnv, createTenant, createUsers, login, PASSWORD, startGatehouse, type GatehouseProcess } from './lib/gatehouse.ts';
import { assertClean, runLoad, runLoadCpu, type LoadResult, type LoadSettings } from './lib/load.ts';
import { benchInfo, benchLine, envNumber, fmt, info, mean, ms } from './lib/report.ts';

const ARGON2 = { m: 8192, t: 1 };
const SLUG = 'bench-limiter';

type Measured = LoadResult & { cpuUsPerReq: number };

async function checkLimiter(gh: GatehouseProcess, expectLimited: boolean, name: string): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await api(gh.url, 'POST', `/t/${SLUG}/api/v1/auth/login`, { body: { email: 'nobody@limiter.bench', password: 'wrong password, wrong' } });
    statuses.push(r.status);
  }
  const limited = statuses.includes(429);
  if (limited !== expectLimited) throw new Error(`${name}: expected ${expectLimited ? 'a 429' : 'no 429'} after 6 failures, got ${statuses.join(',')}`);
}

function loginTarget(gh: GatehouseProcess, emails: string[]) {
  let next = 0;
  const bodies = emails.map((email) => JSON.stringify({ email, password: PASSWORD }));
  return { url: gh.url, method: 'POST' as const, path: `/t/${SLUG}/api/v1/auth/login`, body$: () => bodies[next++ % bodies.length]! };
}

async function rotate(gh: GatehouseProcess, chainEmails: string[], s: LoadSettings): Promise<Measured> {
  const tokens: string[] = [];
  for (let i = 0; i < chainEmails.length; i += 2) {
    const batch = await Promise.all(chainEmails.slice(i, i + 2).map((e) => login(gh, SLUG, e)));
    tokens.push(...batch.map((b) => b.refresh_token));
  }
  const r = await runLoadCpu(
    {
      url: gh.url,
      method: 'POST',
      path: `/t/${SLUG}/api/v1/auth/refresh`,
      body$: (conn) => JSON.stringify({ refresh_token: tokens[conn] }),
      onResponse: (conn, status, body) => {
        if (status === 200) tokens[conn] = (JSON.parse(body) as { refresh_token: string }).refresh_token;
      },
    },
    s,
    gh.child.pid,
  );
  assertClean('refresh', r);
  return r;
}

const line = (r: Measured) => `${fmt(r.rps)}/s (p50 ${ms(r.p50)} p95 ${ms(r.p95)}, ${fmt(r.cpuUsPerReq, 0)} µs CPU/req)`;

export async function run(): Promise<void> {
  const concurrency = envNumber('BENCH_LOGIN_CONCURRENCY', availableParallelism());
  const loginS: LoadSettings = { connections: envNumber('BENCH_LOGIN_CONNECTIONS', concurrency), duration: envNumber('BENCH_DURATION', 5) };
  const refreshS: LoadSettings = { connections: envNumber('BENCH_REFRESH_CONNECTIONS', 16), duration: envNumber('BENCH_REFRESH_DURATION', 3) };
  const rounds = envNumber('BENCH_ROUNDS', 4);
  const userCount = envNumber('BENCH_LOGIN_USERS', 400);
  const backend = backendFromEnv();
  const env = {
    GATEHOUSE_HASH_CONCURRENCY: String(concurrency),
    GATEHOUSE_ARGON2_MEMORY_KIB: String(ARGON2.m),
    GATEHOUSE_ARGON2_TIME_COST: String(ARGON2.t),
  };

  const sides: { name: string; gh: GatehouseProcess }[] = [];
  try {
    sides.push({ name: 'with limiter', gh: await startGatehouse(env, { backend }) });
    sides.push({ name: 'without', gh: await startGatehouse({ ...env, BENCH_NO_LIMITER: '1' }, { backend }) });
    const [withL, without] = sides as [(typeof sides)[0], (typeof sides)[0]];
    const emails = Array.from({ length: userCount }, (_, i) => `user${i}@limiter.bench`);
    const chainEmails = Array.from({ length: refreshS.connections }, (_, i) => `chain${i}@limiter.bench`);
    for (const s of sides) {
      await createTenant(s.gh, SLUG, { plan: 'pro' });
      await createUsers(s.gh, SLUG, [...emails, ...chainEmails], 8);
    }
    await checkLimiter(withL.gh, true, withL.name);
    await checkLimiter(without.gh, false, without.name);
    info(
      `${withL.gh.backend}; argon2id LOWERED for this bench: m=${ARGON2.m} KiB t=${ARGON2.t} p=1 (so the limiter's cost is visible); ` +
        `hash concurrency ${concurrency}; login ${loginS.connections} connections x ${loginS.duration} s, ${userCount} users; ` +
        `refresh ${refreshS.connections} chains x ${refreshS.duration} s; ${rounds} rounds per side`,
    );
    info(`verified: 6 wrong passwords -> 429 with the limiter, no 429 without it`);

    const targets = new Map(sides.map((s) => [s, loginTarget(s.gh, emails)]));
    // Warm-up: JIT, database caches, key ring, argon2 threads, both paths on both sides.
    for (const s of sides) {
      assertClean(`login warm-up (${s.name})`, await runLoad(targets.get(s)!, { ...loginS, duration: 3 }));
      await rotate(s.gh, chainEmails, { ...refreshS, duration: 2 });
    }

    const loginW: number[] = [];
    const loginN: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? [withL, without] : [without, withL];
      const res = new Map<string, Measured>();
      for (const s of order) {
        const r = await runLoadCpu(targets.get(s)!, loginS, s.gh.child.pid);
        assertClean(`login (${s.name})`, r);
        res.set(s.name, r);
      }
      loginW.push(res.get(withL.name)!.rps);
      loginN.push(res.get(without.name)!.rps);
      info(`login round ${i + 1}: with limiter ${line(res.get(withL.name)!)} | without ${line(res.get(without.name)!)}`);
    }
    const refreshW: number[] = [];
    const refreshN: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? [withL, without] : [without, withL];
      const res = new Map<string, Measured>();
      for (const s of order) res.set(s.name, await rotate(s.gh, chainEmails, refreshS));
      refreshW.push(res.get(withL.name)!.rps);
      refreshN.push(res.get(without.name)!.rps);
      info(`refresh round ${i + 1}: with limiter ${line(res.get(withL.name)!)} | without ${line(res.get(without.name)!)}`);
    }
    const lr = mean(loginW) / mean(loginN);
    const rr = mean(refreshW) / mean(refreshN);
    info(`login: with ${fmt(mean(loginW))}/s, without ${fmt(mean(loginN))}/s, ratio ${fmt(lr)}; target >= 0.90: ${lr >= 0.9 ? 'met' : 'MISSED'}`);
    info(`refresh: with ${fmt(mean(refreshW))}/s, without ${fmt(mean(refreshN))}/s, ratio ${fmt(rr)}; target >= 0.90: ${rr >= 0.9 ? 'met' : 'MISSED'}`);
    // Informative second line (refresh), then the pinned BENCH line (login) last.
    benchInfo('limiter-overhead-refresh', mean(refreshW), mean(refreshN));
    benchLine('limiter-overhead', mean(loginW), mean(loginN));
  } finally {
    for (const s of sides.reverse()) await s.gh.stop();
  }
}

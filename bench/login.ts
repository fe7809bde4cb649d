/**
 * login: POST /t/{slug}/api/v1/auth/login throughput over HTTP vs raw argon2id verification throughput.
 *
 * Both sides use the default OWASP parameters (m=19456 KiB, t=2, p=1) and the same concurrency C: Gatehouse bounds
 * hashing to C = os.availableParallelism() (passed explicitly as GATEHOUSE_HASH_CONCURRENCY), the raw side keeps C
 * verifications in flight, and the HTTP side drives C keep-alive connections (BENCH_LOGIN_CONNECTIONS overrides).
 * Each side runs in its own child process; after a warm-up, BENCH_ROUNDS (default 4) rounds of BENCH_DURATION
 * (default 5 s) alternate ours/limit, so load from other processes hits both alike; the means are compared.
 * Embedded default (PGlite + in-memory KV); BENCH_BACKEND=server uses the local PostgreSQL + Redis.
 *
 * Users: BENCH_LOGIN_USERS (default 400) distinct accounts, logged into round-robin with the right password, so a
 * run sees many different users, each signing in a handful of times (the common path). Accounts that pass 5 live
 * sessions have their oldest one evicted per login (the per-user cap), which late in a run adds that write path too.
 * Creating the accounts costs one hash each and happens before any measurement.
 *
 * A third side, the floor, runs in every round too: a bare Fastify server whose POST /login only verifies the posted
 * password with argon2 (bench/lib/argon2-http-server.ts), driven the same way. It is what HTTP alone costs a password
 * login on this machine; it prints as `BENCH-INFO login-http-floor`, next to (not instead of) the BENCH line.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { cpuSecondsOf, ROOT, spawnChild } from './lib/child.ts';
import { backendFromEnv, createTenant, createUsers, PASSWORD, startGatehouse } from './lib/gatehouse.ts';
import { assertClean, percentile, runLoad, runLoadCpu, type LoadSettings } from './lib/load.ts';
import { benchInfo, benchLine, envNumber, fmt, info, mean, ms } from './lib/report.ts';

const ARGON2 = { m: 19456, t: 2, p: 1 };

export async function run(): Promise<void> {
  const concurrency = envNumber('BENCH_LOGIN_CONCURRENCY', availableParallelism());
  const connections = envNumber('BENCH_LOGIN_CONNECTIONS', concurrency);
  const duration = envNumber('BENCH_DURATION', 5);
  const rounds = envNumber('BENCH_ROUNDS', 4);
  const userCount = envNumber('BENCH_LOGIN_USERS', 400);
  const settings: LoadSettings = { connections, duration };

  const gh = await startGatehouse({ GATEHOUSE_HASH_CONCURRENCY: String(concurrency) }, { backend: backendFromEnv() });
  let raw: Awaited<ReturnType<typeof spawnChild>> | undefined;
  let floor: Awaited<ReturnType<typeof spawnChild>> | undefined;
  try {
    raw = await spawnChild(join(ROOT, 'bench/lib/argon2-raw.ts'), {
      env: { BENCH_ARGON2_M: String(ARGON2.m), BENCH_ARGON2_T: String(ARGON2.t), BENCH_ARGON2_P: String(ARGON2.p) },
    });
    const rawChild = raw;
    floor = await spawnChild(join(ROOT, 'bench/lib/argon2-http-server.ts'), {
      env: { BENCH_ARGON2_M: String(ARGON2.m), BENCH_ARGON2_T: String(ARGON2.t), BENCH_ARGON2_P: String(ARGON2.p), BENCH_PASSWORD: PASSWORD },
    });
    const slug = 'bench-login';
    await createTenant(gh, slug, { plan: 'pro' });
    const emails = Array.from({ length: userCount }, (_, i) => `user${i}@login.bench`);
    await createUsers(gh, slug, emails, 8);
    info(`${gh.backend}; argon2id m=${ARGON2.m} KiB t=${ARGON2.t} p=${ARGON2.p}; hash concurrency ${concurrency}; HTTP connections ${connections}; ${userCount} users`);

    let next = 0;
    const bodies = emails.map((email) => JSON.stringify({ email, password: PASSWORD }));
    const target = {
      url: gh.url,
      method: 'POST' as const,
      path: `/t/${slug}/api/v1/auth/login`,
      body$: () => bodies[next++ % bodies.length]!,
    };
    type RawResult = { count: number; failures: number; seconds: number; rps: number; latencies: number[] };
    const runRaw = async (seconds: number) => {
      const before = await cpuSecondsOf(rawChild.pid);
      const r = await rawChild.request<RawResult>({ run: seconds, concurrency });
      const cpuUsPerReq = (((await cpuSecondsOf(rawChild.pid)) - before) * 1e6) / Math.max(1, r.count);
      if (r.failures) throw new Error(`raw argon2: ${r.failures} verifications failed`);
      return { ...r, cpuUsPerReq };
    };

    const floorTarget = { ...target, url: floor.ready.url as string, path: '/login' };

    // Warm-up: JIT, database caches, the signing key ring, the argon2 thread pool.
    assertClean('login warm-up', await runLoad(target, { connections, duration: 3 }));
    assertClean('floor warm-up', await runLoad(floorTarget, { connections, duration: 2 }));
    await runRaw(2);

    const ours: number[] = [];
    const limit: number[] = [];
    const cpuO: number[] = [];
    const cpuL: number[] = [];
    const floors: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const h = await runLoadCpu(target, settings, gh.child.pid);
      assertClean('login', h);
      ours.push(h.rps);
      const r = await runRaw(duration);
      limit.push(r.rps);
      const f = await runLoad(floorTarget, settings);
      assertClean('floor', f);
      floors.push(f.rps);
      cpuO.push(h.cpuUsPerReq);
      cpuL.push(r.cpuUsPerReq);
      const lat = r.latencies.sort((a, b) => a - b);
      info(
        `round ${i + 1}: login ${fmt(h.rps)}/s (${h.ok} in ${fmt(h.seconds, 1)} s, p50 ${ms(h.p50)} p95 ${ms(h.p95)}) | ` +
          `raw verify ${fmt(r.rps)}/s (${r.count} in ${fmt(r.seconds, 1)} s, p50 ${ms(percentile(lat, 50))} p95 ${ms(percentile(lat, 95))}) | ` +
          `floor (Fastify + verify) ${fmt(f.rps)}/s (p50 ${ms(f.p50)})`,
      );
    }
    // Process CPU (all threads, argon2 included) per login vs per raw verification: the difference is what a login
    // costs besides argon2 (HTTP, database, signing), independent of how busy the machine was.
    info(
      `process CPU per operation: login ${ms(mean(cpuO) / 1000)} vs raw verify ${ms(mean(cpuL) / 1000)} ` +
        `(non-argon2 work per login ~${ms((mean(cpuO) - mean(cpuL)) / 1000)})`,
    );
    const o = mean(ours);
    const l = mean(limit);
    benchInfo('login-http-floor', mean(floors), l);
    info(`target ratio >= 0.85: ${o / l >= 0.85 ? 'met' : 'MISSED'}`);
    benchLine('login', o, l);
  } finally {
    await raw?.stop();
    await floor?.stop();
    await gh.stop();
  }
}

/**
 * refresh: refresh-token rotation throughput, POST /t/{slug}/api/v1/auth/refresh on the embedded default (PGlite +
 * in-memory KV). BENCH_REFRESH_CONNECTIONS (default 16) independent chains, one per keep-alive connection: each
 * chain starts from its own login (its own user, so no session cap interferes) and every request presents the
 * refresh token returned by that connection's previous response. Any non-2xx (e.g. REFRESH_TOKEN_REUSED from a
 * broken chain) fails the benchmark. Fresh chains are logged in before every run, because the request in flight
 * when a run stops may have rotated a token whose answer was never read.
 *
 * BENCH_ROUNDS (default 4) rounds of BENCH_DURATION (default 3 s) alternate with the limit after a warm-up;
 * BENCH_BACKEND=server runs Gatehouse on the local PostgreSQL + Redis instead.
 *
 * Limit: a bare Fastify hello-world (GET /) under the same autocannon settings, i.e. the ceiling of this HTTP
 * stack and load generator on this machine. The ratio is how much of that ceiling a rotation (one transaction with
 * two row locks, two updates, two inserts and an ES256 signature) retains; there is no pinned target.
 */
import { join } from 'node:path';
import { ROOT, spawnChild } from './lib/child.ts';
import { backendFromEnv, createTenant, createUsers, login, startGatehouse, type GatehouseProcess } from './lib/gatehouse.ts';
import { assertClean, runLoad, runLoadCpu, type LoadResult, type LoadSettings } from './lib/load.ts';
import { benchLine, envNumber, fmt, info, mean, ms } from './lib/report.ts';

async function chains(gh: GatehouseProcess, slug: string, emails: string[]): Promise<string[]> {
  const tokens: string[] = [];
  // Two at a time: the login path is bounded by the hasher anyway.
  for (let i = 0; i < emails.length; i += 2) {
    const batch = await Promise.all(emails.slice(i, i + 2).map((e) => login(gh, slug, e)));
    tokens.push(...batch.map((b) => b.refresh_token));
  }
  return tokens;
}

async function rotate(gh: GatehouseProcess, slug: string, emails: string[], s: LoadSettings): Promise<LoadResult & { cpuUsPerReq: number }> {
  const tokens = await chains(gh, slug, emails);
  const r = await runLoadCpu(
    {
      url: gh.url,
      method: 'POST',
      path: `/t/${slug}/api/v1/auth/refresh`,
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

export async function run(): Promise<void> {
  const settings: LoadSettings = { connections: envNumber('BENCH_REFRESH_CONNECTIONS', 16), duration: envNumber('BENCH_DURATION', 3) };
  const rounds = envNumber('BENCH_ROUNDS', 4);
  const gh = await startGatehouse({}, { backend: backendFromEnv() });
  let hello: Awaited<ReturnType<typeof spawnChild>> | undefined;
  try {
    hello = await spawnChild(join(ROOT, 'bench/lib/hello-server.ts'));
    const helloTarget = { url: hello.ready.url as string, path: '/' };
    const slug = 'bench-refresh';
    await createTenant(gh, slug, { plan: 'pro' });
    const emails = Array.from({ length: settings.connections }, (_, i) => `chain${i}@refresh.bench`);
    await createUsers(gh, slug, emails);
    info(`${gh.backend}; ${settings.connections} chains/connections, ${settings.duration} s per round, ${rounds} rounds each`);

    await rotate(gh, slug, emails, { ...settings, duration: 3 });
    assertClean('hello warm-up', await runLoad(helloTarget, { ...settings, duration: 3 }));

    const o: number[] = [];
    const l: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const a = await rotate(gh, slug, emails, settings);
      const b = await runLoadCpu(helloTarget, settings, hello.pid);
      assertClean('hello', b);
      o.push(a.rps);
      l.push(b.rps);
      info(
        `round ${i + 1}: refresh ${fmt(a.rps)}/s (${a.ok} rotations, p50 ${ms(a.p50)} p95 ${ms(a.p95)}, ${fmt(a.cpuUsPerReq, 0)} µs CPU/req) | ` +
          `hello-world ${fmt(b.rps)}/s (p50 ${ms(b.p50)}, ${fmt(b.cpuUsPerReq, 0)} µs CPU/req)`,
      );
    }
    benchLine('refresh', mean(o), mean(l));
  } finally {
    await hello?.stop();
    await gh.stop();
  }
}

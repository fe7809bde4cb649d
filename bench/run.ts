/**
 * Benchmark runner: `npm run bench` runs every benchmark, `npm run bench -- NAME [NAME...]` the named ones.
 * Each benchmark prints human-readable lines and ends with exactly one
 *   BENCH NAME ours=X/s limit=Y/s ratio=Z
 * line. Servers under test run in child processes; every child is stopped when a benchmark ends or fails.
 */
import { availableParallelism, loadavg } from 'node:os';
import { stopAll } from './lib/child.ts';

const BENCHES: Record<string, { about: string; load: () => Promise<{ run: () => Promise<void> }> }> = {
  login: { about: 'password login over HTTP vs raw argon2id verify, same params and concurrency', load: () => import('./login.ts') },
  me: { about: 'GET /me with a bearer token vs bare Fastify + jose verification', load: () => import('./me.ts') },
  refresh: { about: 'refresh-token rotation chains vs Fastify hello-world', load: () => import('./refresh.ts') },
  'users-scale': { about: 'login p50 with 1k vs 1M users in a tenant (PostgreSQL)', load: () => import('./users-scale.ts') },
  'limiter-overhead': {
    about: 'login and refresh with vs without the login limiter (no-op throttle), lowered argon2',
    load: () => import('./limiter-overhead.ts'),
  },
  'tenants-scale': { about: 'start-up time and RSS with 10 vs 10,000 tenants (embedded PGlite)', load: () => import('./tenants-scale.ts') },
  'oidc-client-credentials': {
    about: 'OAuth client_credentials token issuance vs node-oidc-provider (ES256 JWT access tokens, client_secret_basic)',
    load: () => import('./oidc-client-credentials.ts'),
  },
  'oidc-refresh': { about: 'OAuth refresh_token rotation chains vs node-oidc-provider (rotateRefreshToken)', load: () => import('./oidc-refresh.ts') },
  'oidc-code-flow': { about: 'authorization code flow end to end (authorize, hosted login, token): p50/p95 vs login alone', load: () => import('./oidc-code-flow.ts') },
};

/** Hard stop per benchmark: each is designed to finish well inside this. */
const BENCH_TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 180_000);

async function main(): Promise<number> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(`Usage: npm run bench [-- NAME...]\n\n${Object.entries(BENCHES).map(([n, b]) => `  ${n.padEnd(14)} ${b.about}`).join('\n')}\n`);
    return 0;
  }
  const names = args.length ? args : Object.keys(BENCHES);
  const unknown = names.filter((n) => !BENCHES[n]);
  if (unknown.length) {
    process.stderr.write(`Unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`);
    return 2;
  }
  let failed = 0;
  for (const name of names) {
    const started = performance.now();
    process.stdout.write(`# ${name}: ${BENCHES[name]!.about}\n`);
    // Other processes on the machine move every figure: say how busy it was when the benchmark started.
    process.stdout.write(`# ${availableParallelism()} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
    let timer: NodeJS.Timeout | undefined;
    try {
      const mod = await BENCHES[name]!.load();
      await Promise.race([
        mod.run(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${BENCH_TIMEOUT_MS / 1000} s`)), BENCH_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      failed++;
      process.stdout.write(`BENCH-FAILED ${name}: ${(err as Error).message}\n`);
      if (process.env.BENCH_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
      await stopAll();
    } finally {
      clearTimeout(timer);
    }
    process.stdout.write(`# ${name} took ${((performance.now() - started) / 1000).toFixed(1)} s\n\n`);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

/**
 * The server under test, run as a child process of the bench: configuration from the environment exactly as
 * `gatehouse start` reads it, then one line `BENCH_READY {"url":...,"platformToken":...}` on stdout.
 * SIGTERM stops it cleanly (so `--cpu-prof` can write its profile).
 */
import { loadConfig } from '../../src/config/config.ts';
import { withPlatformTx } from '../../src/db/tenant-tx.ts';
import { createPlatformCredential } from '../../src/platform/platform-credentials.ts';
import { createLoginThrottle, type LoginThrottle } from '../../src/protection/login-throttle.ts';
import { createLimiterFactory } from '../../src/protection/limiter-factory.ts';
import { createMemoryKv } from '../../src/kv/memory-kv.ts';
import { startServer } from '../../src/server.ts';

/**
 * BENCH_NO_LIMITER=1: the login limiter swapped for a no-op, the "without" side of `limiter-overhead`. It keeps the
 * real `identifiers` (a pure function) and answers every counter as if nothing were ever counted.
 */
function noopThrottle(): LoginThrottle {
  const real = createLoginThrottle(createLimiterFactory(createMemoryKv()));
  return {
    identifiers: real.identifiers,
    blockedFor: async () => 0,
    failure: async () => 0,
    success: async () => {},
    failureCount: async () => 0,
    unblock: async () => {},
    accountFailure: async () => 0,
    resetAccount: async () => {},
    take: async () => ({ ok: true, retryAfter: 0, count: 0 }),
  };
}

const config = loadConfig();
const noLimiter = process.env.BENCH_NO_LIMITER === '1';
// The first-start bootstrap credential is printed through `out`; we make our own API credential instead.
const server = await startServer(config, () => {}, noLimiter ? { throttle: noopThrottle() } : {});
const { secret } = await withPlatformTx(server.gh.db, (tx) => createPlatformCredential(tx, 'bench', 'api'));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    await server.stop();
  } finally {
    process.exit(0);
  }
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.on('disconnect', stop);

process.stdout.write(
  'BENCH_READY ' +
    JSON.stringify({ url: server.url, platformToken: secret, pid: process.pid, database: server.gh.db.kind, kv: server.gh.kv.kind }) +
    '\n',
);

/**
 * Like bench/lib/serve.ts, but with the login limiter swapped for a no-op: the "without the limiter" side of the
 * `limiter-overhead` benchmark. src/server.ts's startServer builds the Gatehouse object and the app in one call, so
 * this child builds them itself the way startServer does (createGatehouse, then buildApp, then listen), replacing
 * `gh.throttle` before the app is built. The no-op keeps the real `identifiers` (a pure function) and answers
 * every counter as if nothing were ever counted: never blocked, no delay imposed, every budget open.
 *
 * Not a way to run Gatehouse: no first-start bootstrap credential, no local CLI credential, no session clean-up
 * (idle in a benchmark anyway). Keep it in step with startServer: a new method on LoginThrottle fails the type check
 * here until the no-op implements it.
 */
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createGatehouse } from '../../src/context.ts';
import { withPlatformTx } from '../../src/db/tenant-tx.ts';
import { createPlatformCredential } from '../../src/platform/platform-credentials.ts';
import type { LoginThrottle } from '../../src/protection/login-throttle.ts';
import { startWebhookWorker } from '../../src/security/webhook-worker.ts';

const config = loadConfig();
const gh = await createGatehouse(config);
const real = gh.throttle;
const noop: LoginThrottle = {
  identifiers: real.identifiers,
  blockedFor: async () => 0,
  failure: async () => 0,
  success: async () => {},
  failureCount: async () => 0,
  unblock: async () => {},
  accountFailure: async () => 0,
  resetAccount: async () => {},
  take: async () => ({ ok: true, retryAfter: 0 }),
};
gh.throttle = noop;
const app = await buildApp(gh);
await app.listen({ port: config.port, host: config.host });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : config.port;
const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
// As startServer does, so both sides of the comparison run the same background work.
const webhooks = config.webhookIntervalMs > 0 ? startWebhookWorker(gh, config.webhookIntervalMs) : undefined;
const { secret } = await withPlatformTx(gh.db, (tx) => createPlatformCredential(tx, 'bench', 'api'));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    await webhooks?.stop();
    await app.close();
    await gh.close();
  } finally {
    process.exit(0);
  }
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.on('disconnect', stop);

process.stdout.write(
  'BENCH_READY ' + JSON.stringify({ url, platformToken: secret, pid: process.pid, database: gh.db.kind, kv: gh.kv.kind, limiter: 'no-op' }) + '\n',
);

/**
 * The server under test, run as a child process of the bench: configuration from the environment exactly as
 * `gatehouse start` reads it, then one line `BENCH_READY {"url":...,"platformToken":...}` on stdout.
 * SIGTERM stops it cleanly (so `--cpu-prof` can write its profile).
 */
import { loadConfig } from '../../src/config/config.ts';
import { withPlatformTx } from '../../src/db/tenant-tx.ts';
import { createPlatformCredential } from '../../src/platform/platform-credentials.ts';
import { startServer } from '../../src/server.ts';

const config = loadConfig();
// The first-start bootstrap credential is printed through `out`; we make our own API credential instead.
const server = await startServer(config, () => {});
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

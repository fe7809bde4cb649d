import type { FastifyInstance } from 'fastify';

/**
 * Starts a limit server (a bare Fastify app in its own process) on a free loopback port, stops it with the parent
 * (SIGTERM, SIGINT or the IPC channel closing), and announces its URL on the `BENCH_READY {...}` line spawnChild
 * waits for.
 */
export async function serveLimit(app: FastifyInstance): Promise<void> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.on('disconnect', stop);
  process.stdout.write('BENCH_READY ' + JSON.stringify({ url: `http://127.0.0.1:${port}` }) + '\n');
}

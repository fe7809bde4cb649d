/**
 * Floor process for `login`: a bare Fastify server whose POST /login does one @node-rs/argon2 `verify` of the
 * posted password against one stored hash and answers `{ ok }`, nothing else (no database, no token, no logger).
 * Its throughput against raw verification shows what HTTP alone costs a password login on this machine.
 *
 * env: BENCH_ARGON2_M (KiB), BENCH_ARGON2_T, BENCH_ARGON2_P.
 */
import Fastify from 'fastify';
import { Algorithm, hash, verify } from '@node-rs/argon2';

const params = {
  algorithm: Algorithm.Argon2id,
  memoryCost: Number(process.env.BENCH_ARGON2_M ?? 19456),
  timeCost: Number(process.env.BENCH_ARGON2_T ?? 2),
  parallelism: Number(process.env.BENCH_ARGON2_P ?? 1),
};
const stored = await hash(process.env.BENCH_PASSWORD ?? 'correct horse battery staple', params);

const app = Fastify({ logger: false });
app.post<{ Body: { email: string; password: string } }>('/login', async (request, reply) => {
  const ok = await verify(stored, request.body.password);
  return reply.code(ok ? 200 : 401).send({ ok });
});
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

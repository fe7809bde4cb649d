/**
 * Floor process for `login`: a bare Fastify server whose POST /login does one @node-rs/argon2 `verify` of the
 * posted password against one stored hash and answers `{ ok }`, nothing else (no database, no token, no logger).
 * Its throughput against raw verification shows what HTTP alone costs a password login on this machine.
 *
 * env: BENCH_ARGON2_M (KiB), BENCH_ARGON2_T, BENCH_ARGON2_P.
 */
import Fastify from 'fastify';
import { serveLimit } from './limit-server.ts';
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
await serveLimit(app);

/**
 * Limit server for `me`: bare Fastify that verifies the bearer token with jose against the tenant's public JWK
 * (imported once at start) with the same checks Gatehouse makes (algorithm, issuer, audience, typ, expiry) and
 * answers a small JSON. No tenant lookup, no revocation check, no user row: the floor for "verify a JWT over HTTP".
 *
 * env: BENCH_JWK (JSON of one public JWK), BENCH_ISSUER, BENCH_AUDIENCE.
 */
import Fastify from 'fastify';
import { serveLimit } from './limit-server.ts';
import { importJWK, jwtVerify, type JWK } from 'jose';

const jwk = JSON.parse(process.env.BENCH_JWK ?? 'null') as JWK & { alg: string };
const issuer = process.env.BENCH_ISSUER!;
const audience = process.env.BENCH_AUDIENCE ?? issuer;
const key = await importJWK(jwk, jwk.alg);

const app = Fastify({ logger: false });
app.get('/me', async (request, reply) => {
  const h = request.headers.authorization;
  const m = h ? /^Bearer ([A-Za-z0-9_.~+/=-]+)$/.exec(h) : null;
  if (!m) return reply.code(401).send({ error: 'unauthenticated' });
  try {
    const { payload } = await jwtVerify(m[1]!, key, { algorithms: [jwk.alg], issuer, audience, typ: 'at+jwt', clockTolerance: 5 });
    return { id: payload.sub, email: payload.email, role: payload.role };
  } catch {
    return reply.code(401).send({ error: 'invalid token' });
  }
});
await serveLimit(app);

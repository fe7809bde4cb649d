/**
 * me: GET /t/{slug}/api/v1/me with a valid bearer token, on the embedded default (PGlite + in-memory KV), vs the
 * limit: a bare Fastify server (bench/lib/jwt-server.ts) verifying the same token with jose against the tenant's
 * public JWK (from /t/{slug}/.well-known/jwks.json, imported once) with the same claim checks, answering small JSON.
 * Same autocannon settings for both (BENCH_ME_CONNECTIONS, default 16; BENCH_DURATION, default 3 s per round);
 * after a warm-up of each, BENCH_ROUNDS (default 4) short rounds alternate ours/limit, so load from other processes
 * on the machine hits both sides alike, and the means are compared. BENCH_BACKEND=server runs Gatehouse on the
 * local PostgreSQL + Redis instead.
 */
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { ROOT, spawnChild } from './lib/child.ts';
import { api, backendFromEnv, createTenant, createUsers, login, startGatehouse } from './lib/gatehouse.ts';
import { assertClean, runLoad, runLoadCpu, type LoadSettings, type LoadTarget } from './lib/load.ts';
import { benchLine, envNumber, fmt, info, mean, ms } from './lib/report.ts';

export async function run(): Promise<void> {
  const settings: LoadSettings = { connections: envNumber('BENCH_ME_CONNECTIONS', 16), duration: envNumber('BENCH_DURATION', 3) };
  const rounds = envNumber('BENCH_ROUNDS', 4);
  const gh = await startGatehouse({}, { backend: backendFromEnv() });
  let limitServer: Awaited<ReturnType<typeof spawnChild>> | undefined;
  try {
    const slug = 'bench-me';
    const tenant = await createTenant(gh, slug);
    await createUsers(gh, slug, ['reader@me.bench']);
    const { access_token } = await login(gh, slug, 'reader@me.bench');
    const jwks = await api<{ keys: { kid: string }[] }>(gh.url, 'GET', `/t/${slug}/.well-known/jwks.json`);
    const kid = decodeProtectedHeader(access_token).kid;
    const jwk = jwks.body.keys.find((k) => k.kid === kid);
    if (!jwk) throw new Error(`token kid ${kid} not in the tenant JWKS`);
    limitServer = await spawnChild(join(ROOT, 'bench/lib/jwt-server.ts'), {
      env: { BENCH_JWK: JSON.stringify(jwk), BENCH_ISSUER: tenant.issuer, BENCH_AUDIENCE: tenant.issuer },
    });
    const headers = { authorization: `Bearer ${access_token}` };
    const ours: LoadTarget = { url: gh.url, path: `/t/${slug}/api/v1/me`, headers };
    const limit: LoadTarget = { url: limitServer.ready.url as string, path: '/me', headers };
    for (const [name, t] of [['gatehouse', ours], ['limit', limit]] as const) {
      const r = await api(t.url, 'GET', t.path, { token: access_token });
      if (r.status !== 200) throw new Error(`${name} GET ${t.path}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    info(`${gh.backend}; ${settings.connections} connections, ${settings.duration} s per round, ${rounds} rounds each; token ${(jwk as { alg?: string }).alg}`);

    assertClean('me warm-up', await runLoad(ours, { ...settings, duration: 3 }));
    assertClean('jwt limit warm-up', await runLoad(limit, { ...settings, duration: 3 }));

    const o: number[] = [];
    const l: number[] = [];
    const cpuO: number[] = [];
    const cpuL: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const a = await runLoadCpu(ours, settings, gh.child.pid);
      assertClean('me', a);
      const b = await runLoadCpu(limit, settings, limitServer.pid);
      assertClean('jwt limit', b);
      o.push(a.rps);
      l.push(b.rps);
      cpuO.push(a.cpuUsPerReq);
      cpuL.push(b.cpuUsPerReq);
      info(
        `round ${i + 1}: /me ${fmt(a.rps)}/s (p50 ${ms(a.p50)} p95 ${ms(a.p95)}, ${fmt(a.cpuUsPerReq, 0)} µs CPU/req) | ` +
          `jose-only ${fmt(b.rps)}/s (p50 ${ms(b.p50)} p95 ${ms(b.p95)}, ${fmt(b.cpuUsPerReq, 0)} µs CPU/req)`,
      );
    }
    info(
      `server CPU per request (noise-robust cross-check): /me ${fmt(mean(cpuO), 0)} µs vs jose-only ${fmt(mean(cpuL), 0)} µs ` +
        `-> CPU-equivalent ratio ${fmt(mean(cpuL) / mean(cpuO))}`,
    );
    const ratio = mean(o) / mean(l);
    info(`target ratio >= 0.70: ${ratio >= 0.7 ? 'met' : 'MISSED'}`);
    benchLine('me', mean(o), mean(l));
  } finally {
    await limitServer?.stop();
    await gh.stop();
  }
}

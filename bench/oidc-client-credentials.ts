/**
 * oidc-client-credentials: token issuance throughput of `POST /t/{slug}/oauth/token` with
 * grant_type=client_credentials (a `service` client, client_secret_basic, scope `api:read`, ES256 tenant key; each
 * answer is one ES256-signed `at+jwt`) on the embedded default (PGlite + in-memory KV), vs the limit:
 * node-oidc-provider v9 (bench/lib/oidc-provider-server.ts) in its own child process with the equivalent client
 * (client_secret_basic, client_credentials, the same scope, ES256 JWT access tokens through resourceIndicators).
 *
 * Same autocannon settings for both (BENCH_OIDC_CONNECTIONS, default 16; BENCH_DURATION, default 3 s per round);
 * after a warm-up of each, BENCH_ROUNDS (default 4) rounds alternate ours/theirs and the means are compared.
 * BENCH_BACKEND=server runs Gatehouse on the local PostgreSQL + Redis instead (oidc-provider keeps its in-memory
 * adapter: client_credentials JWTs are not stored by it either way).
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { backendFromEnv, createTenant, startGatehouse } from './lib/gatehouse.ts';
import { assertClean, runLoadCpu, runLoad, type LoadSettings, type LoadTarget } from './lib/load.ts';
import { basicAuth, comparePeerRounds, startOidcProvider, createClient, FORM } from './lib/oidc.ts';
import { envNumber, info } from './lib/report.ts';

const BODY = new URLSearchParams({ grant_type: 'client_credentials', scope: 'api:read' }).toString();

/** One request outside the load, to check that the answer is what we mean to measure (an ES256 JWT, scope api:read). */
async function check(name: string, t: LoadTarget): Promise<void> {
  const res = await fetch(t.url + t.path, { method: 'POST', headers: t.headers, body: t.body });
  const body = (await res.json()) as { access_token?: string; scope?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`${name} client_credentials: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  const h = decodeProtectedHeader(body.access_token);
  const p = decodeJwt(body.access_token);
  if (h.alg !== 'ES256' || h.typ !== 'at+jwt' || p.scope !== 'api:read') throw new Error(`${name}: unexpected token ${JSON.stringify({ h, scope: p.scope })}`);
}

export async function run(): Promise<void> {
  const settings: LoadSettings = { connections: envNumber('BENCH_OIDC_CONNECTIONS', 16), duration: envNumber('BENCH_DURATION', 3) };
  const rounds = envNumber('BENCH_ROUNDS', 4);
  const backend = backendFromEnv();
  const gh = await startGatehouse({}, { backend });
  let op: Awaited<ReturnType<typeof startOidcProvider>> | undefined;
  try {
    const slug = 'bench-oidc-cc';
    await createTenant(gh, slug);
    const service = await createClient(gh, slug, { name: 'bench service', type: 'service', scope: 'api:read' });
    op = await startOidcProvider(backend);
    const opPid = op.pid;
    const opReady = op.ready as { url: string; clientId: string; clientSecret: string };

    const ours: LoadTarget = {
      url: gh.url,
      method: 'POST',
      path: `/t/${slug}/oauth/token`,
      headers: { authorization: basicAuth(service.client_id, service.client_secret), 'content-type': FORM },
      body: BODY,
    };
    const theirs: LoadTarget = {
      url: opReady.url,
      method: 'POST',
      path: '/token',
      headers: { authorization: basicAuth(opReady.clientId, opReady.clientSecret), 'content-type': FORM },
      body: BODY,
    };
    await check('gatehouse', ours);
    await check('oidc-provider', theirs);
    info(`${gh.backend} vs oidc-provider (${op.adapter} adapter); ${settings.connections} connections, ${settings.duration} s per round, ${rounds} rounds each; ES256 at+jwt on both`);

    assertClean('gatehouse warm-up', await runLoad(ours, { ...settings, duration: 3 }));
    assertClean('oidc-provider warm-up', await runLoad(theirs, { ...settings, duration: 3 }));

    await comparePeerRounds('oidc-client-credentials', 'token', rounds, async () => {
      const a = await runLoadCpu(ours, settings, gh.child.pid);
      assertClean('gatehouse client_credentials', a);
      return a;
    }, async () => {
      const b = await runLoadCpu(theirs, settings, opPid);
      assertClean('oidc-provider client_credentials', b);
      return b;
    });
  } finally {
    await op?.stop();
    await gh.stop();
  }
}

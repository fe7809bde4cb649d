/**
 * oidc-refresh: refresh_token grant throughput with rotation, `POST /t/{slug}/oauth/token` on the embedded default
 * (PGlite + in-memory KV), vs the limit: node-oidc-provider v9 (bench/lib/oidc-provider-server.ts,
 * `rotateRefreshToken: true`) in its own child process. BENCH_OIDC_CONNECTIONS (default 16) independent chains, one
 * per keep-alive connection: every request presents the refresh token that connection's previous response returned
 * (client_secret_basic on both sides), so each answer is a rotation: a new refresh token, an ES256 JWT access token
 * and an ES256 ID token (scope `openid offline_access api:read` on both).
 *
 * Chains start fresh before every run (the request in flight when a run stops may have rotated a token whose answer
 * was never read). Gatehouse's come from the real authorization code flow over HTTP: one user per chain, each with
 * its own cookie-keeping browser that signs in on the hosted login page the first time and keeps its session after,
 * then the code is redeemed at /oauth/token (bench/lib/oidc.ts). oidc-provider's are created in its process as its
 * authorization_code grant creates them (a Grant with the scopes and resource, a RefreshToken bound to it).
 *
 * BENCH_ROUNDS (default 4) rounds of BENCH_DURATION (default 3 s) alternate ours/theirs after a warm-up of each;
 * BENCH_BACKEND=server runs Gatehouse on the local PostgreSQL + Redis instead.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Child } from './lib/child.ts';
import { backendFromEnv, createTenant, createUsers, startGatehouse, type GatehouseProcess } from './lib/gatehouse.ts';
import { assertClean, runLoadCpu, type LoadResult, type LoadSettings } from './lib/load.ts';
import { basicAuth, comparePeerRounds, startOidcProvider, Browser, codeFlow, createClient, FORM, REDIRECT_URI, type OAuthClient } from './lib/oidc.ts';
import { envNumber, info } from './lib/report.ts';

const SCOPE = 'openid offline_access api:read';

type Run = LoadResult & { cpuUsPerReq: number };

interface Side {
  name: string;
  url: string;
  path: string;
  authorization: string;
  pid: number;
  /** Fresh refresh tokens, one per connection. */
  chains(n: number): Promise<string[]>;
}

/** One rotation outside the load: the answer must carry a new refresh token, an ES256 at+jwt and an ES256 ID token. */
async function check(side: Side): Promise<void> {
  const [token] = await side.chains(1);
  const res = await fetch(side.url + side.path, {
    method: 'POST',
    headers: { authorization: side.authorization, 'content-type': FORM },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token! }).toString(),
  });
  const body = (await res.json()) as { access_token?: string; id_token?: string; refresh_token?: string };
  if (res.status !== 200 || !body.access_token || !body.id_token || !body.refresh_token || body.refresh_token === token) {
    throw new Error(`${side.name} refresh: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  }
  const at = decodeProtectedHeader(body.access_token);
  if (at.alg !== 'ES256' || at.typ !== 'at+jwt' || decodeProtectedHeader(body.id_token).alg !== 'ES256' || !decodeJwt(body.access_token).sub) {
    throw new Error(`${side.name}: unexpected tokens ${JSON.stringify(at)}`);
  }
}

async function rotate(side: Side, s: LoadSettings): Promise<Run> {
  const tokens = await side.chains(s.connections);
  const r = await runLoadCpu(
    {
      url: side.url,
      method: 'POST',
      path: side.path,
      headers: { authorization: side.authorization, 'content-type': FORM },
      body$: (conn) => new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens[conn]! }).toString(),
      onResponse: (conn, status, body) => {
        if (status === 200) tokens[conn] = (JSON.parse(body) as { refresh_token: string }).refresh_token;
      },
    },
    s,
    side.pid,
  );
  assertClean(`${side.name} refresh`, r);
  return r;
}

function gatehouseSide(gh: GatehouseProcess, slug: string, client: OAuthClient, emails: string[]): Side {
  const browsers = emails.map(() => new Browser(gh.url));
  return {
    name: 'gatehouse',
    url: gh.url,
    path: `/t/${slug}/oauth/token`,
    authorization: basicAuth(client.client_id, client.client_secret),
    pid: gh.child.pid,
    async chains(n) {
      if (n > emails.length) throw new Error(`only ${emails.length} users for ${n} chains`);
      const tokens: string[] = [];
      // Two at a time: a first sign-in is bounded by the password hasher anyway.
      for (let i = 0; i < n; i += 2) {
        const idx = [i, i + 1].filter((j) => j < n);
        const got = await Promise.all(idx.map((j) => codeFlow(gh, slug, client, browsers[j]!, emails[j]!, SCOPE)));
        for (const g of got) {
          if (!g.refresh_token) throw new Error('the code flow gave no refresh token');
          tokens.push(g.refresh_token);
        }
      }
      return tokens;
    },
  };
}

function providerSide(op: Child): Side {
  const ready = op.ready as { url: string; clientId: string; clientSecret: string };
  return {
    name: 'oidc-provider',
    url: ready.url,
    path: '/token',
    authorization: basicAuth(ready.clientId, ready.clientSecret),
    pid: op.pid,
    chains: async (n) => (await op.request<{ tokens: string[] }>({ chains: n })).tokens,
  };
}

export async function run(): Promise<void> {
  const settings: LoadSettings = { connections: envNumber('BENCH_OIDC_CONNECTIONS', 16), duration: envNumber('BENCH_DURATION', 3) };
  const rounds = envNumber('BENCH_ROUNDS', 4);
  const backend = backendFromEnv();
  const gh = await startGatehouse({}, { backend });
  let op: Awaited<ReturnType<typeof startOidcProvider>> | undefined;
  try {
    const slug = 'bench-oidc-refresh';
    // Each chain is a grant session of its user, next to the user's browser session: room for every round's chain.
    await createTenant(gh, slug, { settings: { max_sessions_per_user: 100 } });
    const client = await createClient(gh, slug, {
      name: 'bench web',
      type: 'confidential',
      redirect_uris: [REDIRECT_URI],
      scope: SCOPE,
      first_party: true,
    });
    const emails = Array.from({ length: settings.connections }, (_, i) => `chain${i}@oidc-refresh.bench`);
    await createUsers(gh, slug, emails);
    op = await startOidcProvider(backend);
    const ours = gatehouseSide(gh, slug, client, emails);
    const theirs = providerSide(op);
    await check(ours);
    await check(theirs);
    info(`${gh.backend} vs oidc-provider (${op.adapter} adapter); ${settings.connections} chains/connections, ${settings.duration} s per round, ${rounds} rounds each`);

    await rotate(ours, { ...settings, duration: 3 });
    await rotate(theirs, { ...settings, duration: 3 });

    await comparePeerRounds('oidc-refresh', 'rotation', rounds, () => rotate(ours, settings), () => rotate(theirs, settings), (r) => `${r.ok} rotations, `);
  } finally {
    await op?.stop();
    await gh.stop();
  }
}

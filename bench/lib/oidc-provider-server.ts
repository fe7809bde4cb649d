/**
 * Limit process for `oidc-client-credentials` and `oidc-refresh`: node-oidc-provider (npm `oidc-provider` v9) on
 * 127.0.0.1, configured as the peer of a Gatehouse tenant with one equivalent confidential client:
 *
 * - `client_secret_basic`, grants client_credentials + authorization_code + refresh_token, scope
 *   `openid offline_access api:read`;
 * - ES256 everywhere: the provider's only key is a fresh P-256 key, ID tokens are ES256, and access tokens are
 *   ES256 JWTs (`typ: at+jwt`) through the resourceIndicators feature: every token is for one resource server
 *   (BENCH_RESOURCE) whose `accessTokenFormat` is `jwt`, so both sides sign one JWT per client_credentials token
 *   (and a JWT access token plus an ID token per refresh);
 * - refresh tokens rotate (`rotateRefreshToken: true`); a rotated token presented again revokes the grant;
 * - lifetimes as Gatehouse's defaults: access token 900 s, ID token 3600 s, refresh token 30 days;
 * - its default in-memory adapter (in-process LRU; oidc-provider documents it as not for production), or with
 *   BENCH_OIDC_PROVIDER_ADAPTER=redis a Redis adapter on BENCH_REDIS_URL (bench/lib/oidc-provider-redis.ts).
 *
 * Prints `BENCH_READY {"url","issuer","clientId","clientSecret","resource"}`. IPC: `{chains: n}` answers
 * `{tokens: [...]}`, n refresh tokens each on its own grant, created programmatically as the authorization_code
 * grant would (Grant with the OIDC scopes and the resource scope, RefreshToken bound to it) for user `bench-user-i`.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { redisAdapter } from './oidc-provider-redis.ts';

const RESOURCE = process.env.BENCH_RESOURCE ?? 'urn:gatehouse:bench:api';
const REDIRECT = 'http://127.0.0.1:9/callback';
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = randomBytes(32).toString('base64url');

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

const adapterKind = process.env.BENCH_OIDC_PROVIDER_ADAPTER ?? 'memory';
if (adapterKind !== 'memory' && adapterKind !== 'redis') throw new Error('BENCH_OIDC_PROVIDER_ADAPTER must be "memory" or "redis"');
const redis =
  adapterKind === 'redis'
    ? redisAdapter(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', `gh-bench-oidc:${randomBytes(6).toString('hex')}:`)
    : undefined;

const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const issuer = url;

const provider = new Provider(issuer, {
  ...(redis ? { adapter: redis.Adapter } : {}),
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT],
      scope: 'openid offline_access api:read',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [jwk] },
  scopes: ['openid', 'offline_access', 'api:read'],
  claims: { openid: ['sub'] },
  findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 900,
    ClientCredentials: 900,
    IdToken: 3600,
    RefreshToken: 30 * 86_400,
    Grant: 30 * 86_400,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 14 * 86_400,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api:read',
        audience: RESOURCE,
        accessTokenTTL: 900,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});
// The bench answers every request itself; nothing here is worth a log line.
provider.on('server_error', (_ctx: unknown, err: Error) => process.stderr.write(`server_error ${err.stack}\n`));
server.on('request', provider.callback());

/** n refresh tokens as the authorization_code grant issues them, each on its own grant (its own rotation chain). */
async function chains(n: number): Promise<string[]> {
  const client = await provider.Client.find(CLIENT_ID);
  if (!client) throw new Error('bench client not found');
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const accountId = `bench-user-${i}`;
    const grant = new provider.Grant({ accountId, clientId: CLIENT_ID });
    grant.addOIDCScope('openid offline_access');
    grant.addResourceScope(RESOURCE, 'api:read');
    const grantId = await grant.save();
    const rt = new provider.RefreshToken({
      accountId,
      client,
      grantId,
      gty: 'authorization_code',
      authTime: Math.floor(Date.now() / 1000),
      amr: ['pwd'],
      expiresWithSession: false,
      scope: 'openid offline_access api:read',
      resource: RESOURCE,
      sessionUid: randomBytes(16).toString('base64url'),
    });
    tokens.push(await rt.save());
  }
  return tokens;
}

process.on('message', (msg: { chains: number }) => {
  chains(msg.chains).then(
    (tokens) => process.send!({ tokens }),
    (err: unknown) => process.send!({ error: String((err as Error).stack ?? err) }),
  );
});
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close(() => {
    void (redis?.clear() ?? Promise.resolve()).finally(() => process.exit(0));
  });
  server.closeAllConnections();
};
process.on('disconnect', stop);
process.once('SIGTERM', stop);
process.stdout.write('BENCH_READY ' + JSON.stringify({ url, issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, resource: RESOURCE, adapter: adapterKind }) + '\n');

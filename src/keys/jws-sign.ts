import { sign } from 'node:crypto';
import type { KeyRing } from './signing-keys.ts';

/**
 * Signs a JWT (JWS compact serialisation, RFC 7515 §7.1) with the tenant's active key, synchronously with node:crypto.
 * jose verifies every token Gatehouse reads; for signing, its WebCrypto path costs about 115 µs of main-thread time
 * per ES256 token against 28 µs here (measured on the 2-core bench machine), and token endpoints sign two per answer.
 * ES256 signatures are the raw 64-byte r||s (RFC 7518 §3.4), not DER; RS256 is RSASSA-PKCS1-v1_5 with SHA-256.
 */
export function signJwt(key: KeyRing['active'], typ: 'JWT' | 'at+jwt' | 'logout+jwt', claims: object): string {
  const input = signingInput(key, typ, claims);
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * The same signature computed on libuv's thread pool (node:crypto's callback form), off the main thread. Worth it only
 * where signing is most of a request's main-thread work: the client_credentials grant (no database work) went from
 * 10.9k to 16.2k tokens/s on 2 cores at the same CPU per token. Where a request also does database work (refresh,
 * code exchange, login) the handoff to the pool and back cost more than it freed (measured on oidc-refresh: about 100
 * µs more CPU per rotation, 0.47 -> 0.42 of oidc-provider's throughput embedded, 0.86 -> 0.79 on PostgreSQL), so
 * those sign with signJwt.
 */
export function signJwtOffThread(key: KeyRing['active'], typ: 'JWT' | 'at+jwt' | 'logout+jwt', claims: object): Promise<string> {
  const input = signingInput(key, typ, claims);
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, signature: Buffer) => (err ? reject(err) : resolve(`${input}.${signature.toString('base64url')}`));
    if (key.alg === 'ES256') sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }, done);
    else sign('sha256', Buffer.from(input), key.privateKey, done);
  });
}

const signingInput = (key: KeyRing['active'], typ: string, claims: object) => `${b64json({ alg: key.alg, kid: key.kid, typ })}.${b64json(claims)}`;

const b64json = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

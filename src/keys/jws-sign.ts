import { sign } from 'node:crypto';
import type { KeyRing } from './signing-keys.ts';

/**
 * Signs a JWT (JWS compact serialisation, RFC 7515 §7.1) with the tenant's active key, with node:crypto on libuv's
 * thread pool (its callback form), off the main thread.
 * - jose verifies every token Gatehouse reads; for signing, its WebCrypto path costs about 115 µs of main-thread time
 *   per ES256 token against 28 µs for node:crypto (measured on the 2-core bench machine).
 * - The signature itself was then a third of the token endpoint's main-thread time, and a Node server's throughput is
 *   bound by its main thread: on the pool, client_credentials tokens went from 10.9k/s to 14.6k/s on 2 cores at the
 *   same CPU per token. bin/gatehouse.js sizes the pool so that password hashing cannot fill it.
 * ES256 signatures are the raw 64-byte r||s (RFC 7518 §3.4), not DER; RS256 is RSASSA-PKCS1-v1_5 with SHA-256.
 */
export function signJwt(key: KeyRing['active'], typ: 'JWT' | 'at+jwt' | 'logout+jwt', claims: object): Promise<string> {
  const header = b64json({ alg: key.alg, kid: key.kid, typ });
  const input = `${header}.${b64json(claims)}`;
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, signature: Buffer) => (err ? reject(err) : resolve(`${input}.${signature.toString('base64url')}`));
    if (key.alg === 'ES256') sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }, done);
    else sign('sha256', Buffer.from(input), key.privateKey, done);
  });
}

const b64json = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

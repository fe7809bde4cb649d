import { sign } from 'node:crypto';
import type { KeyRing } from './signing-keys.ts';

/**
 * Signs a JWT (JWS compact serialisation, RFC 7515 §7.1) with the tenant's active key, synchronously with node:crypto.
 * jose verifies every token Gatehouse reads; for signing, its WebCrypto path costs about 115 µs of main-thread time
 * per ES256 token against 28 µs here (measured on the 2-core bench machine), and token endpoints sign two per answer.
 * ES256 signatures are the raw 64-byte r||s (RFC 7518 §3.4), not DER; RS256 is RSASSA-PKCS1-v1_5 with SHA-256.
 */
export function signJwt(key: KeyRing['active'], typ: 'JWT' | 'at+jwt' | 'logout+jwt', claims: object): string {
  const header = b64json({ alg: key.alg, kid: key.kid, typ });
  const input = `${header}.${b64json(claims)}`;
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

const b64json = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

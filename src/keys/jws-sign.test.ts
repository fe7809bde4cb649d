import { generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { signJwt, signJwtOffThread } from './jws-sign.ts';

describe('signJwt', () => {
  for (const [alg, offThread] of [['ES256', false], ['RS256', false], ['ES256', true], ['RS256', true]] as const) {
    it(`${alg}${offThread ? ' (off the main thread)' : ''}: jose verifies it with the public key, header and claims intact`, async () => {
      const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
      const claims = { sub: 'u1', iss: 'https://id.example/t/acme', aud: 'web', exp: Math.floor(Date.now() / 1000) + 60, name: 'Zoë ✓' };
      const key = { kid: 'k1', alg, privateKey: pair.privateKey };
      const token = offThread ? await signJwtOffThread(key, 'at+jwt', claims) : signJwt(key, 'at+jwt', claims);
      expect(decodeProtectedHeader(token)).toEqual({ alg, kid: 'k1', typ: 'at+jwt' });
      const { payload } = await jwtVerify(token, pair.publicKey, { algorithms: [alg], typ: 'at+jwt' });
      expect(payload).toEqual(claims);
      // A flipped payload byte breaks the signature.
      const [h, p, s] = token.split('.');
      const tampered = `${h}.${p!.slice(0, -2)}${p!.at(-2) === 'A' ? 'B' : 'A'}${p!.at(-1)}.${s}`;
      await expect(jwtVerify(tampered, pair.publicKey, { algorithms: [alg] })).rejects.toThrow();
    });
  }
});

import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { errors as joseErrors, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { decodeJws, JwtRejected, verifyJws, type JwtChecks } from './jws-verify.ts';
import type { VerifyKey } from './signing-keys.ts';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KEYS: Record<'ES256' | 'RS256', VerifyKey & { privateKey: typeof ec.privateKey }> = {
  ES256: { alg: 'ES256', publicKey: ec.publicKey, privateKey: ec.privateKey },
  RS256: { alg: 'RS256', publicKey: rsa.publicKey, privateKey: rsa.privateKey },
};
const CHECKS: JwtChecks = { issuer: 'https://id.example/t/acme', audience: 'https://id.example/t/acme', typ: 'at+jwt', clockTolerance: 5, requiredClaims: ['sub', 'jti', 'exp'] };

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Signs any header and payload as the header's alg says, with the test keys (HS256 keyed with the EC public key's PEM). */
function token(header: Record<string, unknown>, payload: unknown, signWith: 'ES256' | 'RS256' | 'HS256' | 'none' = 'ES256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  if (signWith === 'none') return `${input}.`;
  if (signWith === 'HS256') {
    const pem = ec.publicKey.export({ type: 'spki', format: 'pem' });
    return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
  }
  const k = KEYS[signWith];
  const sig = signWith === 'ES256' ? sign('sha256', Buffer.from(input), { key: k.privateKey, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(input), k.privateKey);
  return `${input}.${sig.toString('base64url')}`;
}

async function ours(t: string, key: VerifyKey = KEYS.ES256): Promise<string> {
  const jws = decodeJws(t);
  if (!jws) return 'invalid';
  try {
    await verifyJws(jws, key, CHECKS);
    return 'ok';
  } catch (err) {
    return err instanceof JwtRejected ? err.reason : 'threw';
  }
}

async function joses(t: string, key: VerifyKey = KEYS.ES256): Promise<string> {
  try {
    await jwtVerify(t, key.publicKey, { ...CHECKS, requiredClaims: [...CHECKS.requiredClaims], algorithms: [key.alg] });
    return 'ok';
  } catch (err) {
    return err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid';
  }
}

const now = () => Math.floor(Date.now() / 1000);
const good = () => ({ iss: CHECKS.issuer, aud: CHECKS.audience, sub: 'u', jti: 'j', iat: now(), nbf: now(), exp: now() + 60 });

describe('jws-verify: access-token verification on node:crypto', () => {
  it('accepts a well-formed token of either algorithm and returns its payload', async () => {
    const p = good();
    const jws = decodeJws(token({ alg: 'ES256', kid: 'k', typ: 'at+jwt' }, p))!;
    expect(await verifyJws(jws, KEYS.ES256, CHECKS)).toEqual(p);
    expect(await ours(token({ alg: 'RS256', typ: 'application/at+jwt' }, p, 'RS256'), KEYS.RS256)).toBe('ok');
  });

  it('refuses the classic attacks: alg none, HS256 keyed with the public key, another alg than the key, a foreign key', async () => {
    const p = good();
    expect(await ours(token({ alg: 'none', typ: 'at+jwt' }, p, 'none'))).toBe('invalid');
    expect(await ours(token({ alg: 'HS256', typ: 'at+jwt' }, p, 'HS256'))).toBe('invalid');
    expect(await ours(token({ alg: 'RS256', typ: 'at+jwt' }, p, 'RS256'), KEYS.ES256)).toBe('invalid');
    expect(await ours(token({ alg: 'ES256', typ: 'at+jwt' }, p, 'ES256'), KEYS.RS256)).toBe('invalid');
    expect(await ours(token({ alg: 'ES256', typ: 'at+jwt' }, p))).toBe('ok');
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(await ours(token({ alg: 'ES256', typ: 'at+jwt' }, p), { alg: 'ES256', publicKey: other.publicKey })).toBe('invalid');
  });

  it('an expired token is "expired" only when its signature holds; a forged expired one is "invalid"', async () => {
    const p = { ...good(), exp: now() - 10 };
    const t = token({ alg: 'ES256', typ: 'at+jwt' }, p);
    expect(await ours(t)).toBe('expired');
    expect(await ours(t.slice(0, -2) + (t.endsWith('AA') ? 'BA' : 'AA'))).toBe('invalid');
    expect(await ours(token({ alg: 'ES256', typ: 'at+jwt' }, { ...p, exp: now() - 3 }))).toBe('ok'); // within the 5 s tolerance
  });

  it('decodeJws refuses what is not three base64url segments of JSON objects, and never throws', () => {
    for (const t of ['', 'a', 'a.b', 'a..c', '.b.c', 'a.b.', 'a.b.c.d', `${b64({})}.${b64([1])}.AA`, `${b64('null')}.${b64({})}.AA`, `${b64({})}.${b64({})}.A+A`, `${b64({})}.not json.AA`]) {
      expect(decodeJws(t)).toBeUndefined();
    }
    fc.assert(fc.property(fc.string(), (s) => void decodeJws(s)));
  });

  it('property: on arbitrary headers and claims it decides exactly as jose does', async () => {
    // Biased towards valid values so that accepted, expired and refused tokens all come up.
    const often = <T>(valid: T, ...others: T[]) => fc.oneof({ arbitrary: fc.constant(valid), weight: 4 }, { arbitrary: fc.constantFrom(...others), weight: 1 });
    const time = (valid: fc.Arbitrary<number | undefined>) =>
      fc.oneof({ arbitrary: valid, weight: 4 }, { arbitrary: fc.oneof(fc.integer({ min: -120, max: 120 }).map((d) => now() + d), fc.constantFrom('1', null)), weight: 1 });
    const header = fc.record({
      alg: often<string | undefined>('ES256', 'RS256', 'HS256', 'none', 'es256', undefined),
      typ: often<unknown>('at+jwt', 'AT+JWT', 'application/at+jwt', 'JWT', 'at+JWT ', undefined, 1),
      crit: often<unknown>(undefined, ['b64'], ['exp']),
      b64: often<unknown>(undefined, true, false),
    });
    const payload = fc.record({
      iss: often<unknown>(CHECKS.issuer, 'https://id.example/t/other', undefined, 1),
      aud: often<unknown>(CHECKS.audience, [CHECKS.audience, 'x'], ['x'], 'x', undefined),
      sub: often<unknown>('u', undefined),
      jti: often<unknown>('j', undefined),
      exp: time(fc.oneof(fc.integer({ min: 10, max: 900 }).map((d) => now() + d), fc.integer({ min: 10, max: 900 }).map((d) => now() - d))),
      nbf: time(fc.constantFrom(undefined, now() - 30)),
      iat: time(fc.constantFrom(undefined, now() - 30)),
    });
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(header, payload, often<'ES256' | 'RS256' | 'HS256' | 'none'>('ES256', 'RS256', 'HS256', 'none'), async (h, p, signWith) => {
        const clean = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
        const t = token(JSON.parse(JSON.stringify(h)) as Record<string, unknown>, clean, signWith);
        for (const key of [KEYS.ES256, KEYS.RS256]) {
          const [a, b] = [await ours(t, key), await joses(t, key)];
          // Within a second of the tolerance's edge jose and we may read different clocks: skip those.
          const edge = [clean.exp, clean.nbf].some((v) => typeof v === 'number' && Math.abs(Math.abs(v - now()) - 5) <= 1);
          if (edge) continue;
          // `crit` is refused outright, where jose accepts `crit: ["b64"]`: stricter, never laxer.
          if (h.crit !== undefined) expect(a, `${t} with ${key.alg}`).not.toBe('ok');
          else expect(a, `${t} with ${key.alg}`).toBe(b);
          outcomes.set(a, (outcomes.get(a) ?? 0) + 1);
        }
      }),
      { numRuns: 400 },
    );
    expect(outcomes.get('ok')).toBeGreaterThan(10);
    expect(outcomes.get('expired')).toBeGreaterThan(10);
    expect(outcomes.get('invalid')).toBeGreaterThan(10);
  });
});

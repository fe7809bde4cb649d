import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { base64url, decodeProtectedHeader, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors/app-error.ts';
import type { KeyRingCache, SigningAlg } from '../keys/signing-keys.ts';
import { claimedTenantId, issueAccessToken, verifyAccessToken, type IssueInput } from './access-token.ts';

interface TestKey {
  kid: string;
  alg: SigningAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function newKey(alg: SigningAlg, kid: string = randomUUID()): TestKey {
  const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg, ...pair };
}

/** A key ring cache over fixed keys per tenant: what verifyAccessToken sees, without a database. */
function fakeKeys(rings: Record<string, { active: TestKey; others?: TestKey[] }>): KeyRingCache {
  const ring = (tenantId: string) => {
    const r = rings[tenantId];
    if (!r) throw new Error('no such tenant');
    const byKid = new Map([r.active, ...(r.others ?? [])].map((k) => [k.kid, { alg: k.alg, publicKey: k.publicKey }]));
    return { active: { kid: r.active.kid, alg: r.active.alg, privateKey: r.active.privateKey }, byKid };
  };
  return {
    get: async (tenantId: string) => ring(tenantId),
    verifyKey: async (tenantId: string, kid: string) => ring(tenantId).byKid.get(kid),
    invalidate: () => {},
  } as unknown as KeyRingCache;
}

const A = { id: randomUUID(), issuer: 'https://id.example/t/acme', slug: 'acme' };
const B = { id: randomUUID(), issuer: 'https://id.example/t/globex', slug: 'globex' };
const keyA = newKey('ES256');
const retiredA = newKey('ES256');
const keyB = newKey('ES256');
const keys = fakeKeys({ [A.id]: { active: keyA, others: [retiredA] }, [B.id]: { active: keyB } });

const input = (over: Partial<IssueInput> = {}): IssueInput => ({
  issuer: A.issuer,
  tenantId: A.id,
  tenantSlug: A.slug,
  plan: 'basic',
  ttlSeconds: 900,
  user: { id: randomUUID(), email: 'alice@example.com', email_verified: true, role: 'user' },
  permissions: ['profile:read', 'profile:write'],
  session: { id: randomUUID(), amr: ['pwd'], aal: 1 },
  ...over,
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ACCEPTED';
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return (err as AppError).code;
  }
}

const now = () => Math.floor(Date.now() / 1000);

describe('access tokens', () => {
  it('issue → verify round trip; header carries the active kid, alg and typ at+jwt', async () => {
    const { token, claims } = await issueAccessToken(keys, input());
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: keyA.kid, typ: 'at+jwt' });
    const verified = await verifyAccessToken(keys, token, A);
    expect(verified).toMatchObject({ sub: claims.sub, sid: claims.sid, jti: claims.jti, tenant_id: A.id, iss: A.issuer, aud: A.issuer });
    expect(verified.exp - verified.iat!).toBe(900);
  });

  it('every token gets a unique jti', async () => {
    const jtis = new Set<string>();
    for (let i = 0; i < 50; i++) jtis.add((await issueAccessToken(keys, input())).claims.jti);
    expect(jtis.size).toBe(50);
  });

  it("a retired key of the tenant still verifies; another tenant's key never does", async () => {
    const claims = (await issueAccessToken(keys, input())).claims;
    const sign = (k: TestKey) => new SignJWT({ ...claims }).setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'at+jwt' }).sign(k.privateKey);
    expect(await codeOf(verifyAccessToken(keys, await sign(retiredA), A))).toBe('ACCEPTED');
    expect(await codeOf(verifyAccessToken(keys, await sign(keyB), A))).toBe('TOKEN_INVALID');
  });

  it('a valid signature with the tenant_id of another tenant is refused (tenant binding beyond the issuer)', async () => {
    const { claims } = await issueAccessToken(keys, input());
    const token = await new SignJWT({ ...claims, tenant_id: B.id })
      .setProtectedHeader({ alg: 'ES256', kid: keyA.kid, typ: 'at+jwt' })
      .sign(keyA.privateKey);
    expect(await codeOf(verifyAccessToken(keys, token, A))).toBe('TOKEN_INVALID');
    // And A's token presented for B (B's issuer) fails on key and issuer alike.
    expect(await codeOf(verifyAccessToken(keys, (await issueAccessToken(keys, input())).token, B))).toBe('TOKEN_INVALID');
  });

  it('expiry: refused once past the 5 s clock tolerance, with TOKEN_EXPIRED', async () => {
    const { claims } = await issueAccessToken(keys, input());
    const at = (exp: number) =>
      new SignJWT({ ...claims, iat: exp - 900, nbf: exp - 900, exp }).setProtectedHeader({ alg: 'ES256', kid: keyA.kid, typ: 'at+jwt' }).sign(keyA.privateKey);
    expect(await codeOf(verifyAccessToken(keys, await at(now() - 60), A))).toBe('TOKEN_EXPIRED');
    expect(await codeOf(verifyAccessToken(keys, await at(now() - 7), A))).toBe('TOKEN_EXPIRED');
    expect(await codeOf(verifyAccessToken(keys, await at(now() - 2), A))).toBe('ACCEPTED');
  });

  it('an algorithm other than the key\'s own is refused, even by the right key (RS256 key, PS256 header)', async () => {
    const rsa = newKey('RS256');
    const rsaKeys = fakeKeys({ [A.id]: { active: rsa } });
    const { claims, token } = await issueAccessToken(rsaKeys, input());
    expect(await codeOf(verifyAccessToken(rsaKeys, token, A))).toBe('ACCEPTED');
    const ps = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'PS256', kid: rsa.kid, typ: 'at+jwt' }).sign(rsa.privateKey);
    expect(await codeOf(verifyAccessToken(rsaKeys, ps, A))).toBe('TOKEN_INVALID');
    const hs = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid, typ: 'at+jwt' })
      .sign(new TextEncoder().encode(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()));
    expect(await codeOf(verifyAccessToken(rsaKeys, hs, A))).toBe('TOKEN_INVALID');
  });

  it('claimedTenantId reads the claim without trusting it, and never throws', () => {
    expect(claimedTenantId('garbage')).toBeUndefined();
    expect(claimedTenantId('')).toBeUndefined();
    expect(claimedTenantId(`${base64url.encode('{}')}.${base64url.encode(JSON.stringify({ tenant_id: 42 }))}.x`)).toBeUndefined();
    expect(claimedTenantId(`${base64url.encode('{}')}.${base64url.encode(JSON.stringify({ tenant_id: A.id }))}.x`)).toBe(A.id);
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = claimedTenantId(s);
        expect(r === undefined || typeof r === 'string').toBe(true);
      }),
    );
  });

  it('property: every single-character mutation of a token is refused or decodes to the very same token', async () => {
    const { token } = await issueAccessToken(keys, input());
    const [h, p, s] = token.split('.') as [string, string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/';
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: token.length - 1 }), fc.constantFrom(...alphabet), async (i, ch) => {
        fc.pre(token[i] !== ch);
        const mutated = token.slice(0, i) + ch + token.slice(i + 1);
        const code = await codeOf(verifyAccessToken(keys, mutated, A));
        if (code === 'ACCEPTED') {
          // Only possible through the unused low bits of the signature's last base64url character.
          const [mh, mp, ms] = mutated.split('.');
          expect(mh).toBe(h);
          expect(mp).toBe(p);
          expect(Buffer.from(base64url.decode(ms!)).equals(Buffer.from(base64url.decode(s)))).toBe(true);
        } else {
          expect(['TOKEN_INVALID', 'TOKEN_EXPIRED']).toContain(code);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('property: arbitrary claims signed with a key outside the ring never verify', async () => {
    const outsider = newKey('ES256', keyA.kid); // even reusing the real kid
    await fc.assert(
      fc.asyncProperty(
        fc.record({ role: fc.constantFrom('admin', 'user'), exp: fc.integer({ min: now() + 60, max: now() + 10 ** 6 }), sub: fc.uuid() }),
        async (over) => {
          const { claims } = await issueAccessToken(keys, input());
          const forged = await new SignJWT({ ...claims, ...over })
            .setProtectedHeader({ alg: 'ES256', kid: outsider.kid, typ: 'at+jwt' })
            .sign(outsider.privateKey);
          expect(await codeOf(verifyAccessToken(keys, forged, A))).toBe('TOKEN_INVALID');
        },
      ),
      { numRuns: 50 },
    );
  });
});

import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { base64url, exportJWK, type JWTHeaderParameters } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsOf, errorCode, getMe, signIn, type SignedIn } from '../../helpers/auth-flows.ts';
import { assemble, nowSeconds, signAsTenant, signJwt, splitJwt, tenantSigningKey, withHeader, withPayload } from '../../helpers/jwt-forge.ts';
import { backendName, bearer, buildTestApp, createTenant, register, type TestApp } from '../../helpers/test-app.ts';

/**
 * Every forged, altered or misdirected access token presented to an authenticated endpoint
 * (GET /t/{slug}/api/v1/me) must get 401. Each forgery is paired with a control signed by the same machinery
 * that must be accepted, so the 401 is the defence working and not a broken forgery.
 */
describe(`JWT attacks on /me (${backendName})`, () => {
  let t: TestApp;
  let acme: Awaited<ReturnType<typeof createTenant>>;
  let globex: Awaited<ReturnType<typeof createTenant>>;
  let initech: Awaited<ReturnType<typeof createTenant>>; // RS256 tenant: the classic RS256 -> HS256 confusion target
  let alice: SignedIn;
  let carol: SignedIn;
  let acmeAdminId: string;

  beforeAll(async () => {
    t = await buildTestApp();
    acme = await createTenant(t, 'acme');
    globex = await createTenant(t, 'globex');
    initech = await createTenant(t, 'initech', { settings: { signing_alg: 'RS256' } });
    expect((await register(t, 'acme', 'alice@example.com')).statusCode).toBe(201);
    expect((await register(t, 'initech', 'carol@example.com')).statusCode).toBe(201);
    alice = await signIn(t, 'acme', 'alice@example.com');
    carol = await signIn(t, 'initech', 'carol@example.com');
    acmeAdminId = (await signIn(t, 'acme', acme.adminEmail)).sub;
  });
  afterAll(() => t.close());

  const me = (token: string, slug = 'acme') => getMe(t, slug, token);
  async function expect401(token: string, code: string | string[] = 'TOKEN_INVALID', slug = 'acme') {
    const res = await me(token, slug);
    expect(res.statusCode, `${res.statusCode} ${res.body}`).toBe(401);
    expect(Array.isArray(code) ? code : [code]).toContain(errorCode(res));
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.body).not.toContain('alice@example.com');
  }
  /** Alice's real claims, freshly timed: re-signed with acme's real key they must be accepted. */
  const aliceClaims = (over: Record<string, unknown> = {}) => {
    const now = nowSeconds();
    return { ...alice.claims, iat: now, nbf: now, exp: now + 600, ...over } as Record<string, unknown>;
  };

  it('control: a token re-signed with the tenant key and real claims is accepted', async () => {
    expect((await me(alice.access)).statusCode).toBe(200);
    const forged = await signAsTenant(t, acme.id, aliceClaims());
    const res = await me(forged);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().email).toBe('alice@example.com');
    const rsa = await signAsTenant(t, initech.id, { ...carol.claims, iat: nowSeconds(), exp: nowSeconds() + 600 });
    expect((await me(rsa, 'initech')).statusCode).toBe(200);
  });

  describe('alg "none"', () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      it(`rejects alg=${alg} with an empty signature`, async () => {
        const kid = (await tenantSigningKey(t, acme.id)).kid;
        await expect401(assemble({ alg, typ: 'at+jwt', kid }, aliceClaims()));
        await expect401(assemble({ alg, typ: 'at+jwt' }, aliceClaims()));
      });
    }
    it('rejects alg=none carrying the original (valid) signature', async () => {
      const { signature } = splitJwt(alice.access);
      const kid = (await tenantSigningKey(t, acme.id)).kid;
      await expect401(assemble({ alg: 'none', typ: 'at+jwt', kid }, alice.claims as never, signature));
    });
  });

  describe('HS256 signed with the public key as the HMAC secret (algorithm confusion)', () => {
    const cases = [
      { name: 'ES256 tenant', tenant: () => acme, slug: 'acme', claims: () => aliceClaims() },
      {
        name: 'RS256 tenant',
        tenant: () => initech,
        slug: 'initech',
        claims: () => ({ ...carol.claims, iat: nowSeconds(), nbf: nowSeconds(), exp: nowSeconds() + 600 }),
      },
    ];
    for (const c of cases) {
      it(`${c.name}: PEM (SPKI) and JWK JSON forms, with and without kid`, async () => {
        const k = await tenantSigningKey(t, c.tenant().id);
        const jwks = (await t.app.inject({ method: 'GET', url: `/t/${c.slug}/.well-known/jwks.json` })).json().keys as Record<string, unknown>[];
        const published = jwks.find((j) => j.kid === k.kid)!;
        expect(published).toBeDefined();
        const secrets = [
          k.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          k.publicKey.export({ type: 'spki', format: 'pem' }).toString().trim(),
          JSON.stringify(published),
          JSON.stringify(await exportJWK(k.publicKey)),
          k.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        ];
        for (const secret of secrets) {
          for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
            const key = new TextEncoder().encode(secret);
            await expect401(await signJwt(key, { alg, typ: 'at+jwt', kid: k.kid }, c.claims() as never), 'TOKEN_INVALID', c.slug);
            await expect401(await signJwt(key, { alg, typ: 'at+jwt' }, c.claims() as never), 'TOKEN_INVALID', c.slug);
          }
        }
        // The DER bytes themselves as the secret.
        const der = new Uint8Array(k.publicKey.export({ type: 'spki', format: 'der' }));
        await expect401(await signJwt(der, { alg: 'HS256', typ: 'at+jwt', kid: k.kid }, c.claims() as never), 'TOKEN_INVALID', c.slug);
      });
    }
  });

  describe('tampered tokens (signature kept)', () => {
    it('payload role/permissions raised to admin', async () => {
      const forged = withPayload(alice.access, { ...alice.claims, role: 'admin', permissions: ['users:read', 'users:manage', 'audit:read'] });
      await expect401(forged);
      const audit = await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/admin/audit', headers: bearer(forged) });
      expect(audit.statusCode).toBe(401);
    });
    it('payload sub switched to another user (the admin)', async () => {
      await expect401(withPayload(alice.access, { ...alice.claims, sub: acmeAdminId }));
    });
    it('payload exp extended', async () => {
      await expect401(withPayload(alice.access, { ...alice.claims, exp: alice.claims.exp + 86_400 }));
    });
    it('payload tenant_id switched (presented at the other tenant too)', async () => {
      const forged = withPayload(alice.access, { ...alice.claims, tenant_id: globex.id, tenant: 'globex', iss: globex.issuer, aud: globex.issuer });
      await expect401(forged);
      await expect401(forged, 'TOKEN_INVALID', 'globex');
    });
    it('header altered (typ dropped / alg switched), payload and signature kept', async () => {
      const { header } = splitJwt(alice.access);
      await expect401(withHeader(alice.access, { ...header, typ: undefined }));
      await expect401(withHeader(alice.access, { ...header, alg: 'RS256' }));
      await expect401(withHeader(alice.access, { ...header, alg: 'ES384' }));
    });
    it('signature stripped or replaced by another token\'s signature', async () => {
      const [h, p] = alice.access.split('.');
      await expect401(`${h}.${p}.`);
      await expect401(`${h}.${p}`);
      const other = await signAsTenant(t, acme.id, aliceClaims({ jti: crypto.randomUUID() }));
      await expect401(`${h}.${p}.${other.split('.')[2]}`);
    });
  });

  it('expired token signed with the real key → 401 TOKEN_EXPIRED', async () => {
    const now = nowSeconds();
    await expect401(await signAsTenant(t, acme.id, aliceClaims({ iat: now - 7200, nbf: now - 7200, exp: now - 3600 })), 'TOKEN_EXPIRED');
    // Just past the clock tolerance.
    await expect401(await signAsTenant(t, acme.id, aliceClaims({ iat: now - 120, nbf: now - 120, exp: now - 30 })), 'TOKEN_EXPIRED');
  });

  it('token not yet valid (nbf in the future) → 401', async () => {
    await expect401(await signAsTenant(t, acme.id, aliceClaims({ nbf: nowSeconds() + 3600 })));
  });

  describe('signed with another tenant\'s key while claiming this tenant', () => {
    it('with the other tenant\'s kid', async () => {
      const g = await tenantSigningKey(t, globex.id);
      await expect401(await signJwt(g.privateKey, { alg: g.alg, kid: g.kid, typ: 'at+jwt' }, aliceClaims() as never));
    });
    it('with this tenant\'s kid', async () => {
      const g = await tenantSigningKey(t, globex.id);
      const a = await tenantSigningKey(t, acme.id);
      await expect401(await signJwt(g.privateKey, { alg: g.alg, kid: a.kid, typ: 'at+jwt' }, aliceClaims() as never));
    });
    it('the RS256 tenant\'s key under the ES256 tenant\'s kid', async () => {
      const r = await tenantSigningKey(t, initech.id);
      const a = await tenantSigningKey(t, acme.id);
      await expect401(await signJwt(r.privateKey, { alg: 'RS256', kid: a.kid, typ: 'at+jwt' }, aliceClaims() as never));
    });
  });

  describe('key selection', () => {
    it('unknown kid (signed by an attacker key) → 401', async () => {
      const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      await expect401(await signJwt(attacker.privateKey, { alg: 'ES256', kid: 'attacker-kid', typ: 'at+jwt' }, aliceClaims() as never));
    });
    it('unknown kid, even when signed by the real key → 401', async () => {
      await expect401(await signAsTenant(t, acme.id, aliceClaims(), { kid: 'not-a-known-kid' }));
    });
    it('missing kid, even when signed by the real key → 401', async () => {
      await expect401(await signAsTenant(t, acme.id, aliceClaims(), { kid: undefined }));
    });
    it('attacker key embedded in the header (jwk / jku / x5u) is ignored → 401', async () => {
      const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = await exportJWK(attacker.publicKey);
      const a = await tenantSigningKey(t, acme.id);
      for (const header of [
        { alg: 'ES256', typ: 'at+jwt', jwk },
        { alg: 'ES256', typ: 'at+jwt', kid: a.kid, jwk },
        { alg: 'ES256', typ: 'at+jwt', kid: a.kid, jku: 'https://attacker.example/jwks.json' },
        { alg: 'ES256', typ: 'at+jwt', kid: a.kid, x5u: 'https://attacker.example/cert.pem' },
      ]) {
        await expect401(await signJwt(attacker.privateKey, header as JWTHeaderParameters, aliceClaims() as never));
      }
    });
  });

  describe('issuer and audience', () => {
    it('wrong issuer → 401', async () => {
      await expect401(await signAsTenant(t, acme.id, aliceClaims({ iss: globex.issuer })));
      await expect401(await signAsTenant(t, acme.id, aliceClaims({ iss: 'https://evil.example' })));
      await expect401(await signAsTenant(t, acme.id, aliceClaims({ iss: undefined })));
    });
    it('wrong audience → 401', async () => {
      await expect401(await signAsTenant(t, acme.id, aliceClaims({ aud: globex.issuer })));
      await expect401(await signAsTenant(t, acme.id, aliceClaims({ aud: 'https://api.other.example' })));
      await expect401(await signAsTenant(t, acme.id, aliceClaims({ aud: undefined })));
    });
  });

  it('wrong or missing typ → 401', async () => {
    for (const typ of ['JWT', 'jwt', 'id_token+jwt', 'application/jwt', 'logout+jwt']) {
      await expect401(await signAsTenant(t, acme.id, aliceClaims(), { typ }));
    }
    await expect401(await signAsTenant(t, acme.id, aliceClaims(), { typ: undefined }));
  });

  it('missing required claims → 401', async () => {
    for (const claim of ['sub', 'sid', 'jti', 'exp', 'iat']) {
      await expect401(await signAsTenant(t, acme.id, aliceClaims({ [claim]: undefined })));
    }
    // tenant_id missing: no tenant can be chosen to verify it.
    await expect401(await signAsTenant(t, acme.id, aliceClaims({ tenant_id: undefined })));
  });

  it('garbage and malformed tokens → 401', async () => {
    const [h, p] = alice.access.split('.');
    const garbage = [
      'garbage',
      'a.b.c',
      '...',
      'eyJhbGciOiJFUzI1NiJ9',
      `${h}.${p}`,
      `${h}.${p}.sig.extra`,
      `${base64url.encode('not json')}.${base64url.encode('also not json')}.AAAA`,
      `${base64url.encode('{"alg":"ES256"}')}.${base64url.encode('[]')}.AAAA`,
      `${base64url.encode('{"alg":"ES256"}')}.${base64url.encode('null')}.AAAA`,
      `${base64url.encode('{"alg":"ES256"}')}.${base64url.encode(JSON.stringify({ tenant_id: acme.id }))}.AAAA`,
      `${base64url.encode('{"alg":"ES256"}')}.${base64url.encode(JSON.stringify({ tenant_id: 'not-a-uuid' }))}.AAAA`,
      alice.access + '=',
      // Standard-base64 characters are not base64url. (A blanket '-' → '+' swap would be a no-op for a token
      // without '-', so the characters are placed explicitly.)
      `${h}.${p}.+${alice.access.split('.')[2]!.slice(1)}`,
      `${h}.${p}.${alice.access.split('.')[2]!.slice(0, -1)}/`,
      `${h!.slice(0, -1)}+.${p}.${alice.access.split('.')[2]}`,
      'x'.repeat(8000),
    ];
    for (const token of garbage) await expect401(token);
    for (const raw of ['Bearer', 'Bearer ', `bearer ${alice.access}`, `Basic ${alice.access}`, alice.access, `Bearer  ${alice.access}`, `Bearer ${alice.access} x`]) {
      const res = await getMe(t, 'acme', null, raw);
      expect(res.statusCode, raw).toBe(401);
      expect(['TOKEN_INVALID', 'UNAUTHENTICATED']).toContain(errorCode(res));
    }
    const none = await getMe(t, 'acme', null);
    expect(none.statusCode).toBe(401);
    expect(errorCode(none)).toBe('UNAUTHENTICATED');
  });

  it('property: any single-character mutation of a valid token is rejected', async () => {
    const token = alice.access;
    const original = splitJwt(token);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/~';
    // base64url leaves unused low bits in a segment's last character: a change there that decodes to the
    // same signature bytes is the same token, not a forgery. Anything else must be refused.
    const sameToken = (mutated: string) => {
      const [h, p, s] = mutated.split('.');
      const [oh, op, os] = token.split('.');
      if (h !== oh || p !== op || s === undefined || mutated.split('.').length !== 3) return false;
      try {
        return Buffer.compare(Buffer.from(base64url.decode(s)), Buffer.from(base64url.decode(os!))) === 0;
      } catch {
        return false;
      }
    };
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: token.length - 1 }), fc.constantFrom(...alphabet), async (i, ch) => {
        fc.pre(token[i] !== ch);
        const mutated = token.slice(0, i) + ch + token.slice(i + 1);
        const res = await me(mutated);
        if (res.statusCode === 200) {
          expect(sameToken(mutated), `accepted mutation at ${i}: ${mutated}`).toBe(true);
          expect(res.json().id).toBe(original.payload.sub);
        } else {
          expect(res.statusCode, res.body).toBe(401);
        }
      }),
      { numRuns: 150 },
    );
    // And a forged payload is never accepted, whatever fields it carries.
    await fc.assert(
      fc.asyncProperty(
        fc.record({ role: fc.constantFrom('admin', 'manager', 'user', 'viewer'), exp: fc.integer({ min: 0, max: 2 ** 31 }), sub: fc.uuid() }, { requiredKeys: [] }),
        async (patch) => {
          const res = await me(withPayload(token, { ...original.payload, ...patch }));
          if (JSON.stringify({ ...original.payload, ...patch }) === JSON.stringify(original.payload)) return;
          expect(res.statusCode).toBe(401);
        },
      ),
      { numRuns: 40 },
    );
    expect(claimsOf(token).sub).toBe(alice.sub);
  });
});

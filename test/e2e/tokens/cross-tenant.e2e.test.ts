import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, getMe, patchTenant, signIn, type SignedIn } from '../../helpers/auth-flows.ts';
import { nowSeconds, signAsTenant, withPayload } from '../../helpers/jwt-forge.ts';
import { backendName, bearer, buildTestApp, createTenant, register, type TestApp } from '../../helpers/test-app.ts';

/** A token is bound to the tenant that issued it: presented under another tenant's path it never authenticates. */
describe(`cross-tenant token use (${backendName})`, () => {
  let t: TestApp;
  let acme: Awaited<ReturnType<typeof createTenant>>;
  let globex: Awaited<ReturnType<typeof createTenant>>;
  let alice: SignedIn; // acme user
  let acmeAdmin: SignedIn;

  beforeAll(async () => {
    t = await buildTestApp();
    acme = await createTenant(t, 'acme');
    globex = await createTenant(t, 'globex');
    expect((await register(t, 'acme', 'alice@example.com')).statusCode).toBe(201);
    // The same email exists in globex: a token must not slide over to that account.
    expect((await register(t, 'globex', 'alice@example.com')).statusCode).toBe(201);
    alice = await signIn(t, 'acme', 'alice@example.com');
    acmeAdmin = await signIn(t, 'acme', acme.adminEmail);
  });
  afterAll(() => t.close());

  it("a valid token of tenant A at tenant B's path → 403 TENANT_MISMATCH", async () => {
    expect((await getMe(t, 'acme', alice.access)).statusCode).toBe(200);
    const res = await getMe(t, 'globex', alice.access);
    expect(res.statusCode, res.body).toBe(403);
    expect(errorCode(res)).toBe('TENANT_MISMATCH');
    expect(res.body).not.toContain('alice@example.com');
  });

  it("an admin token of A on B's admin routes → 403 TENANT_MISMATCH", async () => {
    for (const url of ['/t/globex/api/v1/admin/users', '/t/globex/api/v1/admin/audit']) {
      const res = await t.app.inject({ method: 'GET', url, headers: bearer(acmeAdmin.access) });
      expect(res.statusCode, url).toBe(403);
      expect(errorCode(res)).toBe('TENANT_MISMATCH');
    }
    const patch = await t.app.inject({ method: 'PATCH', url: '/t/globex/api/v1/me', headers: bearer(alice.access), payload: { name: 'Mallory' } });
    expect(patch.statusCode).toBe(403);
    expect(errorCode(patch)).toBe('TENANT_MISMATCH');
  });

  it('a token of A that is invalid (tampered, expired, forged) presented at B → 401, not 403', async () => {
    const tampered = withPayload(alice.access, { ...alice.claims, role: 'admin' });
    const expired = await signAsTenant(t, acme.id, { ...alice.claims, iat: nowSeconds() - 7200, nbf: nowSeconds() - 7200, exp: nowSeconds() - 3600 });
    const retargeted = withPayload(alice.access, { ...alice.claims, tenant_id: globex.id, tenant: 'globex', iss: globex.issuer, aud: globex.issuer });
    for (const [token, codes] of [
      [tampered, ['TOKEN_INVALID']],
      [expired, ['TOKEN_EXPIRED']],
      [retargeted, ['TOKEN_INVALID']],
      ['garbage', ['TOKEN_INVALID']],
    ] as const) {
      const res = await getMe(t, 'globex', token);
      expect(res.statusCode, res.body).toBe(401);
      expect(codes).toContain(errorCode(res));
    }
  });

  it("A's key signing a token that claims B (B's issuer, B's tenant_id) → 401 at B", async () => {
    const forged = await signAsTenant(t, acme.id, {
      ...alice.claims,
      tenant_id: globex.id,
      tenant: 'globex',
      iss: globex.issuer,
      aud: globex.issuer,
      iat: nowSeconds(),
      exp: nowSeconds() + 600,
    });
    const res = await getMe(t, 'globex', forged);
    expect(res.statusCode).toBe(401);
    expect(errorCode(res)).toBe('TOKEN_INVALID');
  });

  it('a token naming an unknown tenant path → 404, and a token of a suspended tenant → 403', async () => {
    const res = await getMe(t, 'no-such-tenant', alice.access);
    expect(res.statusCode).toBe(404);
    expect(errorCode(res)).toBe('TENANT_NOT_FOUND');

    await createTenant(t, 'umbrella');
    expect((await register(t, 'umbrella', 'u@example.com')).statusCode).toBe(201);
    const u = await signIn(t, 'umbrella', 'u@example.com');
    await patchTenant(t, 'umbrella', { status: 'suspended' });
    const suspended = await getMe(t, 'umbrella', u.access);
    expect(suspended.statusCode).toBe(403);
    expect(errorCode(suspended)).toBe('TENANT_SUSPENDED');
  });

  it('refresh tokens are tenant-bound too: A\'s refresh token at B → 401 REFRESH_TOKEN_INVALID, and it still works at A', async () => {
    const s = await signIn(t, 'acme', 'alice@example.com');
    const atB = await t.app.inject({ method: 'POST', url: '/t/globex/api/v1/auth/refresh', payload: { refresh_token: s.refresh } });
    expect(atB.statusCode).toBe(401);
    expect(errorCode(atB)).toBe('REFRESH_TOKEN_INVALID');
    const atA = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/refresh', payload: { refresh_token: s.refresh } });
    expect(atA.statusCode, atA.body).toBe(200);
  });
});

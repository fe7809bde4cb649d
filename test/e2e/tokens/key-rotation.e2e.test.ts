import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, errorCode, kidOf, meOutcome, refreshOk, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { nowSeconds, signAsTenant } from '../../helpers/jwt-forge.ts';
import { backendName, bearer, buildTestApp, createTenant, type TestApp } from '../../helpers/test-app.ts';

/**
 * Signing key rotation: new tokens use the new key at once, tokens signed before keep verifying until they
 * expire (the retired key stays published and trusted for that long), then the retired key is gone.
 */
describe(`signing key rotation (${backendName})`, () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  const jwks = async (slug: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/t/${slug}/.well-known/jwks.json` });
    expect(res.statusCode).toBe(200);
    return res.json().keys as Record<string, unknown>[];
  };
  const rotate = (slug: string, token = t.platformToken) =>
    t.app.inject({ method: 'POST', url: `/api/v1/platform/tenants/${slug}/keys/rotate`, headers: bearer(token) });

  it('rotation: old tokens still verify, JWKS lists both keys, new tokens use the new kid', async () => {
    const tenant = await createTenant(t, 'acme');
    await createUser(t, 'acme', 'alice@example.com');
    const before = await signIn(t, 'acme', 'alice@example.com');
    const oldKid = kidOf(before.access)!;
    expect((await jwks('acme')).map((k) => k.kid)).toEqual([oldKid]);

    const res = await rotate('acme');
    expect(res.statusCode, res.body).toBe(200);
    const { kid: newKid, retired } = res.json() as { kid: string; retired: string[] };
    expect(newKid).not.toBe(oldKid);
    expect(retired).toEqual([oldKid]);

    // The pre-rotation token still works, and so does its session's refresh.
    expect(await meOutcome(t, 'acme', before.access)).toEqual({ status: 200, code: undefined });

    const published = await jwks('acme');
    expect(published.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    expect(published[0]!.kid).toBe(newKid); // newest first
    for (const k of published) {
      expect(k).toMatchObject({ use: 'sig', alg: 'ES256', kty: 'EC' });
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(k).not.toHaveProperty(secret);
    }

    const after = await signIn(t, 'acme', 'alice@example.com');
    expect(kidOf(after.access)).toBe(newKid);
    expect(await meOutcome(t, 'acme', after.access)).toEqual({ status: 200, code: undefined });
    const refreshed = await refreshOk(t, 'acme', before.refresh);
    expect(kidOf(refreshed.access)).toBe(newKid);

    // A forged token claiming the retired kid but signed with the *new* key does not verify.
    const crossed = await signAsTenant(t, tenant.id, { ...after.claims }, { kid: oldKid });
    expect((await meOutcome(t, 'acme', crossed)).status).toBe(401);

    // The retired key's expiry covers the longest live access token (TTL + skew).
    const [row] = await tenantQuery<{ status: string; secs: number }>(
      t,
      tenant.id,
      `SELECT status, extract(epoch FROM expires_at - now())::float8 AS secs FROM signing_keys WHERE kid = $1`,
      [oldKid],
    );
    expect(row!.status).toBe('retired');
    expect(row!.secs).toBeGreaterThanOrEqual(before.claims.exp - nowSeconds());
  });

  it('retired keys leave the JWKS after expiry, and tokens signed with them stop verifying', async () => {
    const tenant = await createTenant(t, 'globex');
    await createUser(t, 'globex', 'bob@example.com');
    const before = await signIn(t, 'globex', 'bob@example.com');
    const oldKid = kidOf(before.access)!;
    const { kid: newKid } = (await rotate('globex')).json() as { kid: string };

    await tenantQuery(t, tenant.id, `UPDATE signing_keys SET expires_at = now() - interval '1 second' WHERE kid = $1`, [oldKid]);
    t.gh.keys.invalidate(tenant.id);

    expect((await jwks('globex')).map((k) => k.kid)).toEqual([newKid]);
    const res = await meOutcome(t, 'globex', before.access);
    expect(res.status).toBe(401);
    expect(res.code).toBe('TOKEN_INVALID');
    // Fresh tokens are unaffected.
    const fresh = await signIn(t, 'globex', 'bob@example.com');
    expect(await meOutcome(t, 'globex', fresh.access)).toEqual({ status: 200, code: undefined });
  });

  it('several rotations: every unexpired retired key is published, only one key signs', async () => {
    const tenant = await createTenant(t, 'initech');
    await createUser(t, 'initech', 'carol@example.com');
    const tokens = [await signIn(t, 'initech', 'carol@example.com')];
    for (let i = 0; i < 3; i++) {
      expect((await rotate('initech')).statusCode).toBe(200);
      tokens.push(await signIn(t, 'initech', 'carol@example.com'));
    }
    const kids = tokens.map((x) => kidOf(x.access));
    expect(new Set(kids).size).toBe(4);
    expect((await jwks('initech')).map((k) => k.kid).sort()).toEqual([...kids].sort());
    const active = await tenantQuery(t, tenant.id, `SELECT kid FROM signing_keys WHERE status = 'active'`);
    expect(active).toEqual([{ kid: kids[3] }]);
    // Cap at 5 sessions: all four logins are live; every token verifies.
    for (const x of tokens) expect(await meOutcome(t, 'initech', x.access)).toEqual({ status: 200, code: undefined });
  });

  it('rotation follows the tenant algorithm (RS256)', async () => {
    await createTenant(t, 'umbrella', { settings: { signing_alg: 'RS256' } });
    await createUser(t, 'umbrella', 'dave@example.com');
    const res = await rotate('umbrella');
    expect(res.json()).toMatchObject({ alg: 'RS256' });
    const s = await signIn(t, 'umbrella', 'dave@example.com');
    expect(kidOf(s.access)).toBe(res.json().kid);
    expect((await jwks('umbrella')).every((k) => k.kty === 'RSA' && k.alg === 'RS256' && !('d' in k))).toBe(true);
    expect(await meOutcome(t, 'umbrella', s.access)).toEqual({ status: 200, code: undefined });
  });

  it('only a platform credential may rotate (a tenant admin token cannot)', async () => {
    const tenant = await createTenant(t, 'hooli');
    const admin = await signIn(t, 'hooli', tenant.adminEmail);
    const res = await rotate('hooli', admin.access);
    expect(res.statusCode).toBe(401);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    expect((await jwks('hooli'))).toHaveLength(1);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

describe(`tenant creation rules, limits and registration (${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  const createRaw = (payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/api/v1/platform/tenants', headers: bearer(t.platformToken), payload });

  const tenantRowCount = async (slug: string) =>
    (await t.gh.db.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants WHERE slug = $1', [slug])).rows[0]!.n;

  describe('slug validation', () => {
    const invalid: [string, string][] = [
      ['ab', 'too short'],
      ['a', 'one character'],
      ['Acme', 'uppercase'],
      ['ACME', 'all uppercase'],
      ['ac_me', 'underscore'],
      ['ac.me', 'dot'],
      ['ac me', 'space'],
      ['-acme', 'leading hyphen'],
      ['acme-', 'trailing hyphen'],
      ['ac--me', 'double hyphen'],
      ['acmé', 'non-ASCII'],
    ];
    for (const [slug, why] of invalid) {
      it(`refuses "${slug}" (${why}) with 400 TENANT_SLUG_INVALID`, async () => {
        expectError(await createRaw({ slug, name: 'X' }), 400, 'TENANT_SLUG_INVALID');
        expect(await tenantRowCount(slug)).toBe(0);
      });
    }

    it('refuses an empty or over-long slug with a 400 (schema or slug rule)', async () => {
      for (const slug of ['', 'a'.repeat(64)]) {
        const r = await createRaw({ slug, name: 'X' });
        expect(r.statusCode, r.body).toBe(400);
        expect(['VALIDATION_ERROR', 'TENANT_SLUG_INVALID']).toContain(r.json().error.code);
      }
    });

    for (const slug of ['api', 'www', 'admin', 'app', 'docs', 'platform', 'health', 'well-known']) {
      it(`refuses the reserved name "${slug}"`, async () => {
        const err = expectError(await createRaw({ slug, name: 'X' }), 400, 'TENANT_SLUG_INVALID');
        expect(err.message).toMatch(/reserved/);
      });
    }

    it('accepts the shortest and the longest valid slugs', async () => {
      for (const slug of ['a1b', 'a' + '-b'.repeat(30) + 'c']) {
        expect(slug.length === 3 || slug.length === 62).toBe(true);
        const r = await createRaw({ slug, name: 'Edge' });
        expect(r.statusCode, r.body).toBe(201);
      }
      const longest = 'z'.repeat(63);
      expect((await createRaw({ slug: longest, name: 'Longest' })).statusCode).toBe(201);
    });

    it('refuses a duplicate slug with 409 TENANT_SLUG_TAKEN and leaves the first tenant alone', async () => {
      const first = await createTenant(t, 'dupe-co');
      const again = await createRaw({ slug: 'dupe-co', name: 'Impostor', admin: { email: 'evil@dupe.test', password: STRONG_PASSWORD } });
      expectError(again, 409, 'TENANT_SLUG_TAKEN');
      const got = await t.app.inject({ method: 'GET', url: '/api/v1/platform/tenants/dupe-co', headers: bearer(t.platformToken) });
      expect(got.json()).toMatchObject({ id: first.id, name: 'DUPE-CO' });
      // The impostor's admin was not created in the existing tenant.
      expectError(await login(t, 'dupe-co', 'evil@dupe.test'), 401, 'INVALID_CREDENTIALS');
    });
  });

  it('a slug looked up before its tenant existed resolves as soon as the tenant is created', async () => {
    expectError(await login(t, 'late-co', 'admin@late-co.test'), 404, 'TENANT_NOT_FOUND');
    expectError(await t.app.inject({ method: 'GET', url: '/t/late-co/.well-known/jwks.json' }), 404, 'TENANT_NOT_FOUND');
    await createTenant(t, 'late-co');
    expect((await login(t, 'late-co', 'admin@late-co.test')).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/t/late-co/.well-known/jwks.json' })).statusCode).toBe(200);
  });

  describe('creating a tenant with its admin is atomic', () => {
    it('an admin password that is too short creates nothing, and the slug stays free', async () => {
      const r = await createRaw({ slug: 'atomic-co', name: 'Atomic', admin: { email: 'boss@atomic.test', password: 'short' } });
      expectError(r, 400, 'PASSWORD_POLICY');
      expect(await tenantRowCount('atomic-co')).toBe(0);
      expectError(
        await t.app.inject({ method: 'GET', url: '/api/v1/platform/tenants/atomic-co', headers: bearer(t.platformToken) }),
        404,
        'TENANT_NOT_FOUND',
      );
      // Nothing for the slug anywhere: no keys, users or audit events without a tenant to hold them.
      const orphans = await t.gh.db.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM users WHERE email = 'boss@atomic.test')::int AS n`,
      );
      expect(orphans.rows[0]!.n).toBe(0);

      const ok = await createRaw({ slug: 'atomic-co', name: 'Atomic', admin: { email: 'boss@atomic.test', password: STRONG_PASSWORD } });
      expect(ok.statusCode, ok.body).toBe(201);
      expect(ok.json().admin).toMatchObject({ email: 'boss@atomic.test', role: 'admin', email_verified: true });
      expect((await login(t, 'atomic-co', 'boss@atomic.test')).statusCode).toBe(200);
    });

    it('an invalid admin (bad email) is refused before anything is written', async () => {
      const r = await createRaw({ slug: 'atomic-two', name: 'Atomic', admin: { email: 'not-an-email', password: STRONG_PASSWORD } });
      expect(r.statusCode).toBe(400);
      expect(r.json().error.code).toBe('VALIDATION_ERROR');
      expect(await tenantRowCount('atomic-two')).toBe(0);
    });
  });

  describe('user limit', () => {
    it('refuses registration beyond limits.max_users with 403 USER_LIMIT_EXCEEDED (the admin counts)', async () => {
      await createTenant(t, 'small-co', { limits: { max_users: 2 } });
      expect((await register(t, 'small-co', 'one@small.test')).statusCode).toBe(201);
      expectError(await register(t, 'small-co', 'two@small.test'), 403, 'USER_LIMIT_EXCEEDED');

      // Every other way of adding a user obeys the same limit.
      const adminToken = (await login(t, 'small-co', 'admin@small-co.test')).json().access_token;
      expectError(
        await t.app.inject({ method: 'POST', url: '/t/small-co/api/v1/admin/users', headers: bearer(adminToken), payload: { email: 'three@small.test' } }),
        403,
        'USER_LIMIT_EXCEEDED',
      );
      expectError(
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/platform/tenants/small-co/users',
          headers: bearer(t.platformToken),
          payload: { email: 'four@small.test' },
        }),
        403,
        'USER_LIMIT_EXCEEDED',
      );
      expectError(await login(t, 'small-co', 'two@small.test'), 401, 'INVALID_CREDENTIALS');

      // Raising the limit opens registration again.
      const patch = await t.app.inject({
        method: 'PATCH',
        url: '/api/v1/platform/tenants/small-co',
        headers: bearer(t.platformToken),
        payload: { limits: { max_users: 3 } },
      });
      expect(patch.statusCode, patch.body).toBe(200);
      expect(patch.json().limits.max_users).toBe(3);
      expect((await register(t, 'small-co', 'two@small.test')).statusCode).toBe(201);
      expectError(await register(t, 'small-co', 'five@small.test'), 403, 'USER_LIMIT_EXCEEDED');
    });

    it('concurrent registrations cannot overshoot the limit', async () => {
      await createTenant(t, 'race-co', { limits: { max_users: 3 } });
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => register(t, 'race-co', `racer${i}@race.test`)));
      const codes = results.map((r) => r.statusCode).sort();
      expect(codes.filter((c) => c === 201)).toHaveLength(2);
      for (const r of results.filter((x) => x.statusCode !== 201)) expectError(r, 403, 'USER_LIMIT_EXCEEDED');
      const tenant = (await t.app.inject({ method: 'GET', url: '/api/v1/platform/tenants/race-co', headers: bearer(t.platformToken) })).json();
      const n = await t.gh.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE tenant_id = $1', [tenant.id]);
      expect(n.rows[0]!.n).toBe(3);
    });

    it('a plan without a limit override uses the plan’s limit', async () => {
      const r = await createRaw({ slug: 'plan-co', name: 'Plan', plan: 'enterprise' });
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json().limits).toEqual({ max_users: null });
      const basic = await createRaw({ slug: 'plan-basic', name: 'Plan' });
      expect(basic.json().limits.max_users).toBeGreaterThan(0);
    });
  });

  describe('registration setting', () => {
    it('closed → 403 REGISTRATION_CLOSED; invite_only too; an admin can still add users', async () => {
      await createTenant(t, 'closed-co', { settings: { registration: 'closed' } });
      expectError(await register(t, 'closed-co', 'walkin@closed.test'), 403, 'REGISTRATION_CLOSED');
      await createTenant(t, 'invite-co', { settings: { registration: 'invite_only' } });
      expectError(await register(t, 'invite-co', 'walkin@invite.test'), 403, 'REGISTRATION_CLOSED');

      const adminToken = (await login(t, 'closed-co', 'admin@closed-co.test')).json().access_token;
      const created = await t.app.inject({
        method: 'POST',
        url: '/t/closed-co/api/v1/admin/users',
        headers: bearer(adminToken),
        payload: { email: 'invited@closed.test', password: STRONG_PASSWORD },
      });
      expect(created.statusCode, created.body).toBe(201);
      expect((await login(t, 'closed-co', 'invited@closed.test')).statusCode).toBe(200);

      // Opening it takes effect at once.
      const patch = await t.app.inject({
        method: 'PATCH',
        url: '/api/v1/platform/tenants/closed-co',
        headers: bearer(t.platformToken),
        payload: { settings: { registration: 'open' } },
      });
      expect(patch.statusCode, patch.body).toBe(200);
      expect((await register(t, 'closed-co', 'walkin@closed.test')).statusCode).toBe(201);
    });
  });
});

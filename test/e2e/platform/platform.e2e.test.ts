import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

const P = '/api/v1/platform';

describe(`platform API (${backendName})`, () => {
  let t: TestApp;
  const auth = () => bearer(t.platformToken);

  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  describe('authentication', () => {
    const calls = (headers: Record<string, string>) => [
      t.app.inject({ method: 'GET', url: `${P}/tenants`, headers }),
      t.app.inject({ method: 'POST', url: `${P}/tenants`, headers, payload: { slug: 'sneaky', name: 'S' } }),
      t.app.inject({ method: 'GET', url: `${P}/tenants/sneaky`, headers }),
      t.app.inject({ method: 'PATCH', url: `${P}/tenants/sneaky`, headers, payload: { name: 'x' } }),
      t.app.inject({ method: 'POST', url: `${P}/tenants/sneaky/users`, headers, payload: { email: 'a@b.co' } }),
      t.app.inject({ method: 'POST', url: `${P}/tenants/sneaky/keys/rotate`, headers }),
      t.app.inject({ method: 'POST', url: `${P}/credentials`, headers, payload: { name: 'x' } }),
      t.app.inject({ method: 'DELETE', url: `${P}/credentials/00000000-0000-4000-8000-000000000000`, headers }),
    ];

    it('every route needs a platform credential: 401 without one, with a wrong one, or a malformed header', async () => {
      for (const headers of [
        {},
        bearer('ghp_' + 'A'.repeat(43)),
        bearer('not-a-platform-credential'),
        { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
        { authorization: `bearer ${t.platformToken}x` },
        bearer('ghp_' + 'x'.repeat(200)),
      ]) {
        for (const r of await Promise.all(calls(headers))) {
          expectError(r, 401, 'UNAUTHENTICATED');
          expect(r.headers['www-authenticate']).toBeDefined();
        }
      }
      expect((await t.app.inject({ method: 'GET', url: `${P}/tenants/sneaky`, headers: auth() })).statusCode).toBe(404);
    });

    it("a tenant user's access token is not a platform credential", async () => {
      await createTenant(t, 'token-co');
      const token = (await login(t, 'token-co', 'admin@token-co.test')).json().access_token;
      expectError(await t.app.inject({ method: 'GET', url: `${P}/tenants`, headers: bearer(token) }), 401, 'UNAUTHENTICATED');
    });

    it('creates a credential (shown once), which works until revoked', async () => {
      const created = await t.app.inject({ method: 'POST', url: `${P}/credentials`, headers: auth(), payload: { name: 'deploy bot' } });
      expect(created.statusCode, created.body).toBe(201);
      const { id, name, secret } = created.json();
      expect(name).toBe('deploy bot');
      expect(secret).toMatch(/^ghp_[A-Za-z0-9_-]{40,}$/);
      // Only its hash is stored.
      const stored = await t.gh.db.query<{ secret_hash: string }>('SELECT secret_hash FROM platform_credentials WHERE id = $1', [id]);
      expect(stored.rows[0]!.secret_hash).not.toContain(secret.slice(4));

      expect((await t.app.inject({ method: 'GET', url: `${P}/tenants`, headers: bearer(secret) })).statusCode).toBe(200);
      const used = await t.gh.db.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM platform_credentials WHERE id = $1', [id]);
      expect(used.rows[0]!.last_used_at).not.toBeNull();

      const revoke = await t.app.inject({ method: 'DELETE', url: `${P}/credentials/${id}`, headers: auth() });
      expect(revoke.statusCode).toBe(204);
      expectError(await t.app.inject({ method: 'GET', url: `${P}/tenants`, headers: bearer(secret) }), 401, 'UNAUTHENTICATED');
      // Revoking twice, or an unknown id, is 404.
      expectError(await t.app.inject({ method: 'DELETE', url: `${P}/credentials/${id}`, headers: auth() }), 404, 'NOT_FOUND');
      // A revoked credential can no longer revoke others, nor itself be used to mint new ones.
      expectError(await t.app.inject({ method: 'POST', url: `${P}/credentials`, headers: bearer(secret), payload: { name: 'x' } }), 401, 'UNAUTHENTICATED');
      // The test's own credential still works.
      expect((await t.app.inject({ method: 'GET', url: `${P}/tenants`, headers: auth() })).statusCode).toBe(200);
    });
  });

  describe('tenants', () => {
    it('creates a tenant with plan, limits, features, branding and settings, and its first admin', async () => {
      const r = await t.app.inject({
        method: 'POST',
        url: `${P}/tenants`,
        headers: auth(),
        payload: {
          slug: 'globex',
          name: 'Globex Corporation',
          plan: 'pro',
          limits: { max_users: 500 },
          features: { sso: true, mfa: false },
          branding: { primary_color: '#123456' },
          settings: { access_token_ttl: 600, registration: 'invite_only' },
          admin: { email: 'Hank@Globex.test', password: STRONG_PASSWORD, name: 'Hank Scorpio' },
        },
      });
      expect(r.statusCode, r.body).toBe(201);
      const body = r.json();
      expect(body).toMatchObject({
        slug: 'globex',
        name: 'Globex Corporation',
        plan: 'pro',
        status: 'active',
        issuer: 'http://gatehouse.test/t/globex',
        limits: { max_users: 500 },
        features: { sso: true, mfa: false },
        branding: { primary_color: '#123456' },
        admin: { email: 'hank@globex.test', role: 'admin', name: 'Hank Scorpio', email_verified: true },
      });
      // Settings come back merged over the defaults.
      expect(body.settings).toMatchObject({ access_token_ttl: 600, registration: 'invite_only', signing_alg: 'ES256', password_min_length: 8 });
      expect(body.admin.password_hash).toBeUndefined();

      const l = await login(t, 'globex', 'hank@globex.test');
      expect(l.statusCode, l.body).toBe(200);
      expect(l.json().expires_in).toBe(600);
      const jwks = await t.app.inject({ method: 'GET', url: '/t/globex/.well-known/jwks.json' });
      expect(jwks.json().keys).toHaveLength(1);
    });

    it('creates a tenant without an admin, and signs with RS256 when asked', async () => {
      const r = await t.app.inject({ method: 'POST', url: `${P}/tenants`, headers: auth(), payload: { slug: 'initech', name: 'Initech', settings: { signing_alg: 'RS256' } } });
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json().admin).toBeUndefined();
      expect(r.json().plan).toBe('basic');
      const jwks = await t.app.inject({ method: 'GET', url: '/t/initech/.well-known/jwks.json' });
      expect(jwks.json().keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256' });
    });

    it('gets a tenant by slug or by id; unknown → 404 TENANT_NOT_FOUND', async () => {
      const bySlug = await t.app.inject({ method: 'GET', url: `${P}/tenants/globex`, headers: auth() });
      expect(bySlug.statusCode).toBe(200);
      const byId = await t.app.inject({ method: 'GET', url: `${P}/tenants/${bySlug.json().id}`, headers: auth() });
      expect(byId.json()).toEqual(bySlug.json());
      expectError(await t.app.inject({ method: 'GET', url: `${P}/tenants/nope-co`, headers: auth() }), 404, 'TENANT_NOT_FOUND');
      expectError(
        await t.app.inject({ method: 'GET', url: `${P}/tenants/00000000-0000-4000-8000-000000000000`, headers: auth() }),
        404,
        'TENANT_NOT_FOUND',
      );
    });

    it('lists tenants by slug with cursor pagination and a status filter', async () => {
      for (const slug of ['list-a', 'list-b', 'list-c', 'list-d', 'list-e']) {
        expect((await t.app.inject({ method: 'POST', url: `${P}/tenants`, headers: auth(), payload: { slug, name: slug } })).statusCode).toBe(201);
      }
      const all = await t.app.inject({ method: 'GET', url: `${P}/tenants?limit=500`, headers: auth() });
      const slugs = (all.json().tenants as { slug: string }[]).map((x) => x.slug);
      expect(slugs).toEqual([...slugs].sort());
      expect(slugs).toEqual(expect.arrayContaining(['globex', 'initech', 'list-a', 'list-e']));

      const walked: string[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `${P}/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const page = (await t.app.inject({ method: 'GET', url, headers: auth() })).json() as { tenants: { slug: string }[]; next_cursor: string | null };
        expect(page.tenants.length).toBeLessThanOrEqual(2);
        walked.push(...page.tenants.map((x) => x.slug));
        cursor = page.next_cursor;
      } while (cursor);
      expect(walked).toEqual(slugs);

      await t.app.inject({ method: 'PATCH', url: `${P}/tenants/list-c`, headers: auth(), payload: { status: 'suspended' } });
      const suspended = await t.app.inject({ method: 'GET', url: `${P}/tenants?status=suspended`, headers: auth() });
      expect((suspended.json().tenants as { slug: string }[]).map((x) => x.slug)).toEqual(['list-c']);
    });

    it('updates name, plan and status, and merges limits, features, branding and settings key by key', async () => {
      const patch = (payload: Record<string, unknown>) => t.app.inject({ method: 'PATCH', url: `${P}/tenants/globex`, headers: auth(), payload });

      const a = await patch({ name: 'Globex Inc.', plan: 'enterprise' });
      expect(a.statusCode, a.body).toBe(200);
      expect(a.json()).toMatchObject({ name: 'Globex Inc.', plan: 'enterprise', limits: { max_users: 500 } });

      const b = await patch({ settings: { refresh_reuse_grace_seconds: 10 }, features: { mfa: true }, branding: { logo: 'https://x/logo.png' } });
      expect(b.statusCode, b.body).toBe(200);
      expect(b.json().settings).toMatchObject({ access_token_ttl: 600, registration: 'invite_only', refresh_reuse_grace_seconds: 10 });
      expect(b.json().features).toEqual({ sso: true, mfa: true });
      expect(b.json().branding).toEqual({ primary_color: '#123456', logo: 'https://x/logo.png' });

      const c = await patch({ limits: { max_users: null } });
      expect(c.json().limits).toEqual({ max_users: null });

      const d = await patch({ settings: { access_token_ttl: 1200 } });
      expect(d.json().settings).toMatchObject({ access_token_ttl: 1200, registration: 'invite_only', refresh_reuse_grace_seconds: 10 });
      // Takes effect at once for new tokens.
      expect((await login(t, 'globex', 'hank@globex.test')).json().expires_in).toBe(1200);

      // The stored settings stay sparse: only what was set.
      const row = await t.gh.db.query<{ settings: Record<string, unknown> }>(`SELECT settings FROM tenants WHERE slug = 'globex'`);
      expect(row.rows[0]!.settings).toEqual({ access_token_ttl: 1200, registration: 'invite_only', refresh_reuse_grace_seconds: 10 });

      expect(a.json().updated_at <= d.json().updated_at).toBe(true);
      expectError(await patch({}), 400, 'VALIDATION_ERROR');
      expectError(await patch({ slug: 'renamed' }), 400, 'VALIDATION_ERROR');
      expectError(await t.app.inject({ method: 'PATCH', url: `${P}/tenants/nope-co`, headers: auth(), payload: { name: 'x' } }), 404, 'TENANT_NOT_FOUND');
    });

    it('rejects settings outside their bounds', async () => {
      for (const settings of [
        { access_token_ttl: 10 },
        { access_token_ttl: 86_401 },
        { password_min_length: 4 },
        { registration: 'sometimes' },
        { signing_alg: 'HS256' },
        { max_sessions_per_user: 0 },
      ]) {
        expectError(await t.app.inject({ method: 'PATCH', url: `${P}/tenants/globex`, headers: auth(), payload: { settings } }), 400, 'VALIDATION_ERROR');
      }
    });

    it('status changes are audited in the tenant trail with the platform as actor', async () => {
      await t.app.inject({ method: 'PATCH', url: `${P}/tenants/globex`, headers: auth(), payload: { status: 'suspended' } });
      await t.app.inject({ method: 'PATCH', url: `${P}/tenants/globex`, headers: auth(), payload: { status: 'active' } });
      const token = (await login(t, 'globex', 'hank@globex.test')).json().access_token;
      const audit = await t.app.inject({ method: 'GET', url: '/t/globex/api/v1/admin/audit?action=tenant.*', headers: bearer(token) });
      const events = audit.json().events as { action: string; actor_type: string; risk: string; details: { changes?: { status?: string } } }[];
      const statusEvents = events.filter((e) => e.action === 'tenant.updated' && e.details.changes?.status);
      expect(statusEvents.map((e) => e.details.changes!.status)).toEqual(['active', 'suspended']);
      for (const e of statusEvents) expect(e).toMatchObject({ actor_type: 'platform', risk: 'medium' });
      expect(events.some((e) => e.action === 'tenant.created')).toBe(true);
    });
  });

  describe('tenant users and keys', () => {
    it('creates users in a tenant (any role, optionally verified), who can then sign in', async () => {
      const r = await t.app.inject({
        method: 'POST',
        url: `${P}/tenants/globex/users`,
        headers: auth(),
        payload: { email: 'Frank@Globex.test', password: STRONG_PASSWORD, name: 'Frank', role: 'manager', verified: true },
      });
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json()).toMatchObject({ email: 'frank@globex.test', role: 'manager', email_verified: true, name: 'Frank', status: 'active' });
      expect(r.json().password_hash).toBeUndefined();
      const l = await login(t, 'globex', 'frank@globex.test');
      expect(l.statusCode).toBe(200);
      expect(l.json().user.role).toBe('manager');

      const byId = await t.app.inject({
        method: 'POST',
        url: `${P}/tenants/${(await t.app.inject({ method: 'GET', url: `${P}/tenants/globex`, headers: auth() })).json().id}/users`,
        headers: auth(),
        payload: { email: 'nopass@globex.test' },
      });
      expect(byId.statusCode, byId.body).toBe(201);
      expect(byId.json()).toMatchObject({ role: 'user', email_verified: false });
      expectError(await login(t, 'globex', 'nopass@globex.test', 'any password at all'), 401, 'INVALID_CREDENTIALS');
    });

    it('refuses duplicates, weak passwords, bad roles and unknown tenants', async () => {
      const post = (tenant: string, payload: Record<string, unknown>) =>
        t.app.inject({ method: 'POST', url: `${P}/tenants/${tenant}/users`, headers: auth(), payload });
      expectError(await post('globex', { email: 'FRANK@globex.test' }), 409, 'EMAIL_TAKEN');
      expectError(await post('globex', { email: 'weak@globex.test', password: 'short' }), 400, 'PASSWORD_POLICY');
      expectError(await post('globex', { email: 'root@globex.test', role: 'owner' }), 400, 'VALIDATION_ERROR');
      expectError(await post('nope-co', { email: 'x@nope.test' }), 404, 'TENANT_NOT_FOUND');
    });

    it('rotates signing keys: the new key signs, old tokens still verify, both are published', async () => {
      const before = (await login(t, 'globex', 'hank@globex.test')).json().access_token as string;
      const r = await t.app.inject({ method: 'POST', url: `${P}/tenants/globex/keys/rotate`, headers: auth() });
      expect(r.statusCode, r.body).toBe(200);
      const { kid, retired, tenant, alg } = r.json();
      expect(tenant).toBe('globex');
      expect(alg).toBe('ES256');
      expect(retired).toHaveLength(1);
      const header = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[0]!, 'base64url').toString());
      expect(header(before).kid).toBe(retired[0]);

      const after = (await login(t, 'globex', 'hank@globex.test')).json().access_token as string;
      expect(header(after).kid).toBe(kid);
      for (const tok of [before, after]) {
        expect((await t.app.inject({ method: 'GET', url: '/t/globex/api/v1/me', headers: bearer(tok) })).statusCode).toBe(200);
      }
      const kids = ((await t.app.inject({ method: 'GET', url: '/t/globex/.well-known/jwks.json' })).json().keys as { kid: string }[]).map((k) => k.kid);
      expect(kids.sort()).toEqual([kid, retired[0]].sort());
      expectError(await t.app.inject({ method: 'POST', url: `${P}/tenants/nope-co/keys/rotate`, headers: auth() }), 404, 'TENANT_NOT_FOUND');
    });
  });
});

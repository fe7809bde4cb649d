import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPlatformTx, withTenantTx } from '../../../src/db/tenant-tx.ts';
import { createSealer } from '../../../src/keys/master-key.ts';
import { createRedisKv } from '../../../src/kv/redis-kv.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, TEST_PG, TEST_REDIS, type TestApp } from '../../helpers/test-app.ts';

describe(`health and readiness (${backendName})`, () => {
  describe('all storage up', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await buildTestApp();
      await createTenant(t, 'acme');
    });
    afterAll(() => t.close());

    it('/health answers ok', async () => {
      const r = await t.app.inject({ method: 'GET', url: '/health' });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ status: 'ok' });
    });

    it('/ready is healthy and names the storage in use', async () => {
      const r = await t.app.inject({ method: 'GET', url: '/ready' });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toEqual({
        status: 'healthy',
        checks: { database: 'ok', kv: 'ok', signing: 'ok' },
        storage: { database: TEST_PG ? 'postgres' : 'pglite', kv: TEST_REDIS ? 'redis' : 'memory' },
      });
    });
  });

  describe('key-value store down', () => {
    let t: TestApp;
    let userToken: string;
    beforeAll(async () => {
      // Nothing listens on port 1: every KV call fails at once.
      t = await buildTestApp({}, { kv: createRedisKv('redis://127.0.0.1:1') });
      await createTenant(t, 'acme');
      const reg = await register(t, 'acme', 'user@acme.test');
      expect(reg.statusCode, reg.body).toBe(201);
      userToken = reg.json().access_token;
    });
    afterAll(() => t.close());

    it("/ready is 'degraded' but still 200", async () => {
      const r = await t.app.inject({ method: 'GET', url: '/ready' });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ status: 'degraded', checks: { database: 'ok', kv: 'fail', signing: 'ok' }, storage: { kv: 'redis' } });
    });

    it('sign-in, refresh and an authenticated GET /me keep working through the database', async () => {
      const me = await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(userToken) });
      expect(me.statusCode, me.body).toBe(200);
      expect(me.json().email).toBe('user@acme.test');
      const l = await login(t, 'acme', 'user@acme.test');
      expect(l.statusCode, l.body).toBe(200);
      const rf = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/refresh', payload: { refresh_token: l.json().refresh_token } });
      expect(rf.statusCode, rf.body).toBe(200);
      const me2 = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(rf.json().access_token) });
      expect(me2.statusCode, me2.body).toBe(200);
    });

    it('the database fallback still honours revocation', async () => {
      const l = await login(t, 'acme', 'user@acme.test');
      const token = l.json().access_token as string;
      const sid = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;
      await withPlatformTx(t.gh.db, (tx) => tx.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = 'test' WHERE id = $1`, [sid]));
      expectError(await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(token) }), 401, 'TOKEN_REVOKED');
      // A token of a session that never existed is refused as well.
      await withPlatformTx(t.gh.db, (tx) => tx.query(`DELETE FROM sessions WHERE id = $1`, [sid]));
      expectError(await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(token) }), 401, 'TOKEN_REVOKED');
    });
  });

  describe('database down', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await buildTestApp();
      await createTenant(t, 'acme');
      await t.gh.db.close();
      // Already closed: make the helper's clean-up skip it (and still drop a PostgreSQL test database).
      t.gh.db.close = async () => {};
    });
    afterAll(() => t.close());

    it("/ready is 'unhealthy' with 503; /health still answers", async () => {
      const r = await t.app.inject({ method: 'GET', url: '/ready' });
      expect(r.statusCode, r.body).toBe(503);
      expect(r.json()).toMatchObject({ status: 'unhealthy', checks: { database: 'fail' } });
      expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    });

    it('API calls fail with the error shape and no internals', async () => {
      const r = await login(t, 'acme', 'admin@acme.test');
      expect(r.statusCode).toBeGreaterThanOrEqual(500);
      expect(Object.keys(r.json())).toEqual(['error']);
      expect(r.body).not.toMatch(/closed|pool|pglite|\n\s+at /i);
    });
  });
});

describe(`readiness does not hinge on one tenant (${backendName})`, () => {
  it('a tenant without signing keys leaves the node ready; a wrong master key makes it unhealthy', async () => {
    const t = await buildTestApp();
    try {
      const { id } = await createTenant(t, 'keyless');
      await createTenant(t, 'keyed');
      await withTenantTx(t.gh.db, id, (tx) => tx.query('DELETE FROM signing_keys'));
      const ok = await t.app.inject({ method: 'GET', url: '/ready' });
      expect(ok.statusCode).toBe(200);
      expect(ok.json().checks.signing).toBe('ok');
      (t.gh as { sealer: unknown }).sealer = createSealer('a-different-master-key-of-enough-length-0123');
      const bad = await t.app.inject({ method: 'GET', url: '/ready' });
      expect(bad.statusCode).toBe(503);
      expect(bad.json().checks.signing).toBe('fail');
    } finally {
      await t.close();
    }
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMemoryKv } from '../../../src/kv/memory-kv.ts';
import { sidKey } from '../../../src/tokens/denylist.ts';
import { createUser, meOutcome, patchTenant, signIn } from '../../helpers/auth-flows.ts';
import { nowSeconds } from '../../helpers/jwt-forge.ts';
import { backendName, bearer, buildTestApp, createTenant, type TestApp } from '../../helpers/test-app.ts';

/**
 * A revoked session's access tokens are stateless JWTs: they stay refused only while the denylist remembers the
 * session. That memory must outlive every token of the session, including tokens issued under a longer
 * access_token_ttl before an operator lowered it.
 */
describe(`revocation outlives the revoked tokens (${backendName})`, () => {
  describe('deny entry lifetime (any key-value backend)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await buildTestApp();
      await createTenant(t, 'acme', { settings: { access_token_ttl: 3600 } });
      await createUser(t, 'acme', 'alice@example.com');
    });
    afterAll(() => t.close());
    afterEach(() => vi.restoreAllMocks());

    it('after access_token_ttl is lowered, logout-all still denies older tokens for their whole life', async () => {
      const here = await signIn(t, 'acme', 'alice@example.com');
      const other = await signIn(t, 'acme', 'alice@example.com');
      expect(other.claims.exp - nowSeconds()).toBeGreaterThan(3000);
      await patchTenant(t, 'acme', { settings: { access_token_ttl: 60 } });

      const set = vi.spyOn(t.gh.kv, 'set');
      const res = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/logout-all', headers: bearer(here.access) });
      expect(res.statusCode).toBe(204);

      const entry = set.mock.calls.find(([key]) => key === sidKey(other.sid));
      expect(entry, 'the other session is denylisted').toBeDefined();
      const ttl = entry![2];
      expect(ttl, `deny TTL ${ttl}s vs token life ${other.claims.exp - nowSeconds()}s`).toBeGreaterThanOrEqual(other.claims.exp - nowSeconds());
      expect(await meOutcome(t, 'acme', other.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    });
  });

  describe('end to end, with the key-value store clock moved forward', () => {
    let t: TestApp;
    const clock = { offsetMs: 0 };
    beforeAll(async () => {
      // Memory KV with a movable clock (the database backend still follows the run).
      t = await buildTestApp({}, { kv: createMemoryKv(() => Date.now() + clock.offsetMs) });
      await createTenant(t, 'acme', { settings: { access_token_ttl: 3600 } });
      await createUser(t, 'acme', 'alice@example.com');
    });
    afterAll(() => t.close());

    it('a token revoked by logout-all is not accepted again minutes later (while its JWT is still unexpired)', async () => {
      const here = await signIn(t, 'acme', 'alice@example.com');
      const other = await signIn(t, 'acme', 'alice@example.com');
      await patchTenant(t, 'acme', { settings: { access_token_ttl: 60 } });
      expect((await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/logout-all', headers: bearer(here.access) })).statusCode).toBe(204);
      expect(await meOutcome(t, 'acme', other.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });

      clock.offsetMs = 10 * 60 * 1000; // ten minutes on; the JWT (1 h) is still within its life
      expect(await meOutcome(t, 'acme', other.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
      expect(await meOutcome(t, 'acme', here.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    });
  });
});

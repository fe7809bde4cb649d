import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

const tiers = (over: Record<string, { points: number; window: number }>) => ({ settings: { rate_limits: over } });

async function tokenFor(t: TestApp, slug: string, email: string): Promise<string> {
  const r = await login(t, slug, email);
  expect(r.statusCode, r.body).toBe(200);
  return r.json().access_token as string;
}

async function addUser(t: TestApp, slug: string, email: string) {
  const r = await t.app.inject({
    method: 'POST',
    url: `/api/v1/platform/tenants/${slug}/users`,
    headers: bearer(t.platformToken),
    payload: { email, password: STRONG_PASSWORD },
  });
  expect(r.statusCode, r.body).toBe(201);
}

const me = (t: TestApp, slug: string, token: string, remoteAddress = '127.0.0.1') =>
  t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/me`, headers: bearer(token), remoteAddress });

describe(`API rate-limit tiers per route group, per tenant (${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    // Only the groups named are overridden; the others keep Gatehouse's defaults.
    await createTenant(t, 'tiers', tiers({ api: { points: 5, window: 60 }, admin: { points: 3, window: 60 } }));
    await createTenant(t, 'signin', tiers({ auth: { points: 3, window: 900 } }));
    await createTenant(t, 'defaults', tiers({}));
    await addUser(t, 'tiers', 'second@tiers.test');
  });
  afterAll(() => t?.close());

  it('api group: counts per user and IP, tells the budget on every answer, then 429 with Retry-After', async () => {
    const token = await tokenFor(t, 'tiers', 'admin@tiers.test');
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await me(t, 'tiers', token);
      expect(r.statusCode).toBe(200);
      expect(r.headers['ratelimit-limit']).toBe('5');
      expect(r.headers['ratelimit-policy']).toBe('5;w=60');
      remaining.push(String(r.headers['ratelimit-remaining']));
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    const refused = await me(t, 'tiers', token);
    const err = expectError(refused, 429, 'RATE_LIMITED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(err.message).toMatch(/wait/i);

    // Another user on the same IP, and the same user from another IP, have budgets of their own.
    const other = await tokenFor(t, 'tiers', 'second@tiers.test');
    expect((await me(t, 'tiers', other)).statusCode).toBe(200);
    expect((await me(t, 'tiers', token, '203.0.113.9')).statusCode).toBe(200);
  });

  it('admin group has its own budget; the first refusal of a window is audited once and counted in the metric', async () => {
    const token = await tokenFor(t, 'tiers', 'admin@tiers.test');
    const users = () => t.app.inject({ method: 'GET', url: '/t/tiers/api/v1/admin/users', headers: bearer(token), remoteAddress: '192.0.2.50' });
    for (let i = 0; i < 3; i++) expect((await users()).statusCode).toBe(200);
    expectError(await users(), 429, 'RATE_LIMITED');
    expectError(await users(), 429, 'RATE_LIMITED');

    // The audit trail is read from another IP: this IP's admin budget is spent.
    const audit = await t.app.inject({ method: 'GET', url: '/t/tiers/api/v1/admin/audit?action=rate_limit.hit', headers: bearer(token) });
    expect(audit.statusCode, audit.body).toBe(200);
    const hits = (audit.json().events as { details: { limit: string; route: string } }[]).filter((e) => e.details.limit === 'admin');
    expect(hits).toHaveLength(1);
    expect(hits[0]!.details.route).toBe('GET /t/:tenant/api/v1/admin/users');
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/rate_limit_hits_total\{tenant="tiers",limit="admin"\} 2/);
  });

  it('auth group: sign-in attempts per IP, right or wrong, whatever the email; refresh is not a sign-in', async () => {
    const ok = await login(t, 'signin', 'admin@signin.test', STRONG_PASSWORD, {});
    expect(ok.statusCode).toBe(200);
    expect((await login(t, 'signin', 'nobody@signin.test', 'wrong password here')).statusCode).toBe(401);
    expect((await login(t, 'signin', 'someone@signin.test', 'wrong password here')).statusCode).toBe(401);
    const refused = await login(t, 'signin', 'admin@signin.test');
    const err = expectError(refused, 429, 'RATE_LIMITED');
    expect(err.message).toMatch(/Too many login attempts\. Please try again in \d+ minutes?\./);
    // Refresh is an api-group call: the spent sign-in budget does not stop the session the user already has.
    const refreshed = await t.app.inject({ method: 'POST', url: '/t/signin/api/v1/auth/refresh', payload: { refresh_token: ok.json().refresh_token } });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    // Another client IP still signs in.
    const elsewhere = await t.app.inject({
      method: 'POST',
      url: '/t/signin/api/v1/auth/login',
      payload: { email: 'admin@signin.test', password: STRONG_PASSWORD },
      remoteAddress: '198.51.100.77',
    });
    expect(elsewhere.statusCode).toBe(200);
  });

  it('a tenant without overrides gets the defaults (api 100 per minute), and a platform update changes them live', async () => {
    const token = await tokenFor(t, 'defaults', 'admin@defaults.test');
    const first = await me(t, 'defaults', token, '192.0.2.99');
    expect(first.headers['ratelimit-policy']).toBe('100;w=60');
    const patch = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/platform/tenants/defaults',
      headers: bearer(t.platformToken),
      payload: { settings: { rate_limits: { api: { points: 2, window: 60 } } } },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    expect((await me(t, 'defaults', token, '192.0.2.98')).headers['ratelimit-policy']).toBe('2;w=60');
    expect((await me(t, 'defaults', token, '192.0.2.98')).statusCode).toBe(200);
    expectError(await me(t, 'defaults', token, '192.0.2.98'), 429, 'RATE_LIMITED');
  });

  it('refuses a malformed override with a validation error naming the field', async () => {
    const r = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/platform/tenants/defaults',
      headers: bearer(t.platformToken),
      payload: { settings: { rate_limits: { api: { points: -1, window: 60 } } } },
    });
    expectError(r, 400, 'VALIDATION_ERROR');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

const WRONG = 'not the right password at all';

describe(`login protection with the default limits (${backendName})`, () => {
  let t: TestApp;
  // The tenant keeps Gatehouse's defaults: createTenant's relaxed limits are replaced here.
  const defaults = { login_max_failures_per_ip: 20, register_max_per_ip_per_hour: 3 };
  const attempt = (slug: string, email: string, password: string, ip: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/login`, payload: { email, password }, remoteAddress: ip, headers });
  const adminToken = async (slug: string) => (await attempt(slug, `admin@${slug}.test`, STRONG_PASSWORD, '198.51.100.200')).json().access_token as string;

  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('brute force on one account: the 6th try waits 1 minute, even with the right password, and says so', async () => {
    await createTenant(t, 'brute', { settings: defaults });
    await t.app.inject({ method: 'POST', url: '/t/brute/api/v1/auth/register', payload: { email: 'target@brute.test', password: STRONG_PASSWORD }, remoteAddress: '198.51.100.1' });
    for (let i = 0; i < 5; i++) expect((await attempt('brute', 'target@brute.test', WRONG, '203.0.113.1')).statusCode).toBe(401);
    const blocked = await attempt('brute', 'target@brute.test', STRONG_PASSWORD, '203.0.113.2');
    expect(blocked.statusCode).toBe(429);
    const err = blocked.json().error;
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.category).toBe('rate_limiting');
    expect(err.message).toBe('Too many login attempts. Please try again in 1 minute.');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(55);
    expect(blocked.headers['ratelimit-remaining']).toBe('0');
    expect(blocked.headers['ratelimit-policy']).toBe('5;w=900');
    const pt = await attempt('brute', 'target@brute.test', STRONG_PASSWORD, '203.0.113.2', { 'accept-language': 'pt-BR' });
    expect(pt.json().error.message).toBe('Muitas tentativas de login. Tente novamente em 1 minuto.');
    // Another account of the same tenant, from another IP, is untouched.
    const reg = await t.app.inject({ method: 'POST', url: '/t/brute/api/v1/auth/register', payload: { email: 'real@brute.test', password: STRONG_PASSWORD }, remoteAddress: '198.51.100.7' });
    expect(reg.statusCode).toBe(201);
    expect((await attempt('brute', 'real@brute.test', STRONG_PASSWORD, '198.51.100.7')).statusCode).toBe(200);
    // The hit is audited and counted.
    const audit = await t.app.inject({ method: 'GET', url: '/t/brute/api/v1/admin/audit?action=rate_limit.hit', headers: bearer(await adminToken('brute')) });
    expect(audit.json().events.length).toBeGreaterThan(0);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/rate_limit_hits_total\{tenant="brute",limit="login"\} [1-9]/);
  });

  it('credential stuffing from one IP: that IP is delayed after 20 failures; other IPs and users keep working', async () => {
    await createTenant(t, 'stuffed', { settings: defaults });
    const ip = '192.0.2.66';
    for (let i = 0; i < 20; i++) expect((await attempt('stuffed', `victim${i}@stuffed.test`, WRONG, ip)).statusCode).toBe(401);
    const next = await attempt('stuffed', 'victim99@stuffed.test', WRONG, ip);
    expect(next.statusCode).toBe(429);
    expect((await attempt('stuffed', 'admin@stuffed.test', STRONG_PASSWORD, '192.0.2.67')).statusCode).toBe(200);
  });

  it('many IPs against many emails: each email is delayed after 5 failures, nothing answers 5xx, the real user still signs in', async () => {
    await createTenant(t, 'botnet', { settings: defaults });
    const statuses = new Map<number, number>();
    for (let round = 0; round < 7; round++) {
      const batch = [];
      for (let e = 0; e < 6; e++) batch.push(attempt('botnet', `user${e}@botnet.test`, `guess-${round}-${e}-password`, `10.${round}.${e}.1`));
      for (const r of await Promise.all(batch)) statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
    }
    expect([...statuses.keys()].every((s) => s === 401 || s === 429)).toBe(true);
    expect(statuses.get(429)).toBeGreaterThan(0);
    expect((await attempt('botnet', 'admin@botnet.test', STRONG_PASSWORD, '172.16.0.9')).statusCode).toBe(200);
  });

  it('a successful login resets the email counter', async () => {
    await createTenant(t, 'resets', { settings: defaults });
    for (let i = 0; i < 4; i++) await attempt('resets', 'admin@resets.test', WRONG, '203.0.113.9');
    expect((await attempt('resets', 'admin@resets.test', STRONG_PASSWORD, '203.0.113.9')).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) expect((await attempt('resets', 'admin@resets.test', WRONG, '203.0.113.9')).statusCode).toBe(401);
    expect((await attempt('resets', 'admin@resets.test', STRONG_PASSWORD, '203.0.113.9')).statusCode).toBe(200);
  });

  it('registration is limited per IP (3 per hour)', async () => {
    await createTenant(t, 'signups', { settings: defaults });
    const reg = (i: number) =>
      t.app.inject({ method: 'POST', url: '/t/signups/api/v1/auth/register', payload: { email: `new${i}@signups.test`, password: STRONG_PASSWORD }, remoteAddress: '203.0.113.50' });
    for (let i = 0; i < 3; i++) expect((await reg(i)).statusCode).toBe(201);
    const fourth = await reg(3);
    expect(fourth.statusCode).toBe(429);
    expect(fourth.json().error.message).toMatch(/^Please wait \d+ minutes? before trying again\.$/);
  });
});

describe(`account lockout (${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    // Delays per email are raised so the lockout (3 failures from any IPs) is what this suite sees.
    await createTenant(t, 'locks', { settings: { lockout_threshold: 3, login_max_failures_per_email: 100 } });
    await t.app.inject({ method: 'POST', url: '/t/locks/api/v1/auth/register', payload: { email: 'owner@locks.test', password: STRONG_PASSWORD } });
  });
  afterAll(() => t.close());
  const attempt = (email: string, password: string, ip: string) =>
    t.app.inject({ method: 'POST', url: '/t/locks/api/v1/auth/login', payload: { email, password }, remoteAddress: ip });

  it('locks after the threshold; tells only the password holder; keeps existing sessions; an admin unlocks', async () => {
    const before = await attempt('owner@locks.test', STRONG_PASSWORD, '10.9.9.9');
    expect(before.statusCode).toBe(200);
    for (let i = 0; i < 3; i++) expect((await attempt('owner@locks.test', WRONG, `10.0.0.${i}`)).statusCode).toBe(401);

    // Without the password: the ordinary answer, identical to an unknown account's apart from the request id.
    const wrong = await attempt('owner@locks.test', WRONG, '10.0.1.1');
    const unknown = await attempt('nobody@locks.test', WRONG, '10.0.1.2');
    expect(wrong.statusCode).toBe(401);
    expect({ ...wrong.json().error, requestId: 'x' }).toEqual({ ...unknown.json().error, requestId: 'x' });
    // With it: 403 ACCOUNT_LOCKED and how long.
    const right = await attempt('owner@locks.test', STRONG_PASSWORD, '10.0.1.3');
    expect(right.statusCode).toBe(403);
    expect(right.json().error.code).toBe('ACCOUNT_LOCKED');
    expect(right.json().error.message).toMatch(/Try again in 30 minutes or reset your password/);

    // The lock stops sign-in, not the sessions the owner already has.
    const refreshed = await t.app.inject({ method: 'POST', url: '/t/locks/api/v1/auth/refresh', payload: { refresh_token: before.json().refresh_token } });
    expect(refreshed.statusCode).toBe(200);

    const admin = await attempt('admin@locks.test', STRONG_PASSWORD, '10.7.7.7');
    const users = await t.app.inject({ method: 'GET', url: '/t/locks/api/v1/admin/users?search=owner', headers: bearer(admin.json().access_token) });
    const owner = users.json().users[0];
    expect(owner.status).toBe('locked');
    expect(Date.parse(owner.locked_until)).toBeGreaterThan(Date.now());
    const audit = await t.app.inject({ method: 'GET', url: `/t/locks/api/v1/admin/audit?action=account.locked&user_id=${owner.id}`, headers: bearer(admin.json().access_token) });
    expect(audit.json().events[0].risk).toBe('high');

    const unlock = await t.app.inject({ method: 'PATCH', url: `/t/locks/api/v1/admin/users/${owner.id}`, headers: bearer(admin.json().access_token), payload: { status: 'active' } });
    expect(unlock.statusCode).toBe(200);
    expect(unlock.json().locked_until).toBeNull();
    expect((await attempt('owner@locks.test', STRONG_PASSWORD, '10.0.1.4')).statusCode).toBe(200);
    const unlocked = await t.app.inject({ method: 'GET', url: `/t/locks/api/v1/admin/audit?action=user.unlocked`, headers: bearer(admin.json().access_token) });
    expect(unlocked.json().events).toHaveLength(1);
  });

  it('a lock ends by itself after its duration', async () => {
    await createTenant(t, 'shortlock', { settings: { lockout_threshold: 2, lockout_duration: 1, login_max_failures_per_email: 100 } });
    for (let i = 0; i < 2; i++) await t.app.inject({ method: 'POST', url: '/t/shortlock/api/v1/auth/login', payload: { email: 'admin@shortlock.test', password: WRONG }, remoteAddress: `10.5.0.${i}` });
    const locked = await t.app.inject({ method: 'POST', url: '/t/shortlock/api/v1/auth/login', payload: { email: 'admin@shortlock.test', password: STRONG_PASSWORD }, remoteAddress: '10.5.1.1' });
    expect(locked.statusCode).toBe(403);
    await new Promise((r) => setTimeout(r, 1500));
    const ok = await t.app.inject({ method: 'POST', url: '/t/shortlock/api/v1/auth/login', payload: { email: 'admin@shortlock.test', password: STRONG_PASSWORD }, remoteAddress: '10.5.1.2' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().user.status).toBe('active');
  });
});

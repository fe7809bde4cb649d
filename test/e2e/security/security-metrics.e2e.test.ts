import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../src/mfa/totp.ts';
import { backendName, bearer, buildTestApp, createTenant, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

describe(`security metrics per tenant (${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'dash', { settings: { lockout_threshold: 3, login_max_failures_per_email: 100 } });
    await createTenant(t, 'quiet');
  });
  afterAll(() => t.close());

  it('counts what happened in this tenant only', async () => {
    await register(t, 'dash', 'victim@dash.test');
    for (let i = 0; i < 3; i++) await login(t, 'dash', 'victim@dash.test', 'wrong password, again and again');
    await login(t, 'dash', 'nobody@dash.test', 'wrong password, again and again');
    const admin = (await login(t, 'dash', 'admin@dash.test', STRONG_PASSWORD)).json().access_token;
    const m = await t.app.inject({ method: 'GET', url: '/t/dash/api/v1/admin/security/metrics', headers: bearer(admin) });
    expect(m.statusCode).toBe(200);
    const body = m.json();
    expect(body.failed_logins_24h).toBe(4);
    expect(body.suspicious_events_24h).toBeGreaterThanOrEqual(1); // account.locked
    expect(body.locked_accounts).toBe(1);
    expect(body.open_alerts.critical).toBe(1); // account_locked
    expect(body.mfa_adoption).toEqual({ users: 2, enrolled: 0, ratio: 0 });
    expect(body.active_sessions).toBeGreaterThanOrEqual(2);

    // The admin sets up an authenticator app: one of two users has MFA.
    const started = await t.app.inject({ method: 'POST', url: '/t/dash/api/v1/me/mfa/totp', headers: bearer(admin) });
    const confirmed = await t.app.inject({ method: 'POST', url: '/t/dash/api/v1/me/mfa/totp/verify', headers: bearer(admin), payload: { code: totpCode(started.json().secret) } });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    const after = (await t.app.inject({ method: 'GET', url: '/t/dash/api/v1/admin/security/metrics', headers: bearer(admin) })).json();
    expect(after.mfa_adoption).toEqual({ users: 2, enrolled: 1, ratio: 0.5 });

    const quietAdmin = (await login(t, 'quiet', 'admin@quiet.test', STRONG_PASSWORD)).json().access_token;
    const q = (await t.app.inject({ method: 'GET', url: '/t/quiet/api/v1/admin/security/metrics', headers: bearer(quietAdmin) })).json();
    expect(q).toMatchObject({ failed_logins_24h: 0, suspicious_events_24h: 0, locked_accounts: 0, open_alerts: { low: 0, medium: 0, high: 0, critical: 0 } });
  });

  it('needs audit:read', async () => {
    await register(t, 'quiet', 'member@quiet.test');
    const member = (await login(t, 'quiet', 'member@quiet.test')).json().access_token;
    const r = await t.app.inject({ method: 'GET', url: '/t/quiet/api/v1/admin/security/metrics', headers: bearer(member) });
    expect(r.statusCode).toBe(403);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEvents, claimsOf, createUser, patchTenant, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, buildTestApp, createTenant, expectError, login, register, type TestApp } from '../../helpers/test-app.ts';
import { advance, codeAt, freezeClock, mfa, verifyMfa } from './mfa-helpers.ts';

const DAY = 86_400;

/**
 * Tenant MFA policy: `optional`, `required_for_admins`, `required`, with `mfa_grace_period` counted from the first
 * sign-in that told the user to enroll. In the grace period: tokens + mfa_enrollment_required/deadline. After it:
 * an enrollment-only mfa_token and no session until a factor is enrolled.
 */
describe(`tenant MFA policy (${backendName})`, () => {
  let t: TestApp;
  let tenantId: string;
  let adminEmail: string;
  const slug = 'mfa-policy';
  const url = mfa(slug);

  beforeAll(async () => {
    t = await buildTestApp();
    const created = await createTenant(t, slug, { settings: { mfa_policy: 'required', mfa_grace_period: 7 * DAY } });
    tenantId = created.id;
    adminEmail = created.adminEmail;
  });
  afterAll(() => t.close());
  afterEach(() => vi.useRealTimers());

  it('in the grace period: signed in, told to enroll by a deadline that later sign-ins do not move', async () => {
    freezeClock();
    const { id } = await createUser(t, slug, 'ann@mfa-policy.test');
    const first = await login(t, slug, 'ann@mfa-policy.test');
    expect(first.statusCode, first.body).toBe(200);
    const deadline = Date.parse(first.json().mfa_enrollment_deadline);
    expect(first.json()).toMatchObject({ mfa_enrollment_required: true, access_token: expect.any(String) });
    expect(deadline).toBe(Date.now() + 7 * DAY * 1000);
    expect(claimsOf(first.json().access_token)).toMatchObject({ aal: 1 });

    advance(3 * DAY);
    const later = await login(t, slug, 'ann@mfa-policy.test');
    expect(Date.parse(later.json().mfa_enrollment_deadline)).toBe(deadline);
    const [row] = await tenantQuery<{ mfa_grace_started_at: Date }>(t, tenantId, 'SELECT mfa_grace_started_at FROM users WHERE id = $1', [id]);
    expect(row!.mfa_grace_started_at).toBeInstanceOf(Date);
  });

  it('after the grace period: an enrollment-only mfa_token, no session; enrolling signs in at aal 2 with backup codes', async () => {
    freezeClock();
    const { id } = await createUser(t, slug, 'ben@mfa-policy.test');
    expect((await login(t, slug, 'ben@mfa-policy.test')).json().mfa_enrollment_required).toBe(true);
    advance(7 * DAY + 1);
    const sessions = () => tenantQuery(t, tenantId, 'SELECT id FROM sessions WHERE user_id = $1 ORDER BY id', [id]);
    const before = await sessions();
    const res = await login(t, slug, 'ben@mfa-policy.test');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toEqual({ mfa_required: true, mfa_enrollment_required: true, mfa_token: expect.stringMatching(/^ghm_/), factors: [], expires_in: 900 });
    expect(await sessions()).toEqual(before);

    // It completes no sign-in by itself.
    expectError(await verifyMfa(t, slug, { mfa_token: body.mfa_token, code: '123456' }), 401, 'MFA_TOKEN_INVALID');
    const start = await t.app.inject({ method: 'POST', url: url.enroll, payload: { mfa_token: body.mfa_token } });
    expect(start.statusCode, start.body).toBe(200);
    const { secret } = start.json();
    const wrong = codeAt(secret) === '000000' ? '000001' : '000000';
    expectError(await t.app.inject({ method: 'POST', url: url.enrollVerify, payload: { mfa_token: body.mfa_token, code: wrong } }), 401, 'MFA_CODE_INVALID');
    const done = await t.app.inject({ method: 'POST', url: url.enrollVerify, payload: { mfa_token: body.mfa_token, code: codeAt(secret) } });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json().backup_codes).toHaveLength(10);
    expect(claimsOf(done.json().access_token)).toMatchObject({ amr: ['pwd', 'otp'], aal: 2, sub: id });
    // Used up.
    expectError(await t.app.inject({ method: 'POST', url: url.enroll, payload: { mfa_token: body.mfa_token } }), 401, 'MFA_TOKEN_INVALID');

    // From now on the ordinary MFA sign-in.
    const next = await login(t, slug, 'ben@mfa-policy.test');
    expect(next.json()).toMatchObject({ mfa_required: true, factors: ['totp', 'backup_code'] });
    expect(next.json().mfa_enrollment_required).toBeUndefined();
  });

  it('the enrollment token expires after 15 minutes', async () => {
    freezeClock();
    await createUser(t, slug, 'cat@mfa-policy.test');
    await patchTenant(t, slug, { settings: { mfa_grace_period: 0 } });
    try {
      const body = (await login(t, slug, 'cat@mfa-policy.test')).json();
      expect(body).toMatchObject({ mfa_required: true, mfa_enrollment_required: true, factors: [] });
      advance(901);
      expectError(await t.app.inject({ method: 'POST', url: url.enroll, payload: { mfa_token: body.mfa_token } }), 401, 'MFA_TOKEN_EXPIRED');
    } finally {
      await patchTenant(t, slug, { settings: { mfa_grace_period: 7 * DAY } });
    }
  });

  it('registration: a grace period starts at once; with none, the new account gets an enrollment-only token, not a session', async () => {
    const reg = await register(t, slug, 'new@mfa-policy.test');
    expect(reg.statusCode, reg.body).toBe(201);
    expect(reg.json()).toMatchObject({ access_token: expect.any(String), mfa_enrollment_required: true, mfa_enrollment_deadline: expect.any(String) });

    await patchTenant(t, slug, { settings: { mfa_grace_period: 0 } });
    try {
      const strict = await register(t, slug, 'strict@mfa-policy.test');
      expect(strict.statusCode, strict.body).toBe(201);
      const body = strict.json();
      expect(body).toEqual({ mfa_required: true, mfa_enrollment_required: true, mfa_token: expect.stringMatching(/^ghm_/), factors: [], expires_in: 900 });
      const [u] = await tenantQuery<{ id: string }>(t, tenantId, `SELECT id FROM users WHERE email = 'strict@mfa-policy.test'`);
      expect(await tenantQuery(t, tenantId, 'SELECT id FROM sessions WHERE user_id = $1', [u!.id])).toEqual([]);
      const { secret } = (await t.app.inject({ method: 'POST', url: url.enroll, payload: { mfa_token: body.mfa_token } })).json();
      const done = await t.app.inject({ method: 'POST', url: url.enrollVerify, payload: { mfa_token: body.mfa_token, code: codeAt(secret) } });
      expect(done.statusCode, done.body).toBe(200);
      expect(claimsOf(done.json().access_token)).toMatchObject({ sub: u!.id, aal: 2 });
    } finally {
      await patchTenant(t, slug, { settings: { mfa_grace_period: 7 * DAY } });
    }
  });

  it('required_for_admins applies to admins only; optional to nobody', async () => {
    await patchTenant(t, slug, { settings: { mfa_policy: 'required_for_admins' } });
    try {
      await createUser(t, slug, 'dee@mfa-policy.test');
      const user = (await login(t, slug, 'dee@mfa-policy.test')).json();
      expect(user.access_token).toEqual(expect.any(String));
      expect(user.mfa_enrollment_required).toBeUndefined();
      const admin = (await login(t, slug, adminEmail)).json();
      expect(admin).toMatchObject({ access_token: expect.any(String), mfa_enrollment_required: true });
      await patchTenant(t, slug, { settings: { mfa_policy: 'optional' } });
      expect((await login(t, slug, adminEmail)).json().mfa_enrollment_required).toBeUndefined();
    } finally {
      await patchTenant(t, slug, { settings: { mfa_policy: 'required' } });
    }
  });

  it('the platform API validates the policy settings and the enrollment outcome is audited', async () => {
    const bad = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/platform/tenants/${slug}`,
      headers: { authorization: `Bearer ${t.platformToken}` },
      payload: { settings: { mfa_policy: 'sometimes' } },
    });
    expectError(bad, 400, 'VALIDATION_ERROR');
    const admin = (await signIn(t, slug, adminEmail)).access;
    const events = await auditEvents(t, slug, admin, 'login.mfa_required');
    expect(events.some((e) => e.details.enrollment_required === true)).toBe(true);
  });
});

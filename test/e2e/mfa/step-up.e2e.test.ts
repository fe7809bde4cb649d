import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEvents, claimsOf, createUser, patchTenant, signIn, tenantQuery, type SignedIn } from '../../helpers/auth-flows.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { advance, codeAt, enrollTotp, freezeClock, mfa, passwordStep, verifyMfa, type Enrolled } from './mfa-helpers.ts';

/** Step-up (POST /auth/step-up) and the recency guard on sensitive operations. */
describe(`step-up and recent aal2 (${backendName})`, () => {
  let t: TestApp;
  let tenantId: string;
  let adminEmail: string;
  const slug = 'step-up';
  const url = mfa(slug);

  beforeAll(async () => {
    t = await buildTestApp();
    const created = await createTenant(t, slug, { settings: { access_token_ttl: 7200 } });
    tenantId = created.id;
    adminEmail = created.adminEmail;
  });
  afterAll(() => t.close());
  afterEach(() => vi.useRealTimers());

  /** A new user who enrolled an authenticator app in their password-only session, which stays at aal 1. */
  async function enrolledAal1(email: string): Promise<{ s: SignedIn; u: Enrolled; id: string }> {
    const { id } = await createUser(t, slug, email);
    const s = await signIn(t, slug, email);
    return { s, u: await enrollTotp(t, slug, s.access), id };
  }

  const post = (path: string, access: string, payload?: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: path, headers: bearer(access), ...(payload ? { payload } : {}) });
  const changePassword = (access: string, current: string, next: string) =>
    post(`/t/${slug}/api/v1/me/password`, access, { current_password: current, new_password: next });

  it('without a second factor on the session, sensitive MFA operations answer STEP_UP_REQUIRED (RFC 9470 header)', async () => {
    freezeClock();
    const { s } = await enrolledAal1('ann@step-up.test');
    const res = await post(url.backupCodes, s.access);
    expectError(res, 403, 'STEP_UP_REQUIRED');
    expect(res.headers['www-authenticate']).toBe(
      'Bearer error="insufficient_user_authentication", error_description="A recent second factor is required", max_age=900',
    );
    expectError(await t.app.inject({ method: 'DELETE', url: url.totp, headers: bearer(s.access) }), 403, 'STEP_UP_REQUIRED');
  });

  it('step-up raises the session to aal2 and returns a new access token; the refresh token stays and keeps aal 2', async () => {
    freezeClock();
    const { s, u, id } = await enrolledAal1('ben@step-up.test');
    expect(claimsOf(s.access)).toMatchObject({ amr: ['pwd'], aal: 1 });
    advance(30);
    const res = await post(url.stepUp, s.access, { code: codeAt(u.secret) });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.refresh_token).toBeUndefined();
    expect(claimsOf(body.access_token)).toMatchObject({ amr: ['pwd', 'otp'], aal: 2, sid: s.sid });
    const [row] = await tenantQuery<{ aal: number; amr: string[]; aal2_at: Date }>(t, tenantId, 'SELECT aal, amr, aal2_at FROM sessions WHERE id = $1', [s.sid]);
    expect(row).toMatchObject({ aal: 2, amr: ['pwd', 'otp'] });
    expect(Math.abs(row!.aal2_at.getTime() - Date.now())).toBeLessThan(120_000);

    // Recent: the old (aal 1) access token of the same session is enough, since the guard reads the session.
    const codes = await post(url.backupCodes, s.access);
    expect(codes.statusCode, codes.body).toBe(200);
    expect(codes.json().backup_codes).toHaveLength(10);

    const r = await t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/refresh`, payload: { refresh_token: s.refresh } });
    expect(claimsOf(r.json().access_token)).toMatchObject({ amr: ['pwd', 'otp'], aal: 2 });
    const [ev] = (await auditEvents(t, slug, await signInAdmin(), 'mfa.step_up')).filter((e) => e.subject_id === id);
    expect(ev).toMatchObject({ details: { session_id: s.sid, method: 'totp' } });
  });

  async function signInAdmin(): Promise<string> {
    return (await signIn(t, slug, adminEmail)).access;
  }

  it('the window closes after mfa_step_up_max_age (900 s by default) and a new step-up reopens it', async () => {
    freezeClock();
    const { s, u } = await enrolledAal1('cat@step-up.test');
    advance(30);
    expect((await post(url.stepUp, s.access, { code: codeAt(u.secret) })).statusCode).toBe(200);
    advance(899);
    expect((await post(url.backupCodes, s.access)).statusCode).toBe(200);
    advance(2);
    expectError(await post(url.backupCodes, s.access), 403, 'STEP_UP_REQUIRED');
    expect((await post(url.stepUp, s.access, { code: codeAt(u.secret) })).statusCode).toBe(200);
    expect((await post(url.backupCodes, s.access)).statusCode).toBe(200);
  });

  it('a sign-in with MFA counts as a recent step-up; a backup code steps up too', async () => {
    freezeClock();
    const { u } = await enrolledAal1('dan@step-up.test');
    advance(30);
    const token = await passwordStep(t, slug, 'dan@step-up.test', STRONG_PASSWORD);
    const signed = (await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret) })).json();
    expect((await post(url.backupCodes, signed.access_token)).statusCode).toBe(200);
    advance(1000);
    expectError(await post(url.backupCodes, signed.access_token), 403, 'STEP_UP_REQUIRED');
    // The codes just regenerated replaced the enrollment's set: an old one fails, a new one works.
    expectError(await post(url.stepUp, signed.access_token, { backup_code: u.backupCodes[0] }), 401, 'MFA_CODE_INVALID');
  });

  it('regenerating backup codes invalidates the old set', async () => {
    freezeClock();
    const { s, u } = await enrolledAal1('eli@step-up.test');
    advance(30);
    await post(url.stepUp, s.access, { code: codeAt(u.secret) });
    const fresh = (await post(url.backupCodes, s.access)).json().backup_codes as string[];
    expect(fresh.filter((c) => u.backupCodes.includes(c))).toEqual([]);
    expectError(await post(url.stepUp, s.access, { backup_code: u.backupCodes[1] }), 401, 'MFA_CODE_INVALID');
    expect((await post(url.stepUp, s.access, { backup_code: fresh[1] })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: url.me, headers: bearer(s.access) })).json().backup_codes_remaining).toBe(9);
  });

  it('a user without MFA: step-up and the MFA guard answer MFA_REQUIRED; the password change works as before', async () => {
    await createUser(t, slug, 'fay@step-up.test');
    const s = await signIn(t, slug, 'fay@step-up.test');
    expectError(await post(url.stepUp, s.access, { code: '123456' }), 403, 'MFA_REQUIRED');
    expectError(await post(url.backupCodes, s.access), 403, 'MFA_REQUIRED');
    expect((await changePassword(s.access, STRONG_PASSWORD, 'a completely new passphrase 77')).statusCode).toBe(204);
  });

  it('with MFA, changing the password needs a recent second factor', async () => {
    freezeClock();
    const { s, u } = await enrolledAal1('gil@step-up.test');
    expectError(await changePassword(s.access, STRONG_PASSWORD, 'a completely new passphrase 78'), 403, 'STEP_UP_REQUIRED');
    advance(30);
    await post(url.stepUp, s.access, { code: codeAt(u.secret) });
    expect((await changePassword(s.access, STRONG_PASSWORD, 'a completely new passphrase 78')).statusCode).toBe(204);
  });

  it('removing the authenticator needs a step-up; with the last factor the backup codes go, and sign-in is password-only again', async () => {
    freezeClock();
    const { s, u, id } = await enrolledAal1('hal@step-up.test');
    advance(30);
    await post(url.stepUp, s.access, { code: codeAt(u.secret) });
    const del = await t.app.inject({ method: 'DELETE', url: url.totp, headers: bearer(s.access) });
    expect(del.statusCode, del.body).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: url.me, headers: bearer(s.access) })).json()).toEqual({
      mfa_enabled: false,
      factors: [],
      passkeys: 0,
      backup_codes_remaining: 0,
    });
    expect(await tenantQuery(t, tenantId, 'SELECT id FROM mfa_backup_codes WHERE user_id = $1', [id])).toEqual([]);
    expectError(await t.app.inject({ method: 'DELETE', url: url.totp, headers: bearer(s.access) }), 404, 'MFA_NOT_ENROLLED');
    const login = await t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/login`, payload: { email: 'hal@step-up.test', password: STRONG_PASSWORD } });
    expect(login.json().access_token).toEqual(expect.any(String));
    const [ev] = (await auditEvents(t, slug, await signInAdmin(), 'mfa.removed')).filter((e) => e.subject_id === id);
    expect(ev).toMatchObject({ risk: 'medium', details: { type: 'totp' } });
  });

  it('admin mutations need a recent second factor when the tenant sets mfa_admin_step_up', async () => {
    freezeClock();
    const target = await createUser(t, slug, 'ivy@step-up.test');
    await createUser(t, slug, 'second-admin@step-up.test', { role: 'admin' });
    const admin = await signIn(t, slug, 'second-admin@step-up.test');
    const patch = (access: string) =>
      t.app.inject({ method: 'PATCH', url: `/t/${slug}/api/v1/admin/users/${target.id}`, headers: bearer(access), payload: { name: 'Ivy' } });
    expect((await patch(admin.access)).statusCode).toBe(200);
    await patchTenant(t, slug, { settings: { mfa_admin_step_up: true } });
    try {
      expectError(await patch(admin.access), 403, 'MFA_REQUIRED');
      const u = await enrollTotp(t, slug, admin.access);
      expectError(await patch(admin.access), 403, 'STEP_UP_REQUIRED');
      expectError(
        await t.app.inject({ method: 'DELETE', url: `/t/${slug}/api/v1/admin/users/${target.id}/sessions`, headers: bearer(admin.access) }),
        403,
        'STEP_UP_REQUIRED',
      );
      expectError(
        await t.app.inject({ method: 'PUT', url: `/t/${slug}/api/v1/admin/security/webhook`, headers: bearer(admin.access), payload: { url: 'https://hooks.example.com/x' } }),
        403,
        'STEP_UP_REQUIRED',
      );
      advance(30);
      expect((await post(url.stepUp, admin.access, { code: codeAt(u.secret) })).statusCode).toBe(200);
      expect((await patch(admin.access)).statusCode).toBe(200);
      // Reads are not guarded.
      advance(1000);
      expect((await t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/admin/users/${target.id}`, headers: bearer(admin.access) })).statusCode).toBe(200);
      expectError(await patch(admin.access), 403, 'STEP_UP_REQUIRED');
    } finally {
      await patchTenant(t, slug, { settings: { mfa_admin_step_up: false } });
    }
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEvents, claimsOf, createUser, errorCode, getMe, mySessions, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { advance, codeAt, enrollTotp, freezeClock, mfa, passwordStep, verifyMfa, type Enrolled } from './mfa-helpers.ts';

describe(`login with MFA (${backendName})`, () => {
  let t: TestApp;
  let tenantId: string;
  let admin: string;
  const slug = 'mfa-login';
  const other = 'mfa-login-other';

  beforeAll(async () => {
    t = await buildTestApp();
    const created = await createTenant(t, slug);
    tenantId = created.id;
    await createTenant(t, other);
    admin = (await signIn(t, slug, created.adminEmail)).access;
  });
  afterAll(() => t.close());
  afterEach(() => vi.useRealTimers());

  /** A user with an authenticator app, enrolled in the current time step (frozen clock). */
  async function mfaUser(email: string): Promise<Enrolled & { id: string }> {
    const { id } = await createUser(t, slug, email);
    const s = await signIn(t, slug, email);
    return { id, ...(await enrollTotp(t, slug, s.access)) };
  }

  it('a correct password gets {mfa_required, mfa_token, factors} and no tokens, no session', async () => {
    const u = await mfaUser('ann@mfa-login.test');
    const before = await tenantQuery(t, tenantId, 'SELECT id FROM sessions WHERE user_id = $1', [u.id]);
    const res = await login(t, slug, 'ann@mfa-login.test');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['expires_in', 'factors', 'mfa_required', 'mfa_token']);
    expect(body).toMatchObject({ mfa_required: true, expires_in: 300, factors: ['totp', 'backup_code'] });
    expect(body.mfa_token).toMatch(/^ghm_[A-Za-z0-9_-]{43}$/);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await tenantQuery(t, tenantId, 'SELECT id FROM sessions WHERE user_id = $1', [u.id])).toEqual(before);
    // A wrong password is the ordinary 401: MFA reveals nothing before the password.
    expectError(await login(t, slug, 'ann@mfa-login.test', 'not the password at all'), 401, 'INVALID_CREDENTIALS');
  });

  it('the code completes the sign-in: amr [pwd, otp], aal 2, one aal2 session; the token is then used up', async () => {
    freezeClock();
    const u = await mfaUser('ben@mfa-login.test');
    advance(30);
    const token = await passwordStep(t, slug, 'ben@mfa-login.test', STRONG_PASSWORD);
    const res = await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret) });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ token_type: 'Bearer', user: { email: 'ben@mfa-login.test' } });
    expect(body.refresh_token).toMatch(/^ghr_/);
    const claims = claimsOf(body.access_token);
    expect(claims.amr).toEqual(['pwd', 'otp']);
    expect(claims.aal).toBe(2);
    expect((await getMe(t, slug, body.access_token)).statusCode).toBe(200);
    const [session] = await tenantQuery<{ amr: string[]; aal: number; aal2_at: Date | null }>(
      t,
      tenantId,
      'SELECT amr, aal, aal2_at FROM sessions WHERE id = $1',
      [claims.sid],
    );
    expect(session).toMatchObject({ amr: ['pwd', 'otp'], aal: 2 });
    expect(session!.aal2_at).toBeInstanceOf(Date);
    // The session is an ordinary one: it refreshes, and keeps aal 2.
    const r = await t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/refresh`, payload: { refresh_token: body.refresh_token } });
    expect(r.statusCode, r.body).toBe(200);
    expect(claimsOf(r.json().access_token)).toMatchObject({ amr: ['pwd', 'otp'], aal: 2 });

    advance(30);
    expectError(await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret) }), 401, 'MFA_TOKEN_INVALID');
  });

  it('a wrong code keeps the token usable; the right one then works', async () => {
    freezeClock();
    const u = await mfaUser('cat@mfa-login.test');
    advance(30);
    const token = await passwordStep(t, slug, 'cat@mfa-login.test', STRONG_PASSWORD);
    const right = codeAt(u.secret);
    const wrong = right === '000000' ? '000001' : '000000';
    expectError(await verifyMfa(t, slug, { mfa_token: token, code: wrong }), 401, 'MFA_CODE_INVALID');
    const ok = await verifyMfa(t, slug, { mfa_token: token, code: right });
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('an expired mfa_token is refused with MFA_TOKEN_EXPIRED (5 minutes)', async () => {
    freezeClock();
    const u = await mfaUser('dan@mfa-login.test');
    const token = await passwordStep(t, slug, 'dan@mfa-login.test', STRONG_PASSWORD);
    advance(301);
    expectError(await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret) }), 401, 'MFA_TOKEN_EXPIRED');
    // And then it is gone.
    expectError(await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret) }), 401, 'MFA_TOKEN_INVALID');
  });

  it("another tenant's mfa_token is unknown here, and presenting it there does not burn it", async () => {
    freezeClock();
    const u = await mfaUser('eve@mfa-login.test');
    advance(30);
    const token = await passwordStep(t, slug, 'eve@mfa-login.test', STRONG_PASSWORD);
    expectError(await verifyMfa(t, other, { mfa_token: token, code: codeAt(u.secret) }), 401, 'MFA_TOKEN_INVALID');
    expectError(await verifyMfa(t, other, { mfa_token: 'ghm_' + 'A'.repeat(43), code: '123456' }), 401, 'MFA_TOKEN_INVALID');
    const ok = await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret) });
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('a backup code completes the sign-in once; the remaining count drops; it is audited', async () => {
    const u = await mfaUser('fay@mfa-login.test');
    const code = u.backupCodes[3]!;
    const token = await passwordStep(t, slug, 'fay@mfa-login.test', STRONG_PASSWORD);
    // Case and hyphens do not matter.
    const res = await verifyMfa(t, slug, { mfa_token: token, backup_code: code.toUpperCase().replaceAll('-', ' ') });
    expect(res.statusCode, res.body).toBe(200);
    expect(claimsOf(res.json().access_token)).toMatchObject({ amr: ['pwd', 'otp'], aal: 2 });
    const state = await t.app.inject({ method: 'GET', url: mfa(slug).me, headers: bearer(res.json().access_token) });
    expect(state.json().backup_codes_remaining).toBe(9);

    const again = await passwordStep(t, slug, 'fay@mfa-login.test', STRONG_PASSWORD);
    expectError(await verifyMfa(t, slug, { mfa_token: again, backup_code: code }), 401, 'MFA_CODE_INVALID');
    const [used] = (await auditEvents(t, slug, admin, 'mfa.backup_code_used')).filter((e) => e.subject_id === u.id);
    expect(used).toMatchObject({ risk: 'medium', details: { purpose: 'login', remaining: 9 } });
    expect(JSON.stringify(used)).not.toContain(code);
  });

  it('refuses a body with both or neither of code and backup_code', async () => {
    const token = 'ghm_' + 'B'.repeat(43);
    expectError(await verifyMfa(t, slug, { mfa_token: token }), 400, 'VALIDATION_ERROR');
    expectError(await verifyMfa(t, slug, { mfa_token: token, code: '123456', backup_code: 'abcd-efgh-jkmn-pqrs' }), 400, 'VALIDATION_ERROR');
  });

  it('can deliver the refresh token in a cookie, like the password login', async () => {
    freezeClock();
    const u = await mfaUser('gus@mfa-login.test');
    advance(30);
    const token = await passwordStep(t, slug, 'gus@mfa-login.test', STRONG_PASSWORD);
    const res = await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret), token_delivery: 'cookie' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().refresh_token).toBeUndefined();
    expect(res.json().csrf_token).toEqual(expect.any(String));
    expect(String(res.headers['set-cookie'])).toContain(`gh_refresh=ghr_`);
    expect(String(res.headers['set-cookie'])).toContain(`Path=/t/${slug}/api/v1/auth`);
  });

  it('a user disabled between the two steps gets no session', async () => {
    freezeClock();
    const u = await mfaUser('hal@mfa-login.test');
    advance(30);
    const token = await passwordStep(t, slug, 'hal@mfa-login.test', STRONG_PASSWORD);
    const off = await t.app.inject({ method: 'PATCH', url: `/t/${slug}/api/v1/admin/users/${u.id}`, headers: bearer(admin), payload: { status: 'disabled' } });
    expect(off.statusCode, off.body).toBe(200);
    const res = await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret) });
    expect(errorCode(res)).toBe('ACCOUNT_DISABLED');
    expect(await tenantQuery(t, tenantId, 'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [u.id])).toEqual([]);
  });

  it('records login.mfa_required, mfa.verified and login.succeeded (method password+totp)', async () => {
    freezeClock();
    const u = await mfaUser('ivy@mfa-login.test');
    advance(30);
    const token = await passwordStep(t, slug, 'ivy@mfa-login.test', STRONG_PASSWORD);
    const res = await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret) });
    const sid = claimsOf(res.json().access_token).sid;
    const events = (await auditEvents(t, slug, admin)).filter((e) => e.subject_id === u.id).slice(0, 3);
    expect(events.map((e) => e.action)).toEqual(['login.succeeded', 'mfa.verified', 'login.mfa_required']);
    expect(events[0]!.details).toMatchObject({ method: 'password+totp', session_id: sid, risk_score: expect.any(Number) });
    expect(events[1]!.details).toEqual({ method: 'totp', purpose: 'login' });
    expect(events[2]!.details).toMatchObject({ factors: ['totp', 'backup_code'], enrollment_required: false });
    expect((await mySessions(t, slug, res.json().access_token)).map((s) => s.id)).toContain(sid);
  });

  it('the OpenAPI document gives the login both answers (oneOf)', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const schema = doc.paths['/t/{tenant}/api/v1/auth/login'].post.responses['200'].content['application/json'].schema;
    expect(schema.oneOf).toHaveLength(2);
    expect(schema.oneOf.map((s: { required: string[] }) => s.required)).toEqual([['mfa_required', 'mfa_token'], ['access_token']]);
    for (const p of ['/auth/mfa/verify', '/auth/step-up', '/me/mfa', '/me/mfa/totp', '/me/mfa/totp/verify', '/me/mfa/backup-codes', '/admin/users/{id}/mfa']) {
      expect(Object.keys(doc.paths)).toContain(`/t/{tenant}/api/v1${p}`);
    }
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { claimsOf, createUser, tenantQuery } from '../../helpers/auth-flows.ts';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, type TestApp } from '../../helpers/test-app.ts';
import { advance, codeAt, freezeClock, mfa, verifyMfa } from './mfa-helpers.ts';

const ORIGIN = 'http://gatehouse.test';
const MAX_ATTEMPTS = 5;

/**
 * Enrollment at sign-in with a passkey or security key instead of an authenticator app (tenant policy "required",
 * no grace period): POST /auth/mfa/enroll/webauthn/options and /verify with the enrollment-only mfa_token, driven by
 * the software authenticator. Same outcome as the app: a session at aal 2 (amr + hwk/swk), backup codes once, the
 * token used up; same refusals: MFA_TOKEN_INVALID / _EXPIRED, a used ceremony WEBAUTHN_CHALLENGE_INVALID, the
 * per-user MFA attempt limit.
 */
describe(`enrolling a passkey at the sign-in the MFA policy holds back (${backendName})`, () => {
  let t: TestApp;
  let tenantId: string;
  const slug = 'pk-enroll';
  const url = {
    ...mfa(slug),
    options: `/t/${slug}/api/v1/auth/mfa/enroll/webauthn/options`,
    finish: `/t/${slug}/api/v1/auth/mfa/enroll/webauthn/verify`,
  };
  const post = (path: string, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: path, payload });

  beforeAll(async () => {
    t = await buildTestApp();
    tenantId = (await createTenant(t, slug, { settings: { mfa_policy: 'required', mfa_grace_period: 0, mfa_max_attempts: MAX_ATTEMPTS } })).id;
  });
  afterAll(() => t.close());
  afterEach(() => vi.useRealTimers());

  /** A user without a factor and the enrollment-only token their password sign-in answers. */
  async function enrollToken(email: string): Promise<{ id: string; token: string }> {
    const { id } = await createUser(t, slug, email);
    return { id, token: await passwordStep(email) };
  }
  /** The password step: an enrollment token while the user has no factor, else the ordinary MFA token. */
  async function passwordStep(email: string, enroll = true): Promise<string> {
    const res = await login(t, slug, email);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject(enroll ? { mfa_required: true, mfa_enrollment_required: true, factors: [] } : { mfa_required: true });
    return res.json().mfa_token;
  }
  async function options(token: string) {
    const res = await post(url.options, { mfa_token: token });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().options as { challenge: string; rp: { id: string; name: string }; user: { id: string; name: string }; excludeCredentials: unknown[]; attestation: string };
  }
  const audit = (userId: string) =>
    tenantQuery<{ action: string; details: Record<string, unknown> }>(t, tenantId, 'SELECT action, details FROM audit_events WHERE subject_id = $1 ORDER BY created_at, id', [userId]);

  it('a passkey enrolls: aal 2 with amr pwd + hwk, backup codes once, the token used up; then it is the second factor', async () => {
    const { id, token } = await enrollToken('ada@pk-enroll.test');
    const o = await options(token);
    // The registration options of /me/mfa/webauthn: this tenant as RP, the user by email, no attestation.
    expect(o).toMatchObject({ rp: { id: 'gatehouse.test', name: 'PK-ENROLL' }, user: { name: 'ada@pk-enroll.test' }, excludeCredentials: [], attestation: 'none' });
    expect(Buffer.from(o.user.id, 'base64url').toString('hex')).toBe(id.replace(/-/g, ''));
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const done = await post(url.finish, { mfa_token: token, response: key.create(o), name: 'Desk key' });
    expect(done.statusCode, done.body).toBe(200);
    const body = done.json();
    expect(body.backup_codes).toHaveLength(10);
    expect(body.refresh_token).toEqual(expect.any(String));
    expect(claimsOf(body.access_token)).toMatchObject({ sub: id, amr: ['pwd', 'hwk'], aal: 2 });
    const [session] = await tenantQuery<{ aal: number; amr: string[] }>(t, tenantId, 'SELECT aal, amr FROM sessions WHERE user_id = $1', [id]);
    expect(session).toEqual({ aal: 2, amr: ['pwd', 'hwk'] });
    // The credential is the user's, under the name given.
    const list = await t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/me/mfa/webauthn`, headers: bearer(body.access_token) });
    expect(list.json().credentials).toEqual([expect.objectContaining({ name: 'Desk key', device_type: 'single_device' })]);
    // Audited as an enrollment, with the registration and the sign-in.
    const events = await audit(id);
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['mfa.enrollment_started', 'webauthn.registered', 'mfa.enrolled', 'login.succeeded']));
    expect(events.find((e) => e.action === 'mfa.enrollment_started')!.details).toMatchObject({ type: 'webauthn' });
    expect(events.find((e) => e.action === 'mfa.enrolled')!.details).toMatchObject({ type: 'webauthn', backup_codes_issued: 10, device_type: 'single_device' });
    expect(events.find((e) => e.action === 'login.succeeded')!.details).toMatchObject({ method: 'password+webauthn' });

    // Used up: neither route takes the token again.
    expectError(await post(url.options, { mfa_token: token }), 401, 'MFA_TOKEN_INVALID');
    expectError(await post(url.finish, { mfa_token: token, response: key.create(o) }), 401, 'MFA_TOKEN_INVALID');

    // The next sign-in asks for the second factor (not enrollment) and the passkey passes it.
    const next = await login(t, slug, 'ada@pk-enroll.test');
    expect(next.json()).toMatchObject({ mfa_required: true, factors: ['webauthn', 'backup_code'] });
    expect(next.json().mfa_enrollment_required).toBeUndefined();
    // A login token is not an enrollment token.
    expectError(await post(url.options, { mfa_token: next.json().mfa_token }), 401, 'MFA_TOKEN_INVALID');
    const assertion = await post(`/t/${slug}/api/v1/auth/mfa/webauthn/options`, { mfa_token: next.json().mfa_token });
    expect(assertion.statusCode, assertion.body).toBe(200);
    const second = await verifyMfa(t, slug, { mfa_token: next.json().mfa_token, webauthn: { challenge_id: assertion.json().challenge_id, response: key.get(assertion.json().options) } });
    expect(second.statusCode, second.body).toBe(200);
    expect(claimsOf(second.json().access_token)).toMatchObject({ sub: id, amr: ['pwd', 'hwk'], aal: 2 });
    // And a backup code from the enrollment works too.
    const third = await verifyMfa(t, slug, { mfa_token: await passwordStep('ada@pk-enroll.test', false), backup_code: body.backup_codes[0] });
    expect(third.statusCode, third.body).toBe(200);
  });

  it('a synced passkey enrolls with amr swk; token_delivery cookie works as for the app', async () => {
    const { id, token } = await enrollToken('bo@pk-enroll.test');
    const synced = new SoftAuthenticator({ origin: ORIGIN, backupEligible: true, counts: false });
    const done = await post(url.finish, { mfa_token: token, response: synced.create(await options(token)), token_delivery: 'cookie' });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json().refresh_token).toBeUndefined();
    expect(done.json().csrf_token).toEqual(expect.any(String));
    expect(done.json().backup_codes).toHaveLength(10);
    expect(claimsOf(done.json().access_token)).toMatchObject({ sub: id, amr: ['pwd', 'swk'], aal: 2 });
  });

  it('the authenticator-app setup drawn beside the passkey is discarded when the passkey enrolls: its code no longer confirms', async () => {
    const { id, token } = await enrollToken('fa@pk-enroll.test');
    // The enrollment step draws the app setup (a pending secret) and offers a passkey; the user takes the passkey.
    const setup = await post(url.enroll, { mfa_token: token });
    expect(setup.statusCode, setup.body).toBe(200);
    const { secret } = setup.json() as { secret: string };
    const factors = () => tenantQuery<{ type: string; status: string }>(t, tenantId, 'SELECT type, status FROM mfa_factors WHERE user_id = $1', [id]);
    expect(await factors()).toEqual([{ type: 'totp', status: 'pending' }]);
    const key = new SoftAuthenticator({ origin: ORIGIN });
    const done = await post(url.finish, { mfa_token: token, response: key.create(await options(token)) });
    expect(done.statusCode, done.body).toBe(200);
    expect(await factors()).toEqual([]);
    // The signed-in user cannot confirm the abandoned secret with its current code (it would otherwise activate).
    const confirm = await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(done.json().access_token), payload: { code: codeAt(secret) } });
    expectError(confirm, 404, 'MFA_ENROLLMENT_NOT_FOUND');
    const next = await login(t, slug, 'fa@pk-enroll.test');
    expect(next.json()).toMatchObject({ mfa_required: true, factors: ['webauthn', 'backup_code'] });
  });

  it('refuses an unknown, expired or foreign token, a used ceremony and another enrollment’s options; a failure keeps the token', async () => {
    const key = new SoftAuthenticator({ origin: ORIGIN });
    expectError(await post(url.options, { mfa_token: 'ghm_unknown' }), 401, 'MFA_TOKEN_INVALID');
    expectError(await post(url.options, { mfa_token: 'not-a-token' }), 401, 'MFA_TOKEN_INVALID');

    const { id, token } = await enrollToken('cy@pk-enroll.test');
    const o = await options(token);
    expectError(await post(url.finish, { mfa_token: 'ghm_unknown', response: key.create(o) }), 401, 'MFA_TOKEN_INVALID');
    // A response from another origin: refused, and its ceremony is spent...
    expectError(await post(url.finish, { mfa_token: token, response: key.create(o, { origin: 'https://evil.example' }) }), 400, 'WEBAUTHN_VERIFICATION_FAILED');
    // ...so the right answer to the same challenge (a replay) is refused too.
    expectError(await post(url.finish, { mfa_token: token, response: key.create(o) }), 400, 'WEBAUTHN_CHALLENGE_INVALID');
    // A challenge never issued.
    expectError(await post(url.finish, { mfa_token: token, response: key.create(o, { challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }) }), 400, 'WEBAUTHN_CHALLENGE_INVALID');
    // Options of the same user's other enrollment (another sign-in) answer that one only.
    const other = await passwordStep('cy@pk-enroll.test');
    const otherOptions = await options(other);
    expectError(await post(url.finish, { mfa_token: token, response: key.create(otherOptions) }), 400, 'WEBAUTHN_CHALLENGE_INVALID');
    expect(await tenantQuery(t, tenantId, 'SELECT id FROM webauthn_credentials WHERE user_id = $1', [id])).toEqual([]);
    expect(await tenantQuery(t, tenantId, 'SELECT id FROM sessions WHERE user_id = $1', [id])).toEqual([]);
    const failed = (await audit(id)).filter((e) => e.action === 'mfa.failed').map((e) => e.details);
    expect(failed).toEqual([
      { method: 'webauthn', reason: 'registration_invalid', purpose: 'enrollment' },
      { method: 'webauthn', reason: 'challenge_invalid', purpose: 'enrollment' },
      { method: 'webauthn', reason: 'challenge_invalid', purpose: 'enrollment' },
      { method: 'webauthn', reason: 'challenge_invalid', purpose: 'enrollment' },
    ]);

    // The token survived: fresh options enroll (one attempt was left).
    const done = await post(url.finish, { mfa_token: token, response: key.create(await options(token)) });
    expect(done.statusCode, done.body).toBe(200);

    // An expired token: MFA_TOKEN_EXPIRED on both routes (after 15 minutes).
    freezeClock();
    const late = await enrollToken('di@pk-enroll.test');
    const lateOptions = await options(late.token);
    advance(901);
    expectError(await post(url.finish, { mfa_token: late.token, response: key.create(lateOptions) }), 401, 'MFA_TOKEN_EXPIRED');
    const again = await passwordStep('di@pk-enroll.test');
    advance(901);
    expectError(await post(url.options, { mfa_token: again }), 401, 'MFA_TOKEN_EXPIRED');
  });

  it('refused responses count against the MFA attempt limit shared with codes: then 429, even for a good one', async () => {
    const { id, token } = await enrollToken('ed@pk-enroll.test');
    const key = new SoftAuthenticator({ origin: ORIGIN });
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      expectError(await post(url.finish, { mfa_token: token, response: key.create(await options(token), { origin: 'https://evil.example' }) }), 400, 'WEBAUTHN_VERIFICATION_FAILED');
    }
    const limited = await post(url.finish, { mfa_token: token, response: key.create(await options(token)) });
    expectError(limited, 429, 'RATE_LIMITED');
    expect(limited.headers['retry-after']).toEqual(expect.any(String));
    // The app path is held by the same limit.
    const { secret } = (await post(url.enroll, { mfa_token: token })).json();
    expect(secret).toEqual(expect.any(String));
    expectError(await post(url.enrollVerify, { mfa_token: token, code: '123456' }), 429, 'RATE_LIMITED');
    expect(await tenantQuery(t, tenantId, 'SELECT id FROM webauthn_credentials WHERE user_id = $1', [id])).toEqual([]);
  });

  it('the OpenAPI document describes both routes', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const paths = Object.keys(doc.paths);
    const find = (suffix: string) => paths.find((p) => p.endsWith(suffix))!;
    const opts = doc.paths[find('/auth/mfa/enroll/webauthn/options')].post;
    const verify = doc.paths[find('/auth/mfa/enroll/webauthn/verify')].post;
    expect(opts.requestBody.content['application/json'].schema.required).toEqual(['mfa_token']);
    expect(Object.keys(opts.responses)).toEqual(expect.arrayContaining(['200', '401']));
    expect(verify.requestBody.content['application/json'].schema.required).toEqual(['mfa_token', 'response']);
    expect(Object.keys(verify.responses['200'].content['application/json'].schema.properties)).toEqual(expect.arrayContaining(['access_token', 'backup_codes']));
    expect(Object.keys(verify.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '429']));
  });
});

import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditContext } from '../../../src/audit/audit.ts';
import type { ResolvedTenant } from '../../../src/tenancy/tenant-directory.ts';
import { secondFactorOptions, verifyAssertionForUser } from '../../../src/webauthn/index.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, type TestApp } from '../../helpers/test-app.ts';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.ts';
import { addPasskey, api, auditActions, loginOptions, signIn, signUp, stepUpWithPasskey } from './passkeys.ts';

const ORIGIN = 'http://gatehouse.test';
const ctx: AuditContext = { actorType: 'anonymous', ip: '127.0.0.1', userAgent: 'vitest', requestId: 'second-factor-test' };

/**
 * The passkey as a second factor: the functions the MFA challenge (POST /auth/mfa/verify) calls once the password
 * passed. Called directly here; the route that wires them belongs to the MFA flow.
 */
describe(`passkey as a second factor (${backendName})`, () => {
  let t: TestApp;
  let tenant: ResolvedTenant;
  let admin: { access: string };
  const slug = 'second';

  beforeAll(async () => {
    t = await buildTestApp();
    const created = await createTenant(t, slug);
    admin = await signIn(t, slug, created.adminEmail);
    tenant = (await t.gh.tenants.bySlug(slug))!;
  });
  afterAll(() => t.close());

  const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

  it('options name the user’s credentials (user verification discouraged); the verified assertion gives the amr', async () => {
    const u = await signUp(t, slug, 'two@second.test');
    const key = new SoftAuthenticator({ origin: ORIGIN, userVerified: false });
    const cred = await addPasskey(t, slug, u.access, key);
    const synced = new SoftAuthenticator({ origin: ORIGIN, backupEligible: true });
    await stepUpWithPasskey(t, slug, u.access, key);
    await addPasskey(t, slug, u.access, synced);

    const o = (await secondFactorOptions(t.gh, tenant, u.id))!;
    expect(o.options.userVerification).toBe('discouraged');
    expect(o.options.allowCredentials!.map((c) => c.id)).toEqual([key.credentials[0]!.id.toString('base64url'), synced.credentials[0]!.id.toString('base64url')]);
    const r = await verifyAssertionForUser(t.gh, tenant, u.id, o.challenge_id, key.get(o.options) as never, ctx);
    expect(r).toEqual({ amr: ['hwk'], userVerified: false, credentialId: cred.id });
    // Used once.
    expect(await code(verifyAssertionForUser(t.gh, tenant, u.id, o.challenge_id, key.get(o.options) as never, ctx))).toBe('WEBAUTHN_CHALLENGE_INVALID');

    const o2 = (await secondFactorOptions(t.gh, tenant, u.id))!;
    expect(await verifyAssertionForUser(t.gh, tenant, u.id, o2.challenge_id, synced.get(o2.options) as never, ctx)).toMatchObject({ amr: ['swk'] });
    const used = (await auditActions(t, slug, admin.access, 'webauthn.used')).filter((e) => e.subject_id === u.id);
    // The step-up before the second key was a second-factor use too.
    expect(used.map((e) => e.details.purpose)).toEqual(['second_factor', 'second_factor', 'second_factor']);
  });

  it('a ceremony is bound to its user and purpose; another user’s passkey does not pass', async () => {
    const a = await signUp(t, slug, 'a@second.test');
    const b = await signUp(t, slug, 'b@second.test');
    const ka = new SoftAuthenticator({ origin: ORIGIN });
    const kb = new SoftAuthenticator({ origin: ORIGIN });
    await addPasskey(t, slug, a.access, ka);
    await addPasskey(t, slug, b.access, kb);

    const forA = (await secondFactorOptions(t.gh, tenant, a.id))!;
    expect(await code(verifyAssertionForUser(t.gh, tenant, b.id, forA.challenge_id, kb.get({ ...forA.options, allowCredentials: undefined }) as never, ctx))).toBe(
      'WEBAUTHN_CHALLENGE_INVALID',
    );
    const forB = (await secondFactorOptions(t.gh, tenant, b.id))!;
    expect(await code(verifyAssertionForUser(t.gh, tenant, b.id, forB.challenge_id, ka.get({ ...forB.options, allowCredentials: undefined }) as never, ctx))).toBe(
      'WEBAUTHN_AUTHENTICATION_FAILED',
    );
    // A passwordless sign-in challenge is not a second-factor challenge.
    const login = await loginOptions(t, slug);
    expect(await code(verifyAssertionForUser(t.gh, tenant, a.id, login.challenge_id, ka.get(login.options) as never, ctx))).toBe('WEBAUTHN_CHALLENGE_INVALID');
    // A user without passkeys gets no options.
    const c = await signUp(t, slug, 'c@second.test');
    expect(await secondFactorOptions(t.gh, tenant, c.id)).toBeUndefined();
  });

  it('the signature counter is checked here too', async () => {
    const u = await signUp(t, slug, 'counted@second.test');
    const key = new SoftAuthenticator({ origin: ORIGIN });
    await addPasskey(t, slug, u.access, key);
    const clone = key.clone();
    const o = (await secondFactorOptions(t.gh, tenant, u.id))!;
    await verifyAssertionForUser(t.gh, tenant, u.id, o.challenge_id, key.get(o.options) as never, ctx);
    const o2 = (await secondFactorOptions(t.gh, tenant, u.id))!;
    expect(await code(verifyAssertionForUser(t.gh, tenant, u.id, o2.challenge_id, clone.get(o2.options) as never, ctx))).toBe('WEBAUTHN_AUTHENTICATION_FAILED');
    const failed = (await auditActions(t, slug, admin.access, 'login.failed')).filter((e) => e.subject_id === u.id);
    expect(failed[0]?.details).toMatchObject({ method: 'webauthn', stage: 'second_factor', reason: 'counter_not_increased' });
  });

  it('through HTTP: a password sign-in of a user with a passkey asks for it, and the key completes it (amr pwd+hwk, aal 2)', async () => {
    const u = await signUp(t, slug, 'http-two@second.test');
    const key = new SoftAuthenticator({ origin: ORIGIN, userVerified: false });
    await addPasskey(t, slug, u.access, key);

    const first = await login(t, slug, 'http-two@second.test');
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ mfa_required: true, factors: ['webauthn'] });
    expect(first.json().access_token).toBeUndefined();
    const mfaToken = first.json().mfa_token as string;

    const options = await t.app.inject({ method: 'POST', url: `${api(slug)}/auth/mfa/webauthn/options`, payload: { mfa_token: mfaToken } });
    expect(options.statusCode, options.body).toBe(200);
    const { challenge_id, options: o } = options.json();
    // Another key's assertion is refused and counted; the mfa_token survives a wrong answer.
    const stranger = new SoftAuthenticator({ origin: ORIGIN });
    stranger.create({ challenge: 'x', rp: { id: 'gatehouse.test' }, user: { id: Buffer.from('stranger').toString('base64url') } });
    const wrong = await t.app.inject({
      method: 'POST',
      url: `${api(slug)}/auth/mfa/verify`,
      payload: { mfa_token: mfaToken, webauthn: { challenge_id, response: stranger.get({ ...o, allowCredentials: undefined }) } },
    });
    expectError(wrong, 401, 'WEBAUTHN_AUTHENTICATION_FAILED');

    const again = await t.app.inject({ method: 'POST', url: `${api(slug)}/auth/mfa/webauthn/options`, payload: { mfa_token: mfaToken } });
    const done = await t.app.inject({
      method: 'POST',
      url: `${api(slug)}/auth/mfa/verify`,
      payload: { mfa_token: mfaToken, webauthn: { challenge_id: again.json().challenge_id, response: key.get(again.json().options) } },
    });
    expect(done.statusCode, done.body).toBe(200);
    expect(decodeJwt(done.json().access_token)).toMatchObject({ sub: u.id, amr: ['pwd', 'hwk'], aal: 2 });
    const me = await t.app.inject({ method: 'GET', url: `${api(slug)}/me`, headers: bearer(done.json().access_token) });
    expect(me.statusCode).toBe(200);
    // The mfa_token was single use.
    expectError(
      await t.app.inject({ method: 'POST', url: `${api(slug)}/auth/mfa/webauthn/options`, payload: { mfa_token: mfaToken } }),
      401,
      'MFA_TOKEN_INVALID',
    );
  });
});

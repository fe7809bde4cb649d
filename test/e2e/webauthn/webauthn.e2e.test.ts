import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenantTx } from '../../../src/db/tenant-tx.ts';
import { sha256 } from '../../../src/shared/crypto.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, type TestApp } from '../../helpers/test-app.ts';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.ts';
import {
  addPasskey,
  api,
  auditActions,
  loginOptions,
  passkeySignIn,
  registrationOptions,
  signIn,
  signUp,
  stepUpWithPasskey,
  verifyLogin,
  verifyRegistration,
} from './passkeys.ts';

const ORIGIN = 'http://gatehouse.test';

describe(`passkeys through the HTTP API (${backendName})`, () => {
  let t: TestApp;
  let tenantId: string;
  let admin: { id: string; access: string };
  const slug = 'keys';

  beforeAll(async () => {
    t = await buildTestApp();
    const created = await createTenant(t, slug, { name: 'Keys Inc', settings: { login_max_failures_per_email: 1000 } });
    tenantId = created.id;
    admin = await signIn(t, slug, created.adminEmail);
  });
  afterAll(() => t.close());

  it('registers a passkey: options name the tenant as relying party (host of its issuer), the credential is listed', async () => {
    const alice = await signUp(t, slug, 'alice@keys.test');
    const options = await registrationOptions(t, slug, alice.access);
    expect(options.rp).toEqual({ id: 'gatehouse.test', name: 'Keys Inc' });
    expect(options.user.name).toBe('alice@keys.test');
    expect(Buffer.from(options.user.id, 'base64url').toString('hex')).toBe(alice.id.replace(/-/g, ''));
    expect(options.authenticatorSelection).toMatchObject({ residentKey: 'preferred', userVerification: 'preferred' });
    expect(options.excludeCredentials).toEqual([]);
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const soft = new SoftAuthenticator({ origin: ORIGIN });
    const r = await verifyRegistration(t, slug, alice.access, { response: soft.create(options), name: 'Laptop' });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ name: 'Laptop', device_type: 'single_device', backed_up: false, transports: ['internal', 'hybrid'], last_used_at: null });
    expect(r.json()).not.toHaveProperty('public_key');

    // A second authenticator (with MFA on, adding one needs a recent second factor): the first is excluded.
    expectError(
      await t.app.inject({ method: 'POST', url: `${api(slug)}/me/mfa/webauthn/registration/options`, headers: bearer(alice.access) }),
      403,
      'STEP_UP_REQUIRED',
    );
    await stepUpWithPasskey(t, slug, alice.access, soft);
    const again = await registrationOptions(t, slug, alice.access);
    expect(again.excludeCredentials).toEqual([{ id: soft.credentials[0]!.id.toString('base64url'), type: 'public-key', transports: ['internal', 'hybrid'] }]);
    const synced = new SoftAuthenticator({ origin: ORIGIN, backupEligible: true });
    const second = await verifyRegistration(t, slug, alice.access, { response: synced.create(again) });
    expect(second.statusCode, second.body).toBe(201);
    expect(second.json()).toMatchObject({ name: 'Passkey', device_type: 'multi_device', backed_up: true });

    const list = await t.app.inject({ method: 'GET', url: `${api(slug)}/me/mfa/webauthn`, headers: bearer(alice.access) });
    expect(list.statusCode).toBe(200);
    expect(list.json().credentials.map((c: { name: string }) => c.name)).toEqual(['Laptop', 'Passkey']);

    const events = await auditActions(t, slug, admin.access, 'webauthn.registered');
    expect(events.filter((e) => e.subject_id === alice.id)).toHaveLength(2);
  });

  it('signs in usernameless with a device-bound, user-verifying key: amr hwk, aal 2, a working session', async () => {
    const bob = await signUp(t, slug, 'bob@keys.test');
    const soft = new SoftAuthenticator({ origin: ORIGIN });
    const cred = await addPasskey(t, slug, bob.access, soft);

    const { challenge_id, options } = await loginOptions(t, slug);
    expect(options.rpId).toBe('gatehouse.test');
    expect(options.allowCredentials).toBeUndefined();
    expect(challenge_id.length).toBeGreaterThanOrEqual(43);
    const r = await verifyLogin(t, slug, { challenge_id, response: soft.get(options) });
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ token_type: 'Bearer', user: { id: bob.id, email: 'bob@keys.test' } });
    expect(body.refresh_token).toMatch(/^ghr_/);
    const claims = decodeJwt(body.access_token);
    expect(claims).toMatchObject({ sub: bob.id, amr: ['hwk'], aal: 2 });

    const me = await t.app.inject({ method: 'GET', url: `${api(slug)}/me`, headers: bearer(body.access_token) });
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json().id).toBe(bob.id);
    const sessions = await t.app.inject({ method: 'GET', url: `${api(slug)}/me/sessions`, headers: bearer(body.access_token) });
    expect(sessions.json().sessions.find((s: { current: boolean }) => s.current)).toMatchObject({ amr: ['hwk'], aal: 2 });
    // The refresh token of a passkey session rotates like any other.
    const rf = await t.app.inject({ method: 'POST', url: `${api(slug)}/auth/refresh`, payload: { refresh_token: body.refresh_token } });
    expect(rf.statusCode, rf.body).toBe(200);
    expect(decodeJwt(rf.json().access_token)).toMatchObject({ amr: ['hwk'], aal: 2 });

    const list = await t.app.inject({ method: 'GET', url: `${api(slug)}/me/mfa/webauthn`, headers: bearer(bob.access) });
    expect(list.json().credentials[0].id).toBe(cred.id);
    expect(list.json().credentials[0].last_used_at).not.toBeNull();

    const logins = await auditActions(t, slug, admin.access, 'login.succeeded');
    expect(logins.find((e) => e.subject_id === bob.id && e.details.method === 'webauthn')?.details).toMatchObject({ credential: cred.id, user_verified: true });
    const used = await auditActions(t, slug, admin.access, 'webauthn.used');
    expect(used.find((e) => e.subject_id === bob.id)?.details).toMatchObject({ credential: cred.id, purpose: 'login', counter: 1 });
  });

  it('a synced passkey without user verification: amr swk, aal 1; a counter that stays 0 is accepted every time', async () => {
    const carol = await signUp(t, slug, 'carol@keys.test');
    const soft = new SoftAuthenticator({ origin: ORIGIN, backupEligible: true, userVerified: false, counts: false });
    await addPasskey(t, slug, carol.access, soft);
    for (let i = 0; i < 2; i++) {
      const r = await passkeySignIn(t, slug, soft);
      expect(r.statusCode, r.body).toBe(200);
      expect(decodeJwt(r.json().access_token)).toMatchObject({ sub: carol.id, amr: ['swk'], aal: 1 });
    }
  });

  it('a browser can take the refresh token as an httpOnly cookie, as with the password login', async () => {
    const nia = await signUp(t, slug, 'nia@keys.test');
    const soft = new SoftAuthenticator({ origin: ORIGIN });
    await addPasskey(t, slug, nia.access, soft);
    const { challenge_id, options } = await loginOptions(t, slug);
    const r = await verifyLogin(t, slug, { challenge_id, response: soft.get(options), token_delivery: 'cookie' });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().refresh_token).toBeUndefined();
    expect(r.json().csrf_token).toEqual(expect.any(String));
    const refresh = r.cookies.find((c) => c.name === 'gh_refresh');
    expect(refresh).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: `/t/${slug}/api/v1/auth` });
    const rf = await t.app.inject({
      method: 'POST',
      url: `${api(slug)}/auth/refresh`,
      cookies: Object.fromEntries(r.cookies.map((c) => [c.name, c.value])),
      headers: { 'x-csrf-token': r.json().csrf_token },
    });
    expect(rf.statusCode, rf.body).toBe(200);
    expect(decodeJwt(rf.json().access_token)).toMatchObject({ sub: nia.id, amr: ['hwk'], aal: 2 });
  });

  it('a usernameless assertion must carry the user handle of its credential', async () => {
    const dan = await signUp(t, slug, 'dan@keys.test');
    const soft = new SoftAuthenticator({ origin: ORIGIN });
    await addPasskey(t, slug, dan.access, soft);
    expectError(await passkeySignIn(t, slug, soft, undefined, { omitUserHandle: true }), 401, 'WEBAUTHN_AUTHENTICATION_FAILED');
    const { challenge_id, options } = await loginOptions(t, slug);
    const response = soft.get(options);
    response.response.userHandle = Buffer.from('someone else entirely').toString('base64url');
    expectError(await verifyLogin(t, slug, { challenge_id, response }), 401, 'WEBAUTHN_AUTHENTICATION_FAILED');
  });

  it('challenges are single use, expire, belong to their tenant and user', async () => {
    const erin = await signUp(t, slug, 'erin@keys.test');
    const soft = new SoftAuthenticator({ origin: ORIGIN });
    // Registration: the same response twice.
    const options = await registrationOptions(t, slug, erin.access);
    const response = soft.create(options);
    expect((await verifyRegistration(t, slug, erin.access, { response })).statusCode).toBe(201);
    // With that passkey erin has MFA: what follows needs a recent second factor first.
    await stepUpWithPasskey(t, slug, erin.access, soft);
    expectError(await verifyRegistration(t, slug, erin.access, { response }), 400, 'WEBAUTHN_CHALLENGE_INVALID');
    // Registration: another user's challenge.
    const frank = await signUp(t, slug, 'frank@keys.test');
    const erinOptions = await registrationOptions(t, slug, erin.access);
    expectError(
      await verifyRegistration(t, slug, frank.access, { response: new SoftAuthenticator({ origin: ORIGIN }).create(erinOptions) }),
      400,
      'WEBAUTHN_CHALLENGE_INVALID',
    );

    // Sign-in: the same challenge id twice.
    const { challenge_id, options: o } = await loginOptions(t, slug);
    expect((await verifyLogin(t, slug, { challenge_id, response: soft.get(o) })).statusCode).toBe(200);
    expectError(await verifyLogin(t, slug, { challenge_id, response: soft.get(o) }), 400, 'WEBAUTHN_CHALLENGE_INVALID');
    // A made-up id; an id from another tenant.
    expectError(await verifyLogin(t, slug, { challenge_id: 'x'.repeat(43), response: soft.get(o) }), 400, 'WEBAUTHN_CHALLENGE_INVALID');
    await createTenant(t, 'other-keys');
    const foreign = await loginOptions(t, 'other-keys');
    expectError(await verifyLogin(t, slug, { challenge_id: foreign.challenge_id, response: soft.get(o) }), 400, 'WEBAUTHN_CHALLENGE_INVALID');
    // Expiry: the store's TTL (5 minutes) ends it; here the stored entry is removed as the TTL would.
    const late = await loginOptions(t, slug);
    await t.gh.kv.delete(`webauthn:${tenantId}:${sha256(late.challenge_id)}`);
    expectError(await verifyLogin(t, slug, { challenge_id: late.challenge_id, response: soft.get(late.options) }), 400, 'WEBAUTHN_CHALLENGE_INVALID');
  });

  it('refuses responses from another origin or for another RP, and garbage, without a 500', async () => {
    const gail = await signUp(t, slug, 'gail@keys.test');
    const evil = new SoftAuthenticator({ origin: 'http://evil.test' });
    expectError(await verifyRegistration(t, slug, gail.access, { response: evil.create(await registrationOptions(t, slug, gail.access)) }), 400, 'WEBAUTHN_VERIFICATION_FAILED');
    const wrongRp = await registrationOptions(t, slug, gail.access);
    expectError(
      await verifyRegistration(t, slug, gail.access, { response: new SoftAuthenticator({ origin: ORIGIN }).create({ ...wrongRp, rp: { id: 'evil.test' } }) }),
      400,
      'WEBAUTHN_VERIFICATION_FAILED',
    );
    const garbage = { id: 'AAAAAAAAAAAAAAAAAAAAAA', rawId: 'AAAAAAAAAAAAAAAAAAAAAA', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } };
    expectError(await verifyRegistration(t, slug, gail.access, { response: garbage }), 400, 'WEBAUTHN_VERIFICATION_FAILED');

    const soft = new SoftAuthenticator({ origin: ORIGIN });
    await addPasskey(t, slug, gail.access, soft);
    expectError(await passkeySignIn(t, slug, soft, undefined, { origin: 'http://evil.test' }), 401, 'WEBAUTHN_AUTHENTICATION_FAILED');
    // A signature by another key for the same credential id.
    const { challenge_id, options } = await loginOptions(t, slug);
    const forged = new SoftAuthenticator({ origin: ORIGIN });
    forged.create({ challenge: 'x', rp: { id: 'gatehouse.test' }, user: { id: soft.credentials[0]!.userHandle } });
    const response = forged.get(options);
    response.id = response.rawId = soft.credentials[0]!.id.toString('base64url');
    expectError(await verifyLogin(t, slug, { challenge_id, response }), 401, 'WEBAUTHN_AUTHENTICATION_FAILED');
    // A key this tenant never registered.
    expectError(await passkeySignIn(t, slug, forged), 401, 'WEBAUTHN_AUTHENTICATION_FAILED');
    const failed = await auditActions(t, slug, admin.access, 'login.failed');
    expect(failed.filter((e) => e.details.method === 'webauthn').map((e) => e.details.reason)).toEqual(
      expect.arrayContaining(['assertion_invalid', 'unknown_credential', 'user_handle_mismatch']),
    );
  });

  it('with an email: allowCredentials are that account’s; an unknown email or one without passkeys looks the same, stably', async () => {
    const hal = await signUp(t, slug, 'hal@keys.test');
    const soft = new SoftAuthenticator({ origin: ORIGIN });
    const cred = await addPasskey(t, slug, hal.access, soft);
    const real = await loginOptions(t, slug, 'HAL@keys.test');
    expect(real.options.allowCredentials).toEqual([{ id: soft.credentials[0]!.id.toString('base64url'), type: 'public-key', transports: ['internal', 'hybrid'] }]);
    const r = await verifyLogin(t, slug, { challenge_id: real.challenge_id, response: soft.get(real.options) });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().user.id).toBe(hal.id);
    expect(cred.id).toBeTruthy();

    await signUp(t, slug, 'ivy@keys.test'); // an account without passkeys
    for (const email of ['nobody@keys.test', 'ivy@keys.test']) {
      const a = await loginOptions(t, slug, email);
      const b = await loginOptions(t, slug, email);
      expect(Object.keys(a.options).sort()).toEqual(Object.keys(real.options).sort());
      expect(a.options.allowCredentials!.length).toBeGreaterThanOrEqual(1);
      for (const c of a.options.allowCredentials!) {
        expect(c.type).toBe('public-key');
        expect(c.id).toMatch(/^[A-Za-z0-9_-]{22,86}$/);
        expect(c.transports.length).toBeGreaterThan(0);
      }
      // Stable for the email, as a real account's list is; different between emails.
      expect(b.options.allowCredentials).toEqual(a.options.allowCredentials);
      expect(a.options.challenge).not.toBe(b.options.challenge);
    }
    expect((await loginOptions(t, slug, 'nobody@keys.test')).options.allowCredentials).not.toEqual(
      (await loginOptions(t, slug, 'ivy@keys.test')).options.allowCredentials,
    );

    // A ceremony started for one email cannot be finished with another account's passkey.
    const other = await loginOptions(t, slug, 'ivy@keys.test');
    expectError(await verifyLogin(t, slug, { challenge_id: other.challenge_id, response: soft.get({ ...other.options, allowCredentials: undefined }) }), 401, 'WEBAUTHN_AUTHENTICATION_FAILED');
  });

  it('disabled and locked accounts are refused as the password login refuses them', async () => {
    const jo = await signUp(t, slug, 'jo@keys.test');
    const soft = new SoftAuthenticator({ origin: ORIGIN });
    await addPasskey(t, slug, jo.access, soft);
    const url = `${api(slug)}/admin/users/${jo.id}`;
    expect((await t.app.inject({ method: 'PATCH', url, headers: bearer(admin.access), payload: { status: 'disabled' } })).statusCode).toBe(200);
    expectError(await passkeySignIn(t, slug, soft), 403, 'ACCOUNT_DISABLED');
    expect((await t.app.inject({ method: 'PATCH', url, headers: bearer(admin.access), payload: { status: 'active' } })).statusCode).toBe(200);
    expect((await passkeySignIn(t, slug, soft)).statusCode).toBe(200);

    // Locked by wrong passwords (tenant lockout after 10).
    for (let i = 0; i < 10; i++) expect((await login(t, slug, 'jo@keys.test', 'wrong password number ' + i, {})).statusCode).toBe(401);
    expectError(await passkeySignIn(t, slug, soft), 403, 'ACCOUNT_LOCKED');
  });

  it('renames and removes a passkey; removal needs a recent second factor, adding a recent sign-in; a removed passkey no longer signs in', async () => {
    const kim = await signUp(t, slug, 'kim@keys.test');
    const soft = new SoftAuthenticator({ origin: ORIGIN });
    const cred = await addPasskey(t, slug, kim.access, soft, 'Old name');
    const url = `${api(slug)}/me/mfa/webauthn/${cred.id}`;
    const renamed = await t.app.inject({ method: 'PATCH', url, headers: bearer(kim.access), payload: { name: '  YubiKey 5C  ' } });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json().name).toBe('YubiKey 5C');
    expectError(await t.app.inject({ method: 'PATCH', url, headers: bearer(kim.access), payload: { name: '   ' } }), 400, 'VALIDATION_ERROR');

    // Someone else's passkey: not found, for rename and removal alike.
    const lee = await signUp(t, slug, 'lee@keys.test');
    expectError(await t.app.inject({ method: 'PATCH', url, headers: bearer(lee.access), payload: { name: 'mine' } }), 404, 'WEBAUTHN_CREDENTIAL_NOT_FOUND');
    expectError(await t.app.inject({ method: 'DELETE', url, headers: bearer(lee.access) }), 404, 'WEBAUTHN_CREDENTIAL_NOT_FOUND');

    // The session is 20 minutes old and never passed a second factor: removal wants a step-up, adding a fresh sign-in.
    const sid = decodeJwt(kim.access).sid as string;
    await withTenantTx(t.gh.db, tenantId, (tx) => tx.query(`UPDATE sessions SET created_at = now() - interval '20 minutes' WHERE id = $1`, [sid]));
    expectError(await t.app.inject({ method: 'DELETE', url, headers: bearer(kim.access) }), 403, 'STEP_UP_REQUIRED');
    expectError(
      await t.app.inject({ method: 'POST', url: `${api(slug)}/me/mfa/webauthn/registration/options`, headers: bearer(kim.access) }),
      403,
      'REAUTHENTICATION_REQUIRED',
    );
    // A refresh does not make it recent; a new sign-in (here with the passkey itself) does.
    const refreshed = await t.app.inject({ method: 'POST', url: `${api(slug)}/auth/refresh`, payload: { refresh_token: kim.refresh } });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    expectError(await t.app.inject({ method: 'DELETE', url, headers: bearer(refreshed.json().access_token) }), 403, 'STEP_UP_REQUIRED');
    const fresh = await passkeySignIn(t, slug, soft);
    expect(fresh.statusCode, fresh.body).toBe(200);
    const removed = await t.app.inject({ method: 'DELETE', url, headers: bearer(fresh.json().access_token) });
    expect(removed.statusCode, removed.body).toBe(204);
    expectError(await t.app.inject({ method: 'DELETE', url, headers: bearer(fresh.json().access_token) }), 404, 'WEBAUTHN_CREDENTIAL_NOT_FOUND');
    expectError(await passkeySignIn(t, slug, soft), 401, 'WEBAUTHN_AUTHENTICATION_FAILED');

    const events = await auditActions(t, slug, admin.access, 'webauthn.*');
    const mine = events.filter((e) => e.subject_id === kim.id).map((e) => e.action);
    expect(mine).toEqual(expect.arrayContaining(['webauthn.registered', 'webauthn.renamed', 'webauthn.used', 'webauthn.removed']));
  });

  it('per-tenant RP ID and origins (settings) replace the issuer defaults', async () => {
    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/platform/tenants/${slug}`,
      headers: bearer(t.platformToken),
      payload: { settings: { webauthn_rp_id: 'keys.example', webauthn_origins: ['https://app.keys.example', 'https://login.keys.example:8443'] } },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    try {
      const mo = await signUp(t, slug, 'mo@keys.test');
      const options = await registrationOptions(t, slug, mo.access);
      expect(options.rp).toEqual({ id: 'keys.example', name: 'Keys Inc' });
      const soft = new SoftAuthenticator({ origin: 'https://login.keys.example:8443' });
      await addPasskey(t, slug, mo.access, soft);
      expect((await passkeySignIn(t, slug, soft)).statusCode).toBe(200);
      // The issuer's own origin is no longer accepted.
      expectError(await passkeySignIn(t, slug, soft, undefined, { origin: ORIGIN }), 401, 'WEBAUTHN_AUTHENTICATION_FAILED');
      const bad = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/platform/tenants/${slug}`,
        headers: bearer(t.platformToken),
        payload: { settings: { webauthn_origins: ['javascript:alert(1)'] } },
      });
      expectError(bad, 400, 'VALIDATION_ERROR');
    } finally {
      const reset = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/platform/tenants/${slug}`,
        headers: bearer(t.platformToken),
        payload: { settings: { webauthn_rp_id: null, webauthn_origins: [] } },
      });
      expect(reset.statusCode, reset.body).toBe(200);
    }
  });

  it('the endpoints are in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const p of [
      '/t/{tenant}/api/v1/me/mfa/webauthn',
      '/t/{tenant}/api/v1/me/mfa/webauthn/registration/options',
      '/t/{tenant}/api/v1/me/mfa/webauthn/registration/verify',
      '/t/{tenant}/api/v1/me/mfa/webauthn/{id}',
      '/t/{tenant}/api/v1/auth/webauthn/authentication/options',
      '/t/{tenant}/api/v1/auth/webauthn/authentication/verify',
    ]) {
      expect(doc.paths[p], p).toBeDefined();
    }
  });
});

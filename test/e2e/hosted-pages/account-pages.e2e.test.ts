import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../src/mfa/totp.ts';
import { errorCodes } from '../../../src/errors/codes.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { InjectBrowser } from '../oidc/oidc-harness.ts';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.ts';
import { PASSKEY_SCRIPT, PASSKEY_SCRIPT_HASH } from '../../../src/hosted/passkey-script.ts';
import { follow, formAt, open, submit } from './page-browser.ts';

/** The hidden fields of the form with this id. */
function formAtId(html: string, id: string): Record<string, string> {
  const m = new RegExp(`<form [^>]*id="${id}"[^>]*>([\\s\\S]*?)</form>`).exec(html)!;
  return Object.fromEntries([...m[1]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((f) => [f[1]!, f[2]!]));
}

const STATUS_CURRENT_INVALID = errorCodes.CURRENT_PASSWORD_INVALID.status;
const NEW_PASSWORD = 'a fresh and different passphrase 7';
const BASE = 'http://gatehouse.test/t/acct';

/** The account pages of the hosted browser session, driven like a browser without scripts. */
describe(`hosted account pages (${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'acct', { settings: { max_sessions_per_user: 100 } });
  });
  afterAll(() => t?.close());

  /** A browser signed in through /login, starting at `path` as a signed-out visitor would. */
  async function signedIn(email: string, password = STRONG_PASSWORD, path = '/account') {
    const b = new InjectBrowser(t);
    const first = await b.fetch(`/t/acct${path}`);
    expect(first.status).toBe(303);
    expect(first.location).toBe(`${BASE}/login?return_to=${encodeURIComponent(`/t/acct${path}`)}`);
    const page = await open(b, first.location!);
    const r = await submit(b, page.body, '/login', { email, password });
    expect(r.status, r.body).toBe(303);
    expect(r.location).toBe(`${BASE}${path}`);
    return b;
  }

  it('signed out: to the sign-in page and back; a wrong password is announced on the form', async () => {
    expect((await register(t, 'acct', 'ann@acct.test')).statusCode).toBe(201);
    const b = new InjectBrowser(t);
    const page = await open(b, '/t/acct/login?return_to=/account');
    const wrong = await submit(b, page.body, '/login', { email: 'ann@acct.test', password: 'not the password at all' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatch(/<p class="error" role="alert" id="form-error">/);
    expect(wrong.body).toContain('aria-invalid="true"');
    // An outside return_to is never followed.
    const evil = await open(b, '/t/acct/login?return_to=//evil.test/x');
    expect(evil.body).toContain(`action="${BASE}/login?return_to=%2Ft%2Facct%2Faccount"`);
    await signedIn('ann@acct.test');
  });

  it('profile: the name fields are saved through the profile service', async () => {
    expect((await register(t, 'acct', 'bob@acct.test')).statusCode).toBe(201);
    const b = await signedIn('bob@acct.test');
    const page = await open(b, '/t/acct/account');
    expect(page.body).toContain('bob@acct.test');
    expect(page.body).toContain('aria-current="page"');
    const saved = await submit(b, page.body, '/account', { name: 'Bob Builder', given_name: 'Bob', family_name: '' });
    const after = await follow(b, saved);
    expect(after.body).toContain('role="status">Saved.');
    expect(after.body).toContain('value="Bob Builder"');
    const me = await t.app.inject({ method: 'GET', url: '/t/acct/api/v1/me', headers: bearer((await login(t, 'acct', 'bob@acct.test')).json().access_token) });
    expect(me.json()).toMatchObject({ name: 'Bob Builder', given_name: 'Bob', family_name: null });
  });

  it('password: wrong current and policy refused on the page; a change signs out the other devices, not this one', async () => {
    expect((await register(t, 'acct', 'cat@acct.test')).statusCode).toBe(201);
    const other = (await login(t, 'acct', 'cat@acct.test')).json().access_token;
    const b = await signedIn('cat@acct.test', STRONG_PASSWORD, '/account/password');
    const page = await open(b, '/t/acct/account/password');
    const wrong = await submit(b, page.body, '/account/password', { current_password: 'nope nope nope', new_password: NEW_PASSWORD, password_confirm: NEW_PASSWORD });
    expect(wrong.status).toBe(STATUS_CURRENT_INVALID);
    expect(wrong.body).toContain('role="alert" id="form-error">The current password is wrong.');
    const weak = await submit(b, page.body, '/account/password', { current_password: STRONG_PASSWORD, new_password: 'catcat', password_confirm: 'catcat' });
    expect(weak.body).toContain('<li>It is too short.</li>');
    const ok = await submit(b, page.body, '/account/password', { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD, password_confirm: NEW_PASSWORD });
    expect((await follow(b, ok)).body).toContain('Your password was changed.');
    expectError(await t.app.inject({ method: 'GET', url: '/t/acct/api/v1/me', headers: bearer(other) }), 401, 'TOKEN_REVOKED');
    expect((await login(t, 'acct', 'cat@acct.test', NEW_PASSWORD)).statusCode).toBe(200);
    expect((await open(b, '/t/acct/account')).body).toContain('cat@acct.test');
  });

  it('devices: lists the sessions, signs out one, then everywhere else; sign out ends this one', async () => {
    expect((await register(t, 'acct', 'dan@acct.test')).statusCode).toBe(201);
    const phone = (await login(t, 'acct', 'dan@acct.test', STRONG_PASSWORD, { 'user-agent': 'PhoneBrowser/1' })).json().access_token;
    const laptop = (await login(t, 'acct', 'dan@acct.test', STRONG_PASSWORD, { 'user-agent': 'LaptopBrowser/2' })).json().access_token;
    const b = await signedIn('dan@acct.test');
    const page = await open(b, '/t/acct/account/sessions');
    expect(page.body).toContain('PhoneBrowser/1');
    expect(page.body).toContain('LaptopBrowser/2');
    expect(page.body).toContain('(This device)');
    const phoneSid = JSON.parse(Buffer.from(phone.split('.')[1]!, 'base64url').toString()).sid as string;
    const one = await submit(b, page.body, `/account/sessions/${phoneSid}/revoke`);
    const after = await follow(b, one);
    expect(after.body).not.toContain('PhoneBrowser/1');
    expectError(await t.app.inject({ method: 'GET', url: '/t/acct/api/v1/me', headers: bearer(phone) }), 401, 'TOKEN_REVOKED');
    expect((await t.app.inject({ method: 'GET', url: '/t/acct/api/v1/me', headers: bearer(laptop) })).statusCode).toBe(200);
    const others = await submit(b, after.body, '/account/sessions/revoke-others');
    const last = await follow(b, others);
    expect(last.body).not.toContain('LaptopBrowser/2');
    expectError(await t.app.inject({ method: 'GET', url: '/t/acct/api/v1/me', headers: bearer(laptop) }), 401, 'TOKEN_REVOKED');
    // Sign out this device: the cookie goes, the account pages ask to sign in again.
    const out = await submit(b, last.body, '/logout');
    expect(out.status).toBe(200);
    expect(out.body).toContain('You are signed out.');
    expect(b.jar.has('gh_session')).toBe(false);
    expect((await b.fetch('/t/acct/account')).status).toBe(303);
  });

  it('security: TOTP enrollment (QR and key, confirm, backup codes), step-up before a password change, removal', async () => {
    expect((await register(t, 'acct', 'eve@acct.test')).statusCode).toBe(201);
    const b = await signedIn('eve@acct.test', STRONG_PASSWORD, '/account/security');
    const page = await open(b, '/t/acct/account/security');
    expect(page.body).toContain('No authenticator app is set up.');
    const enroll = await submit(b, page.body, '/account/security/totp');
    expect(enroll.status, enroll.body).toBe(200);
    expect(enroll.body).toMatch(/<div class="qr" aria-hidden="true"><svg [^>]*>/);
    const key = /Key: <code>([A-Z2-7 ]+)<\/code>/.exec(enroll.body)![1]!.replaceAll(' ', '');
    const wrong = await submit(b, enroll.body, '/account/security/totp/confirm', { code: '000000' });
    expect(wrong.body).toContain('role="alert"');
    const confirmed = await submit(b, enroll.body, '/account/security/totp/confirm', { code: totpCode(key) });
    expect(confirmed.status, confirmed.body).toBe(200);
    const codes = [...confirmed.body.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]);
    expect(codes).toHaveLength(10);
    expect((await open(b, '/t/acct/account/security')).body).toContain('An authenticator app is set up.');

    // With a factor, the password page first asks for it (this session signed in with the password alone).
    const stepUp = await open(b, '/t/acct/account/password');
    expect(stepUp.body).toContain('confirm it is you');
    const bad = await submit(b, stepUp.body, '/account/step-up', { code: '123456' });
    expect(bad.body).toContain('role="alert"');
    const stepped = await submit(b, stepUp.body, '/account/step-up', { code: codes[0]! });
    expect(stepped.location).toBe(`${BASE}/account/password`);
    const form = await follow(b, stepped);
    expect(form.body).toContain('name="current_password"');
    const changed = await submit(b, form.body, '/account/password', { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD, password_confirm: NEW_PASSWORD });
    expect(changed.status, changed.body).toBe(303);

    // Removal needs the recent second factor, which this session has now.
    const security = await open(b, '/t/acct/account/security');
    const removed = await submit(b, security.body, '/account/security/totp/remove');
    expect(removed.status, removed.body).toBe(303);
    expect((await follow(b, removed)).body).toContain('No authenticator app is set up.');
  });

  it('sign-in of a user with MFA: /login, then /login/mfa, then the page asked for', async () => {
    expect((await register(t, 'acct', 'fay@acct.test')).statusCode).toBe(201);
    const access = (await login(t, 'acct', 'fay@acct.test')).json().access_token;
    const secret = (await t.app.inject({ method: 'POST', url: '/t/acct/api/v1/me/mfa/totp', headers: bearer(access) })).json().secret as string;
    expect((await t.app.inject({ method: 'POST', url: '/t/acct/api/v1/me/mfa/totp/verify', headers: bearer(access), payload: { code: totpCode(secret) } })).statusCode).toBe(200);
    const b = new InjectBrowser(t);
    const page = await open(b, '/t/acct/login?return_to=/account/sessions');
    const toMfa = await submit(b, page.body, '/login', { email: 'fay@acct.test', password: STRONG_PASSWORD });
    expect(toMfa.location).toBe(`${BASE}/login/mfa`);
    const mfa = await follow(b, toMfa);
    const done = await submit(b, mfa.body, '/login/mfa', { code: totpCode(secret, Date.now() + 30_000) });
    expect(done.location).toBe(`${BASE}/account/sessions`);
    expect((await follow(b, done)).body).toContain('(This device)');
  });

  it('passkeys: the add page carries the options and its one script (CSP hash); the response form stores the key; removal steps up', async () => {
    expect((await register(t, 'acct', 'gus@acct.test')).statusCode).toBe(201);
    const b = await signedIn('gus@acct.test', STRONG_PASSWORD, '/account/security');
    const security = await open(b, '/t/acct/account/security');
    expect(security.headers.get('content-security-policy')).not.toContain('script-src');
    // Without a script the response field is empty: the page says a passkey needs JavaScript.
    const noJs = await submit(b, security.body, '/account/security/passkeys/new');
    expect(noJs.status, noJs.body).toBe(200);
    expect(noJs.headers.get('content-security-policy')).toContain(`script-src 'sha256-${PASSKEY_SCRIPT_HASH}'`);
    expect(noJs.body).toContain(`<script>${PASSKEY_SCRIPT}</script>`);
    expect((await submit(b, noJs.body, '/account/security/passkeys', { name: 'x' })).body).toContain('needs JavaScript');

    const add = await submit(b, security.body, '/account/security/passkeys/new');
    const options = JSON.parse(/data-options="([^"]+)"/.exec(add.body)![1]!.replaceAll('&quot;', '"').replaceAll('&amp;', '&'));
    const soft = new SoftAuthenticator({ origin: 'http://gatehouse.test' });
    const added = await submit(b, add.body, '/account/security/passkeys', { name: 'Work laptop', response: JSON.stringify(soft.create(options)) });
    expect(added.status, added.body).toBe(200);
    expect(added.body).toContain('The passkey was added.');
    expect(added.body).toContain('<strong>Work laptop</strong>');

    // Signing in elsewhere now takes the passkey as the second step at /login/mfa.
    const other = new InjectBrowser(t);
    const loginPage = await open(other, '/t/acct/login');
    const toMfa = await submit(other, loginPage.body, '/login', { email: 'gus@acct.test', password: STRONG_PASSWORD });
    expect(toMfa.location).toBe(`${BASE}/login/mfa`);
    const mfaPage = await follow(other, toMfa);
    expect(mfaPage.headers.get('content-security-policy')).toContain(`script-src 'sha256-${PASSKEY_SCRIPT_HASH}'`);
    const loginAssertion = JSON.parse(/id="passkey-assert-form" data-options="([^"]+)"/.exec(mfaPage.body)![1]!.replaceAll('&quot;', '"').replaceAll('&amp;', '&'));
    const signedInWithKey = await other.fetch(`${BASE}/login/mfa`, {
      form: { ...formAtId(mfaPage.body, 'passkey-assert-form'), webauthn: JSON.stringify({ challenge_id: loginAssertion.challenge_id, response: soft.get(loginAssertion.options) }) },
    });
    expect(signedInWithKey.status, signedInWithKey.body).toBe(303);
    expect((await follow(other, signedInWithKey)).body).toContain('gus@acct.test');

    // The passkey is a second factor now: removing it needs a recent second factor, so the step-up page comes first.
    const id = /passkeys\/([0-9a-f-]{36})\/remove/.exec(added.body)![1]!;
    const removing = await submit(b, added.body, `/account/security/passkeys/${id}/remove`);
    expect(removing.status).toBe(403);
    expect(removing.body).toContain('confirm it is you');
    // This user's only factor is the passkey: the step-up page offers it (the same script, by hash).
    expect(removing.headers.get('content-security-policy')).toContain(`script-src 'sha256-${PASSKEY_SCRIPT_HASH}'`);
    const assertion = JSON.parse(/id="passkey-assert-form" data-options="([^"]+)"/.exec(removing.body)![1]!.replaceAll('&quot;', '"').replaceAll('&amp;', '&'));
    const webauthn = JSON.stringify({ challenge_id: assertion.challenge_id, response: soft.get(assertion.options) });
    const stepped = await b.fetch(formAt(removing.body, '/account/step-up').action, { form: { ...formAtId(removing.body, 'passkey-assert-form'), webauthn } });
    expect(stepped.status, stepped.body).toBe(303);
    expect(stepped.location).toBe(`${BASE}/account/security`);
    const again = await submit(b, (await follow(b, stepped)).body, `/account/security/passkeys/${id}/remove`);
    expect(again.status, again.body).toBe(303);
    expect((await follow(b, again)).body).toContain('No passkeys.');
  });
});

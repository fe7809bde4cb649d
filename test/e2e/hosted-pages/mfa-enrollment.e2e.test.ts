import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acrOf } from '../../../src/oauth/tokens/id-token.ts';
import { createUser, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, STRONG_PASSWORD } from '../../helpers/test-app.ts';
import { codeAt, oathtool } from '../mfa/mfa-helpers.ts';
import { Browser, discover, formOf, registerClient, startOidcServer, type OidcServer, pkceAuthorization } from '../oidc/oidc-harness.ts';
import { PASSKEY_SCRIPT_HASH } from '../../../src/hosted/passkey-script.ts';
import { formAt } from './page-browser.ts';
import { createTenant } from '../../helpers/test-app.ts';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.ts';

const REDIRECT = 'http://127.0.0.1:9/callback';
const slug = 'enroll-req';

/** The key shown on the enrollment page (groups of four), as the base32 secret an app (or oathtool) takes. */
const keyOf = (page: string) => /<code id="totp-key">([A-Z2-7 ]+)<\/code>/.exec(page)![1]!.replaceAll(' ', '');
const backupCodesOf = (page: string) => [...page.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]!);
const wrongCode = (secret: string) => (codeAt(secret, 0) === '000000' || codeAt(secret, -1) === '000000' || codeAt(secret, 1) === '000000' ? '999999' : '000000');

/**
 * Tenant policy "required for everyone", grace period over, and a user with no factor: the hosted sign-ins (OAuth
 * interaction and /login) set up the authenticator app on the spot instead of refusing, through the same service
 * as POST /auth/mfa/enroll/totp[/verify], and continue where the sign-in was going.
 */
describe(`hosted enrollment step required by the tenant's MFA policy (${backendName})`, () => {
  let s: OidcServer;
  let issuer: string;
  let tenantId: string;
  let config: oidc.Configuration;

  beforeAll(async () => {
    s = await startOidcServer();
    const t = await createTenant(s.t, slug, { settings: { max_sessions_per_user: 100, mfa_policy: 'required', mfa_grace_period: 0 } });
    issuer = t.issuer;
    tenantId = t.id;
    const web = await registerClient(s, slug, { name: 'Partner App', type: 'confidential', redirect_uris: [REDIRECT] });
    config = await discover(issuer, web.client_id, oidc.ClientSecretBasic(web.client_secret!));
  });
  afterAll(() => s?.close());

  async function authorize(browser: Browser) {
    const { url, verifier, state } = await pkceAuthorization(config, REDIRECT, 'openid email');
    let res = await browser.fetch(url.href);
    while (res.status === 303 || res.status === 302) res = await browser.fetch(new URL(res.location!, url).href);
    return { res, verifier, state };
  }

  const activeTotp = async (userId: string) =>
    tenantQuery(s.t, tenantId, `SELECT id FROM mfa_factors WHERE user_id = $1 AND type = 'totp' AND status = 'active'`, [userId]);

  it('OAuth: password → enrollment page (QR) → wrong code 400 → right code → backup codes once → continue → consent → code; ID token aal2 with otp', async () => {
    const email = 'olga@enroll-req.test';
    const { id } = await createUser(s.t, slug, email);
    const browser = new Browser();
    const { res: loginPage, verifier, state } = await authorize(browser);
    const loginForm = formOf(loginPage.body);
    const afterPassword = await browser.fetch(loginForm.action, { form: { ...loginForm.fields, email, password: STRONG_PASSWORD } });
    expect(afterPassword.status, afterPassword.body).toBe(303);

    const enroll = await browser.fetch(afterPassword.location!);
    expect(enroll.status, enroll.body).toBe(200);
    expect(enroll.body).toContain('Set up two-step verification');
    expect(enroll.body).toContain('requires a second step');
    expect(enroll.body).toMatch(/<div class="qr" aria-hidden="true"><svg [^>]*>/);
    expect(enroll.body).toMatch(/<label for="code">Code from the app<\/label>/);
    expect(enroll.body).not.toContain('ghm_'); // the enrollment challenge stays on the server
    // The one script allowed is the passkey choice's (hidden without it); the app setup needs none.
    expect(enroll.headers.get('content-security-policy')).toContain(`script-src 'sha256-${PASSKEY_SCRIPT_HASH}';`);
    expect(enroll.headers.get('cache-control')).toBe('no-store');
    const secret = keyOf(enroll.body);
    const form = formAt(enroll.body, '/enroll');
    expect(form.action).toMatch(/\/oauth\/interaction\/[A-Za-z0-9_-]+\/enroll$/);
    expect(form.fields.csrf).toEqual(expect.any(String));

    // No CSRF token: refused.
    const forged = await browser.fetch(form.action, { form: { code: oathtool(secret) } });
    expect(forged.status).toBe(403);

    const wrong = await browser.fetch(form.action, { form: { ...form.fields, code: wrongCode(secret) } });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain('role="alert"');
    expect(wrong.body).toContain('incorrect');
    // The same page: the same key (the QR the user may have scanned stays valid), the token still usable.
    expect(keyOf(wrong.body)).toBe(secret);
    expect(formAt(wrong.body, '/enroll').action).toBe(form.action);
    expect(await activeTotp(id)).toEqual([]);

    const done = await browser.fetch(form.action, { form: { ...form.fields, code: oathtool(secret) } });
    expect(done.status, done.body).toBe(200);
    expect(done.body).toContain('Save your backup codes');
    const codes = backupCodesOf(done.body);
    expect(codes).toHaveLength(10);
    const next = /<form method="get" action="([^"]+)">/.exec(done.body)![1]!;
    expect(next).toBe(form.action.replace(/\/enroll$/, ''));
    // "Continue" ends at the client: the page's form-action allows its redirect URI.
    expect(done.headers.get('content-security-policy')).toContain("form-action 'self' http://127.0.0.1:9");
    // The same answer cannot be replayed: the challenge is used up and the interaction moved on.
    const replay = await browser.fetch(form.action, { form: { ...form.fields, code: oathtool(secret) } });
    expect(replay.body).not.toContain('Save your backup codes');

    const consent = await browser.fetch(next);
    expect(consent.status, consent.body).toBe(200);
    const consentForm = formOf(consent.body);
    expect(consentForm.action).toMatch(/\/consent$/);
    const back = await browser.fetch(consentForm.action, { form: { ...consentForm.fields, decision: 'allow' } });
    expect(back.location).toMatch(/^http:\/\/127\.0\.0\.1:9\/callback\?/);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(back.location!), { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true });
    const idToken = decodeJwt(tokens.id_token!);
    expect(idToken.sub).toBe(id);
    expect(idToken.acr).toBe(acrOf(2));
    expect(idToken.amr).toEqual(expect.arrayContaining(['pwd', 'otp']));

    // The factor is active: the next sign-in asks for a code (here a backup code from the page).
    expect(await activeTotp(id)).toHaveLength(1);
    const again = new Browser();
    const second = await authorize(again);
    const f2 = formOf(second.res.body);
    const pw2 = await again.fetch(f2.action, { form: { ...f2.fields, email, password: STRONG_PASSWORD } });
    const mfaPage = await again.fetch(pw2.location!);
    expect(mfaPage.status).toBe(200);
    expect(mfaPage.body).toContain('Two-step verification');
    expect(mfaPage.body).toContain('name="code"');
    const mfaForm = formOf(mfaPage.body);
    expect(mfaForm.action).toMatch(/\/mfa$/);
    let res = await again.fetch(mfaForm.action, { form: { ...mfaForm.fields, code: codes[0]! } });
    while (!res.location?.startsWith(REDIRECT)) {
      expect([302, 303], res.body).toContain(res.status);
      res = await again.fetch(new URL(res.location!, mfaForm.action).href);
    }
    expect(new URL(res.location).searchParams.get('code')).toEqual(expect.any(String));
  });

  it('hosted /login: the enrollment step, then the backup codes and on to return_to, signed in', async () => {
    const email = 'leo@enroll-req.test';
    const { id } = await createUser(s.t, slug, email);
    const browser = new Browser();
    const loginPage = await browser.fetch(`${issuer}/login?return_to=/account/sessions`);
    const loginForm = formOf(loginPage.body);
    const afterPassword = await browser.fetch(loginForm.action, { form: { ...loginForm.fields, email, password: STRONG_PASSWORD } });
    expect(afterPassword.status, afterPassword.body).toBe(303);
    expect(afterPassword.location).toBe(`${issuer}/login/mfa/enroll`);
    // The code step is not where this sign-in stands: it sends the browser to the enrollment step.
    expect((await browser.fetch(`${issuer}/login/mfa`)).location).toBe(`${issuer}/login/mfa/enroll`);

    const enroll = await browser.fetch(afterPassword.location!);
    expect(enroll.status, enroll.body).toBe(200);
    expect(enroll.body).toMatch(/<div class="qr" aria-hidden="true"><svg /);
    expect(enroll.body).not.toContain('ghm_');
    expect(enroll.headers.get('content-security-policy')).toContain(`script-src 'sha256-${PASSKEY_SCRIPT_HASH}';`);
    const secret = keyOf(enroll.body);
    // Shown again (a reload): the same setup, not a new secret.
    expect(keyOf((await browser.fetch(`${issuer}/login/mfa/enroll`)).body)).toBe(secret);
    const form = formAt(enroll.body, '/enroll');
    expect(form.action).toBe(`${issuer}/login/mfa/enroll`);

    const wrong = await browser.fetch(form.action, { form: { ...form.fields, code: wrongCode(secret) } });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain('role="alert"');
    expect(keyOf(wrong.body)).toBe(secret);
    const empty = await browser.fetch(form.action, { form: { ...form.fields, code: '' } });
    expect(empty.status).toBe(400);
    expect(empty.body).toContain('Enter the 6-digit code');

    const done = await browser.fetch(form.action, { form: { ...form.fields, code: oathtool(secret) } });
    expect(done.status, done.body).toBe(200);
    expect(backupCodesOf(done.body)).toHaveLength(10);
    const next = /<form method="get" action="([^"]+)">/.exec(done.body)![1]!;
    expect(next).toBe(`${issuer}/account/sessions`);
    const account = await browser.fetch(next);
    expect(account.status, account.body).toBe(200);
    expect(account.body).toContain('Signed-in devices');
    expect(account.body).toContain('(This device)');
    expect(await activeTotp(id)).toHaveLength(1);
    // The hosted session is the aal2 one the enrollment opened.
    const [session] = await tenantQuery<{ aal: number; amr: string[] }>(s.t, tenantId, 'SELECT aal, amr FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [id]);
    expect(session).toMatchObject({ aal: 2, amr: expect.arrayContaining(['pwd', 'otp']) });
  });

  it('pt-BR: the enrollment page in Portuguese', async () => {
    const email = 'ana@enroll-req.test';
    await createUser(s.t, slug, email);
    const browser = new Browser();
    browser.extraHeaders['accept-language'] = 'pt-BR';
    const loginForm = formOf((await browser.fetch(`${issuer}/login`)).body);
    const afterPassword = await browser.fetch(loginForm.action, { form: { ...loginForm.fields, email, password: STRONG_PASSWORD } });
    const enroll = await browser.fetch(afterPassword.location!);
    expect(enroll.body).toContain('Configurar a verificação em duas etapas');
    expect(enroll.body).toContain('<html lang="pt-BR">');
    expect(enroll.body).toContain('<h2 id="passkey-choice-title">Chave de acesso ou chave de segurança</h2>');
    expect(enroll.body).toContain('<button type="submit">Usar uma chave de acesso ou chave de segurança</button>');
    expect(enroll.body).toContain('<h2>Aplicativo autenticador</h2>');
  });

  /** The passkey choice of an enrollment page: its form and the creation options on it. */
  function passkeyChoice(body: string) {
    const form = formAt(body, '/enroll/passkey');
    const raw = /id="passkey-form" data-options="([^"]+)"/.exec(body)![1]!;
    const options = JSON.parse(raw.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&'));
    return { form, options };
  }

  it('OAuth: a passkey instead of the app → backup codes once → consent → code; ID token aal2 with pwd + hwk; then the passkey is the second step', async () => {
    const email = 'pia@enroll-req.test';
    const { id } = await createUser(s.t, slug, email);
    const browser = new Browser();
    const { res: loginPage, verifier, state } = await authorize(browser);
    const loginForm = formOf(loginPage.body);
    const afterPassword = await browser.fetch(loginForm.action, { form: { ...loginForm.fields, email, password: STRONG_PASSWORD } });
    const enroll = await browser.fetch(afterPassword.location!);
    expect(enroll.status, enroll.body).toBe(200);
    // Both choices: the passkey one first, drawn hidden (the page's script shows it), named by its heading; the app below.
    expect(enroll.body).toMatch(/<section id="passkey-choice" class="choice" aria-labelledby="passkey-choice-title" hidden>\s*<h2 id="passkey-choice-title">Passkey or security key<\/h2>/);
    expect(enroll.body).toContain('<button type="submit">Use a passkey or security key</button>');
    expect(enroll.body.indexOf('id="passkey-choice"')).toBeLessThan(enroll.body.indexOf('<h2>Authenticator app</h2>'));
    const { form, options } = passkeyChoice(enroll.body);
    expect(form.action).toMatch(/\/oauth\/interaction\/[A-Za-z0-9_-]+\/enroll\/passkey$/);
    expect(form.fields).toEqual({ csrf: formAt(enroll.body, '/enroll').fields.csrf, response: '' });
    expect(options).toMatchObject({ rp: { id: '127.0.0.1' }, user: { name: email }, attestation: 'none', excludeCredentials: [] });
    const key = new SoftAuthenticator({ origin: s.base });

    // No CSRF value: refused. No response (the script did not run): the step again, saying why.
    expect((await browser.fetch(form.action, { form: { response: JSON.stringify(key.create(options)) } })).status).toBe(403);
    const empty = await browser.fetch(form.action, { form: form.fields });
    expect(empty.status).toBe(400);
    expect(empty.body).toContain('needs JavaScript');
    // An attestation made for another origin: refused, the step again with fresh options (the sign-in goes on).
    const bad = await browser.fetch(form.action, { form: { ...form.fields, response: JSON.stringify(key.create(options, { origin: 'https://evil.example' })) } });
    expect(bad.status, bad.body).toBe(400);
    expect(bad.body).toMatch(/<div class="error" role="alert" id="form-error">The passkey could not be registered\.<\/div>/);
    const fresh = passkeyChoice(bad.body);
    expect(fresh.options.challenge).not.toBe(options.challenge);

    const response = JSON.stringify(key.create(fresh.options));
    const done = await browser.fetch(fresh.form.action, { form: { ...fresh.form.fields, response } });
    expect(done.status, done.body).toBe(200);
    expect(done.body).toContain('Save your backup codes');
    expect(backupCodesOf(done.body)).toHaveLength(10);
    expect(done.headers.get('content-security-policy')).toContain("form-action 'self' http://127.0.0.1:9");
    const next = /<form method="get" action="([^"]+)">/.exec(done.body)![1]!;
    // The same attestation again registers nothing more: the challenge is used up and the interaction moved on.
    expect((await browser.fetch(fresh.form.action, { form: { ...fresh.form.fields, response } })).body).not.toContain('Save your backup codes');
    expect(await tenantQuery(s.t, tenantId, 'SELECT name FROM webauthn_credentials WHERE user_id = $1', [id])).toEqual([{ name: 'Security key' }]);

    const consent = await browser.fetch(next);
    const consentForm = formOf(consent.body);
    expect(consentForm.action).toMatch(/\/consent$/);
    const back = await browser.fetch(consentForm.action, { form: { ...consentForm.fields, decision: 'allow' } });
    expect(back.location).toMatch(/^http:\/\/127\.0\.0\.1:9\/callback\?/);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(back.location!), { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true });
    const idToken = decodeJwt(tokens.id_token!);
    expect(idToken).toMatchObject({ sub: id, acr: acrOf(2) });
    expect([...(idToken.amr as string[])].sort()).toEqual(['hwk', 'pwd']);

    // The next sign-in: the passkey is the second step.
    const again = new Browser();
    const second = await authorize(again);
    const f2 = formOf(second.res.body);
    const pw2 = await again.fetch(f2.action, { form: { ...f2.fields, email, password: STRONG_PASSWORD } });
    const mfaPage = await again.fetch(pw2.location!);
    expect(mfaPage.status).toBe(200);
    const data = JSON.parse(/id="passkey-assert-form" data-options="([^"]+)"/.exec(mfaPage.body)![1]!.replaceAll('&quot;', '"').replaceAll('&amp;', '&'));
    const webauthn = JSON.stringify({ challenge_id: data.challenge_id, response: key.get(data.options) });
    let res = await again.fetch(formAt(mfaPage.body, '/mfa').action, { form: { csrf: formAt(mfaPage.body, '/mfa').fields.csrf!, webauthn } });
    while (!res.location?.startsWith(REDIRECT)) {
      expect([302, 303], res.body).toContain(res.status);
      res = await again.fetch(new URL(res.location!, f2.action).href);
    }
    const tokens2 = await oidc.authorizationCodeGrant(config, new URL(res.location), { pkceCodeVerifier: second.verifier, expectedState: second.state, idTokenExpected: true });
    expect(decodeJwt(tokens2.id_token!)).toMatchObject({ sub: id, acr: acrOf(2), amr: expect.arrayContaining(['pwd', 'hwk']) });
  });

  it('hosted /login: a passkey instead of the app signs in at aal 2 (pwd + hwk), then the backup codes and on to return_to', async () => {
    const email = 'rui@enroll-req.test';
    const { id } = await createUser(s.t, slug, email);
    const browser = new Browser();
    const loginForm = formOf((await browser.fetch(`${issuer}/login?return_to=/account/security`)).body);
    const afterPassword = await browser.fetch(loginForm.action, { form: { ...loginForm.fields, email, password: STRONG_PASSWORD } });
    expect(afterPassword.location).toBe(`${issuer}/login/mfa/enroll`);
    const enroll = await browser.fetch(afterPassword.location!);
    expect(enroll.headers.get('content-security-policy')).toContain(`script-src 'sha256-${PASSKEY_SCRIPT_HASH}';`);
    const { form, options } = passkeyChoice(enroll.body);
    expect(form.action).toBe(`${issuer}/login/mfa/enroll/passkey`);
    const key = new SoftAuthenticator({ origin: s.base, backupEligible: true });
    // Another browser has no pending sign-in to enroll for: its POST (without this browser's cookie) is refused.
    expect((await new Browser().fetch(form.action, { form: { ...form.fields, response: JSON.stringify(key.create(options)) } })).status).toBe(403);

    const done = await browser.fetch(form.action, { form: { ...form.fields, response: JSON.stringify(key.create(options)) } });
    expect(done.status, done.body).toBe(200);
    expect(backupCodesOf(done.body)).toHaveLength(10);
    const next = /<form method="get" action="([^"]+)">/.exec(done.body)![1]!;
    expect(next).toBe(`${issuer}/account/security`);
    const security = await browser.fetch(next);
    expect(security.status, security.body).toBe(200);
    expect(security.body).toContain('aria-label="Remove: Passkey"');
    const [session] = await tenantQuery<{ aal: number; amr: string[] }>(s.t, tenantId, 'SELECT aal, amr FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [id]);
    expect(session).toEqual({ aal: 2, amr: ['pwd', 'swk'] });
    // The pending sign-in is over: the step is gone.
    expect((await browser.fetch(`${issuer}/login/mfa/enroll`)).location).toBe(`${issuer}/login`);
  });
});

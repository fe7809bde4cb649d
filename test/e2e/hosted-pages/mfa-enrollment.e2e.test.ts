import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acrOf } from '../../../src/oauth/tokens/id-token.ts';
import { createUser, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, STRONG_PASSWORD } from '../../helpers/test-app.ts';
import { codeAt, oathtool } from '../mfa/mfa-helpers.ts';
import { Browser, discover, formOf, registerClient, startOidcServer, type OidcServer, pkceAuthorization } from '../oidc/oidc-harness.ts';
import { createTenant } from '../../helpers/test-app.ts';

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
    expect(enroll.headers.get('content-security-policy')).not.toContain('script-src');
    expect(enroll.headers.get('cache-control')).toBe('no-store');
    const secret = keyOf(enroll.body);
    const form = formOf(enroll.body);
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
    expect(formOf(wrong.body).action).toBe(form.action);
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
    expect(enroll.headers.get('content-security-policy')).not.toContain('script-src');
    const secret = keyOf(enroll.body);
    // Shown again (a reload): the same setup, not a new secret.
    expect(keyOf((await browser.fetch(`${issuer}/login/mfa/enroll`)).body)).toBe(secret);
    const form = formOf(enroll.body);
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
  });
});

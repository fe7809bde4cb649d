import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../src/mfa/totp.ts';
import { createUser } from '../../helpers/auth-flows.ts';
import { backendName, bearer, login, STRONG_PASSWORD } from '../../helpers/test-app.ts';
import { Browser, discover, formOf, oidcTenant, registerClient, startOidcServer, type OidcServer, pkceAuthorization } from './oidc-harness.ts';

const REDIRECT = 'http://127.0.0.1:9/callback';

/** The hosted sign-in of a user with MFA: the password page, then the second-step page, then the code. */
describe(`hosted sign-in with a second factor (${backendName})`, () => {
  let s: OidcServer;
  let config: oidc.Configuration;
  let backupCodes: string[];
  const email = 'mfa-user@hosted-mfa.test';

  beforeAll(async () => {
    s = await startOidcServer();
    const t = await oidcTenant(s, 'hosted-mfa');
    await createUser(s.t, 'hosted-mfa', email);
    const access = (await login(s.t, 'hosted-mfa', email)).json().access_token as string;
    const started = await s.t.app.inject({ method: 'POST', url: '/t/hosted-mfa/api/v1/me/mfa/totp', headers: bearer(access) });
    const verified = await s.t.app.inject({
      method: 'POST',
      url: '/t/hosted-mfa/api/v1/me/mfa/totp/verify',
      headers: bearer(access),
      payload: { code: totpCode(started.json().secret) },
    });
    expect(verified.statusCode, verified.body).toBe(200);
    backupCodes = verified.json().backup_codes;
    const web = await registerClient(s, 'hosted-mfa', { name: 'Web', type: 'confidential', redirect_uris: [REDIRECT], first_party: true });
    config = await discover(t.issuer, web.client_id, oidc.ClientSecretBasic(web.client_secret!));
  });
  afterAll(() => s?.close());

  async function start(browser: Browser, extra: Record<string, string> = {}, cfg = config) {
    const { url, verifier, state } = await pkceAuthorization(cfg, REDIRECT, 'openid email', extra);
    let res = await browser.fetch(url.href);
    // Follows the hosted pages, stopping at a page or at the way back to the client.
    while ((res.status === 303 || res.status === 302) && !res.location!.startsWith(REDIRECT)) res = await browser.fetch(new URL(res.location!, url).href);
    return { res, verifier, state };
  }

  it('asks for the code after the password, refuses a wrong one on the page, and a backup code finishes it (acr aal2, amr otp)', async () => {
    const browser = new Browser();
    const { res: loginPage, verifier, state } = await start(browser);
    const loginForm = formOf(loginPage.body);
    expect(loginForm.action).toMatch(/\/login$/);
    const afterPassword = await browser.fetch(loginForm.action, { form: { ...loginForm.fields, email, password: STRONG_PASSWORD } });
    expect(afterPassword.status).toBe(303);
    const mfaPage = await browser.fetch(afterPassword.location!);
    expect(mfaPage.status).toBe(200);
    expect(mfaPage.body).toContain('Two-step verification');
    expect(mfaPage.body).not.toContain('ghm_'); // the challenge token stays on the server
    // An authenticator-app user (no passkey): the code field, no passkey button, no script (works without JS).
    expect(mfaPage.body).toMatch(/<label for="code">Verification code<\/label>\s*<input id="code" name="code"/);
    expect(mfaPage.body).not.toContain('passkey-assert-form');
    expect(mfaPage.headers.get('content-security-policy')).not.toContain('script-src');
    const mfaForm = formOf(mfaPage.body);
    expect(mfaForm.action).toMatch(/\/mfa$/);

    const wrong = await browser.fetch(mfaForm.action, { form: { ...mfaForm.fields, code: '000000' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('role="alert"');
    expect(formOf(wrong.body).action).toMatch(/\/mfa$/);

    const right = await browser.fetch(mfaForm.action, { form: { ...mfaForm.fields, code: backupCodes[0]! } });
    expect(right.status).toBe(303);
    let res = await browser.fetch(right.location!);
    while (!res.location?.startsWith(REDIRECT)) {
      expect([302, 303]).toContain(res.status);
      res = await browser.fetch(new URL(res.location!, right.location!).href);
    }
    const tokens = await oidc.authorizationCodeGrant(config, new URL(res.location!), { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true });
    const id = decodeJwt(tokens.id_token!);
    expect(id.acr).toBe('urn:gatehouse:aal2');
    expect(id.amr).toEqual(['pwd', 'otp']);
  });

  it('a used backup code is refused on the page like any wrong code', async () => {
    const browser = new Browser();
    const { res: loginPage } = await start(browser);
    const loginForm = formOf(loginPage.body);
    const afterPassword = await browser.fetch(loginForm.action, { form: { ...loginForm.fields, email, password: STRONG_PASSWORD } });
    const mfaForm = formOf((await browser.fetch(afterPassword.location!)).body);
    const reused = await browser.fetch(mfaForm.action, { form: { ...mfaForm.fields, code: backupCodes[0]! } });
    expect(reused.status).toBe(401);
    expect(formOf(reused.body).action).toMatch(/\/mfa$/);
  });

  it('acr_values=urn:gatehouse:aal2: an aal1 browser session passes the second factor first; the ID token says aal2', async () => {
    // A user without MFA yet signs in (aal1 browser session), then sets up an authenticator app.
    const lateEmail = 'late-mfa@hosted-mfa.test';
    await createUser(s.t, 'hosted-mfa', lateEmail);
    const browser = new Browser();
    const first = await start(browser);
    const form = formOf(first.res.body);
    let res = await browser.fetch(form.action, { form: { ...form.fields, email: lateEmail, password: STRONG_PASSWORD } });
    while (!res.location?.startsWith(REDIRECT)) res = await browser.fetch(new URL(res.location!, form.action).href);
    const firstTokens = await oidc.authorizationCodeGrant(config, new URL(res.location!), { pkceCodeVerifier: first.verifier, expectedState: first.state, idTokenExpected: true });
    expect(decodeJwt(firstTokens.id_token!).acr).toBe('urn:gatehouse:aal1');

    const access = (await login(s.t, 'hosted-mfa', lateEmail)).json().access_token as string;
    const started = await s.t.app.inject({ method: 'POST', url: '/t/hosted-mfa/api/v1/me/mfa/totp', headers: bearer(access) });
    const enrolled = await s.t.app.inject({ method: 'POST', url: '/t/hosted-mfa/api/v1/me/mfa/totp/verify', headers: bearer(access), payload: { code: totpCode(started.json().secret) } });
    expect(enrolled.statusCode, enrolled.body).toBe(200);

    // Without acr_values the aal1 browser session is enough; with prompt=none and aal2 asked, interaction_required.
    const none = await start(browser, { acr_values: 'urn:gatehouse:aal2', prompt: 'none' });
    expect(new URL(none.res.location!).searchParams.get('error')).toBe('interaction_required');
    const plain = await start(browser);
    expect(new URL(plain.res.location!).searchParams.get('code')).toEqual(expect.any(String));
    const step = await start(browser, { acr_values: 'urn:gatehouse:aal2' });
    const mfaForm = formOf(step.res.body);
    expect(mfaForm.action).toMatch(/\/mfa$/);
    let done = await browser.fetch(mfaForm.action, { form: { ...mfaForm.fields, code: enrolled.json().backup_codes[0] } });
    while (!done.location?.startsWith(REDIRECT)) done = await browser.fetch(new URL(done.location!, mfaForm.action).href);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.location!), { pkceCodeVerifier: step.verifier, expectedState: step.state, idTokenExpected: true });
    const id = decodeJwt(tokens.id_token!);
    expect(id.acr).toBe('urn:gatehouse:aal2');
    expect(id.amr).toEqual(['pwd', 'otp']);
  });

  it('discovery advertises the acr values', async () => {
    expect(config.serverMetadata().acr_values_supported).toEqual(['urn:gatehouse:aal1', 'urn:gatehouse:aal2']);
  });
});

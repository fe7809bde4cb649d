import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSKEY_SCRIPT_HASH } from '../../../src/hosted/passkey-script.ts';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.ts';
import { backendName, bearer, login, register } from '../../helpers/test-app.ts';
import { Browser, discover, formOf, oidcTenant, registerClient, startOidcServer, type OidcServer, pkceAuthorization } from '../oidc/oidc-harness.ts';

const REDIRECT = 'http://127.0.0.1:9/callback';

/** The OAuth sign-in of a user whose only second factor is a passkey: the hosted second step offers it. */
describe(`hosted OAuth sign-in with a passkey as the second step (${backendName})`, () => {
  let s: OidcServer;
  let config: oidc.Configuration;
  let soft: SoftAuthenticator;
  const email = 'kim@oauth-keys.test';

  beforeAll(async () => {
    s = await startOidcServer();
    const t = await oidcTenant(s, 'oauth-keys');
    expect((await register(s.t, 'oauth-keys', email)).statusCode).toBe(201);
    const access = (await login(s.t, 'oauth-keys', email)).json().access_token as string;
    const options = await s.t.app.inject({ method: 'POST', url: '/t/oauth-keys/api/v1/me/mfa/webauthn/registration/options', headers: bearer(access) });
    expect(options.statusCode, options.body).toBe(200);
    soft = new SoftAuthenticator({ origin: s.base });
    const verified = await s.t.app.inject({
      method: 'POST',
      url: '/t/oauth-keys/api/v1/me/mfa/webauthn/registration/verify',
      headers: bearer(access),
      payload: { response: soft.create(options.json().options) },
    });
    expect(verified.statusCode, verified.body).toBe(201);
    const web = await registerClient(s, 'oauth-keys', { name: 'Web', type: 'confidential', redirect_uris: [REDIRECT], first_party: true });
    config = await discover(t.issuer, web.client_id, oidc.ClientSecretBasic(web.client_secret!));
  });
  afterAll(() => s?.close());

  it('password, then the passkey on the second-step page (its script allowed by hash), then the code: amr pwd + hwk', async () => {
    const browser = new Browser();
    const { url, verifier, state } = await pkceAuthorization(config, REDIRECT, 'openid email');
    let res = await browser.fetch(url.href);
    while (res.status === 303 || res.status === 302) res = await browser.fetch(new URL(res.location!, url).href);
    const loginForm = formOf(res.body);
    expect(res.body).toContain('/forgot-password"');
    const afterPassword = await browser.fetch(loginForm.action, { form: { ...loginForm.fields, email, password: 'correct horse battery staple 42' } });
    expect(afterPassword.status, afterPassword.body).toBe(303);
    const mfaPage = await browser.fetch(afterPassword.location!);
    expect(mfaPage.status).toBe(200);
    expect(mfaPage.headers.get('content-security-policy')).toContain(`script-src 'sha256-${PASSKEY_SCRIPT_HASH}'`);
    // Passkey only (no authenticator app, no backup codes): no code field, the passkey button as the main action.
    expect(mfaPage.body).not.toContain('name="code"');
    expect(mfaPage.body).not.toContain('Verification code');
    expect(mfaPage.body).toContain('Confirm it is you with your passkey or security key.');
    expect(mfaPage.body).toMatch(/<button type="submit">Use a passkey instead<\/button>/);
    const data = JSON.parse(/id="passkey-assert-form" data-options="([^"]+)"/.exec(mfaPage.body)![1]!.replaceAll('&quot;', '"').replaceAll('&amp;', '&'));
    const csrf = /name="csrf" value="([^"]+)"/.exec(mfaPage.body)![1]!;
    const webauthn = JSON.stringify({ challenge_id: data.challenge_id, response: soft.get(data.options) });
    let next = await browser.fetch(formOf(mfaPage.body).action, { form: { csrf, webauthn } });
    while ((next.status === 303 || next.status === 302) && !next.location!.startsWith(REDIRECT)) next = await browser.fetch(new URL(next.location!, url).href);
    expect(next.location, next.body).toMatch(/^http:\/\/127\.0\.0\.1:9\/callback\?/);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(next.location!), { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()!.amr).toEqual(expect.arrayContaining(['pwd', 'hwk']));
  });

  it('hosted /login/mfa: the passkey-only user gets no code field either, and the passkey signs in', async () => {
    const browser = new Browser();
    const issuer = `${s.base}/t/oauth-keys`;
    const loginForm = formOf((await browser.fetch(`${issuer}/login`)).body);
    const afterPassword = await browser.fetch(loginForm.action, { form: { ...loginForm.fields, email, password: 'correct horse battery staple 42' } });
    expect(afterPassword.location).toBe(`${issuer}/login/mfa`);
    const mfaPage = await browser.fetch(afterPassword.location!);
    expect(mfaPage.status).toBe(200);
    expect(mfaPage.body).not.toContain('name="code"');
    expect(mfaPage.body).toContain('id="passkey-assert-form"');
    expect(mfaPage.headers.get('content-security-policy')).toContain(`script-src 'sha256-${PASSKEY_SCRIPT_HASH}'`);
    const data = JSON.parse(/id="passkey-assert-form" data-options="([^"]+)"/.exec(mfaPage.body)![1]!.replaceAll('&quot;', '"').replaceAll('&amp;', '&'));
    const csrf = /name="csrf" value="([^"]+)"/.exec(mfaPage.body)![1]!;
    const webauthn = JSON.stringify({ challenge_id: data.challenge_id, response: soft.get(data.options) });
    const done = await browser.fetch(formOf(mfaPage.body).action, { form: { csrf, webauthn } });
    expect(done.status, done.body).toBe(303);
    expect(done.location).toBe(`${issuer}/account`);
  });
});

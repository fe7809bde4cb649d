import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../helpers/auth-flows.ts';
import { backendName, bearer, STRONG_PASSWORD } from '../../helpers/test-app.ts';
import { Browser, discover, oidcTenant, registerClient, runBrowser, startOidcServer, type OidcServer, pkceAuthorization } from '../oidc/oidc-harness.ts';
import { formAt } from './page-browser.ts';

const REDIRECT = 'http://127.0.0.1:9/callback';

/**
 * The hosted "Connected apps" page (/account/applications): the browser that authorized an application sees it with
 * its scopes in words and removes its access with the page's form (CSRF-bound), through the same service as the API.
 */
describe(`hosted connected apps page (${backendName})`, () => {
  let s: OidcServer;
  let issuer: string;
  let notes: { client_id: string; client_secret?: string };
  let cfg: oidc.Configuration;

  beforeAll(async () => {
    s = await startOidcServer();
    issuer = (await oidcTenant(s, 'cap-acme')).issuer;
    await createUser(s.t, 'cap-acme', 'dora@cap-acme.test');
    notes = await registerClient(s, 'cap-acme', { name: 'Acme Notes', type: 'confidential', redirect_uris: [REDIRECT], scope: 'openid profile offline_access notes:read' });
    cfg = await discover(issuer, notes.client_id, oidc.ClientSecretBasic(notes.client_secret!));
  });
  afterAll(() => s?.close());

  /** Signs the browser in through an authorization of Acme Notes (consent allowed) and returns the app's tokens. */
  async function authorizeNotes(browser: Browser) {
    const { url, verifier, state } = await pkceAuthorization(cfg, REDIRECT, 'openid profile offline_access notes:read');
    const callback = await runBrowser(browser, url.href, REDIRECT, { email: 'dora@cap-acme.test', password: STRONG_PASSWORD, consent: 'allow' });
    return oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: verifier, expectedState: state });
  }

  it('lists the app with its scopes in words; Remove access needs the CSRF value, then ends the grant', async () => {
    const browser = new Browser();
    const tokens = await authorizeNotes(browser);

    const page = await browser.fetch(`${issuer}/account/applications`);
    expect(page.status, page.body).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.body).toContain('<strong>Acme Notes</strong>');
    expect(page.body).toContain('<li>Sign you in with your account</li>');
    expect(page.body).toContain('<li>See your name and profile details</li>');
    expect(page.body).toContain('<li>Stay signed in when you are not using it</li>');
    expect(page.body).toContain('<li>Use <code>notes:read</code></li>');
    expect(page.body).toMatch(/Authorized: \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(page.body).toMatch(/<a href="[^"]+\/account\/applications" aria-current="page">Connected apps<\/a>/);
    // The other account pages link to it.
    expect((await browser.fetch(`${issuer}/account/sessions`)).body).toContain(`href="${issuer}/account/applications"`);

    // In Portuguese too.
    browser.extraHeaders['accept-language'] = 'pt-BR';
    const pt = await browser.fetch(`${issuer}/account/applications`);
    expect(pt.body).toContain('Aplicativos conectados');
    expect(pt.body).toContain('<li>Ver seu nome e dados de perfil</li>');
    expect(pt.body).toContain('Remover acesso');
    delete browser.extraHeaders['accept-language'];

    const form = formAt(page.body, `/account/applications/${notes.client_id}/revoke`);
    expect(form.fields.csrf).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    // Without the CSRF value, or with a wrong one: refused, nothing removed.
    for (const csrf of [undefined, 'x'.repeat(43)]) {
      const refused = await browser.fetch(form.action, { form: csrf ? { csrf } : {} });
      expect(refused.status).toBe(403);
    }
    const stillOk = await oidc.refreshTokenGrant(cfg, tokens.refresh_token!);
    // A browser without the session is sent to sign in, not served.
    const stranger = await new Browser().fetch(form.action, { form: form.fields });
    expect(stranger.status).toBe(303);
    expect(stranger.location).toContain('/login?return_to=');

    const removed = await browser.fetch(form.action, { form: form.fields });
    expect(removed.status, removed.body).toBe(303);
    expect(removed.location).toBe(`${issuer}/account/applications?done=1`);
    const after = await browser.fetch(removed.location!);
    expect(after.body).toContain('role="status">Access removed. The application was signed out.');
    expect(after.body).toContain('No application has access to your account.');
    expect(after.body).not.toContain('Acme Notes');
    await expect(oidc.refreshTokenGrant(cfg, stillOk.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await fetch(`${issuer}/oauth/userinfo`, { headers: bearer(stillOk.access_token) })).status).toBe(401);

    // Posting the same removal again (a stale page): shown on the page, in the user's words.
    const stale = await browser.fetch(form.action, { form: form.fields });
    expect(stale.status).toBe(404);
    expect(stale.body).toContain('role="alert">This application has no access to your account.');
  });
});

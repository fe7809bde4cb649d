import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { chromium, type Browser as Chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../src/mfa/totp.ts';
import { createUser, patchTenant } from '../../helpers/auth-flows.ts';
import { deliverAndRead, startSmtpSink, type SmtpSink } from '../../helpers/smtp-sink.ts';
import { backendName, buildTestApp, createTenant, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { discover, freePort, pkceAuthorization } from '../oidc/oidc-harness.ts';

const SHOTS = join(process.cwd(), 'test-results', 'hosted-pages');
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;
const NEW_PASSWORD = 'a fresh and different passphrase 7';

/**
 * The self-service pages in Debian Chromium (playwright-core), with scripts disabled: reset by mail, sign-up, the
 * account pages and TOTP enrollment; with the passkey script and the DevTools WebAuthn virtual authenticator: adding
 * a passkey, and choosing one at the OAuth sign-in's enrollment step. Screenshots at desktop and phone widths into
 * test-results/hosted-pages.
 */
describe(`hosted self-service pages in Chromium (${backendName})`, () => {
  let t: TestApp;
  let sink: SmtpSink;
  let browser: Chromium;
  let base: string;
  // A tenant that requires a second factor (grace period over), its OAuth client, and the client's web server.
  let strictIssuer: string;
  let strictClient: { client_id: string; client_secret: string };
  let rp: Server;
  let REDIRECT: string;
  const landed: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    sink = await startSmtpSink();
    const port = await freePort();
    t = await buildTestApp({ GATEHOUSE_PUBLIC_URL: `http://localhost:${port}`, SMTP_URL: sink.url });
    await t.app.listen({ port, host: '127.0.0.1' });
    await createTenant(t, 'acme-corp', { settings: { max_sessions_per_user: 100, passwordless: true, webauthn_rp_id: 'localhost', webauthn_origins: [`http://localhost:${port}`] } });
    await patchTenant(t, 'acme-corp', { branding: { color: '#0f7b5a' } });
    base = `http://localhost:${port}/t/acme-corp`;
    const strict = await createTenant(t, 'acme-strict', {
      name: 'Acme Strict',
      settings: { max_sessions_per_user: 100, mfa_policy: 'required', mfa_grace_period: 0, webauthn_rp_id: 'localhost', webauthn_origins: [`http://localhost:${port}`] },
    });
    strictIssuer = strict.issuer;
    await patchTenant(t, 'acme-strict', { branding: { color: '#0f7b5a' } });
    const rpPort = await freePort();
    REDIRECT = `http://127.0.0.1:${rpPort}/callback`;
    rp = createServer((req, res) => {
      if (req.url !== '/favicon.ico') landed.push(`http://127.0.0.1:${rpPort}${req.url}`);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>client</p>');
    });
    await new Promise<void>((r) => rp.listen(rpPort, '127.0.0.1', r));
    const client = await t.app.inject({
      method: 'POST',
      url: '/api/v1/platform/tenants/acme-strict/clients',
      headers: { authorization: `Bearer ${t.platformToken}` },
      payload: { name: 'Partner Analytics', type: 'confidential', redirect_uris: [REDIRECT] },
    });
    expect(client.statusCode, client.body).toBe(201);
    strictClient = client.json();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await sink?.stop();
    rp?.close();
  });

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const linkIn = (text: string) => /(http:\/\/localhost:\d+\/\S+\?token=[A-Za-z0-9_%-]+)/.exec(text)![1]!;

  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    it(`reset by mail, sign-up, account pages and TOTP enrollment without JavaScript (${size})`, async () => {
      const email = `dana-${size}@acme-corp.test`;
      expect((await register(t, 'acme-corp', email)).statusCode).toBe(201);
      await deliverAndRead(t.gh, sink, email); // the verification mail of the registration
      const context = await browser.newContext({ viewport, javaScriptEnabled: false });
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });

      await page.goto(`${base}/login`);
      await shot(page, `login-${size}`);
      await page.getByRole('link', { name: 'Forgot your password?' }).click();
      await page.getByLabel('Email').fill(email);
      await shot(page, `forgot-${size}`);
      await page.getByRole('button', { name: 'Send reset link' }).click();
      await page.getByRole('heading', { name: 'Check your email' }).waitFor();
      await shot(page, `forgot-sent-${size}`);

      await page.goto(linkIn((await deliverAndRead(t.gh, sink, email)).text));
      await page.getByLabel('New password', { exact: true }).fill('dana');
      await page.getByLabel('Repeat the new password').fill('dana');
      await page.getByRole('button', { name: 'Set new password' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toContain('It is too short.');
      await shot(page, `reset-policy-error-${size}`);
      // The accent colour: the stylesheet passed the CSP.
      expect(await page.getByRole('button', { name: 'Set new password' }).evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(15, 123, 90)');
      await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Set new password' }).click();
      await page.getByRole('heading', { name: 'Password changed' }).waitFor();
      await shot(page, `reset-done-${size}`);

      await page.goto(`${base}/account`);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Your account' }).waitFor();
      await page.getByLabel('Name', { exact: true }).fill('Dana Scully');
      await page.getByRole('button', { name: 'Save' }).click();
      await expect(page.getByRole('status').textContent()).resolves.toBe('Saved.');
      await shot(page, `account-${size}`);
      await page.getByRole('link', { name: 'Password' }).click();
      await shot(page, `account-password-${size}`);
      await page.getByRole('link', { name: 'Security' }).click();
      await shot(page, `account-security-${size}`);
      await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
      const key = (await page.locator('code').first().textContent())!.replaceAll(' ', '');
      await shot(page, `totp-enroll-${size}`);
      await page.getByLabel('Code from the app').fill(totpCode(key));
      await page.getByRole('button', { name: 'Turn on' }).click();
      await page.locator('ol.codes').waitFor();
      expect(await page.locator('ol.codes li').count()).toBe(10);
      await shot(page, `totp-backup-codes-${size}`);
      await page.getByRole('link', { name: 'Devices' }).click();
      await page.getByRole('heading', { name: 'Signed-in devices' }).waitFor();
      await shot(page, `account-sessions-${size}`);
      await page.getByRole('link', { name: 'Password' }).click();
      await shot(page, `step-up-${size}`);
      await page.getByRole('button', { name: 'Sign out' }).last().click();
      await page.getByRole('heading', { name: 'Signed out' }).waitFor();
      expect((await context.cookies()).find((c) => c.name === 'gh_session')).toBeUndefined();

      await page.goto(`${base}/signup`);
      await page.getByLabel('Email').fill(`new-${size}@acme-corp.test`);
      await page.getByLabel('Name (optional)').fill('Newcomer');
      await page.getByLabel('New password').fill('short');
      await page.getByRole('button', { name: 'Create account' }).click();
      await shot(page, `signup-error-${size}`);
      await page.getByLabel('New password').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('heading', { name: 'Your account' }).waitFor();
      await page.goto(linkIn((await deliverAndRead(t.gh, sink, `new-${size}@acme-corp.test`)).text));
      await shot(page, `verify-email-${size}`);
      await page.getByRole('button', { name: 'Confirm email address' }).click();
      await page.getByRole('heading', { name: 'Email address confirmed' }).waitFor();

      await page.goto(`${base}/passwordless`);
      await shot(page, `passwordless-${size}`);
      expect(violations).toEqual([]);
      await context.close();
    });
  }

  it('adds a passkey with the one script of its page (Chromium virtual authenticator), then lists it', async () => {
    const email = 'pia@acme-corp.test';
    expect((await register(t, 'acme-corp', email)).statusCode).toBe(201);
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    await page.goto(`${base}/account/security`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByLabel('Name (optional)').fill('Chromium key');
    await shot(page, 'passkey-add-desktop');
    await page.getByRole('button', { name: 'Create passkey' }).click();
    await page.getByText('The passkey was added.').waitFor();
    expect(await page.textContent('body')).toContain('Chromium key');
    await shot(page, 'passkey-added-desktop');
    // Removing it needs a recent second factor: the step-up page signs with the passkey (the script's get branch).
    await page.getByRole('button', { name: 'Remove: Chromium key' }).click();
    await page.getByRole('button', { name: 'Use a passkey instead' }).waitFor();
    await shot(page, 'step-up-passkey-desktop');
    await page.getByRole('button', { name: 'Use a passkey instead' }).click();
    await page.getByRole('heading', { name: 'Security' }).waitFor();
    await page.getByRole('button', { name: 'Remove: Chromium key' }).click();
    await page.getByText('No passkeys.').waitFor();
    expect(violations).toEqual([]);
    await context.close();
  });

  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    it(`OAuth sign-in: chooses a passkey at the enrollment step the tenant requires, then on to the client with an aal2 ID token (${size})`, async () => {
      const email = `erin-${size}@acme-strict.test`;
      await createUser(t, 'acme-strict', email);
      const config = await discover(strictIssuer, strictClient.client_id, oidc.ClientSecretBasic(strictClient.client_secret));
      const { url, verifier, state } = await pkceAuthorization(config, REDIRECT, 'openid email');
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
      });
      landed.length = 0;
      await page.goto(url.href);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
      // The script revealed the passkey choice (a region named by its heading) above the authenticator app.
      const choice = page.getByRole('region', { name: 'Passkey or security key' });
      await choice.waitFor();
      await expect(page.getByRole('heading', { name: 'Authenticator app' }).isVisible()).resolves.toBe(true);
      await expect(page.getByLabel('Code from the app').isVisible()).resolves.toBe(true);
      await shot(page, `enroll-choice-${size}`);
      await choice.getByRole('button', { name: 'Use a passkey or security key' }).click();
      await page.getByRole('heading', { name: 'Save your backup codes' }).waitFor();
      expect(await page.locator('ol.codes li').count()).toBe(10);
      await shot(page, `enroll-passkey-codes-${size}`);
      // The authenticator holds the new discoverable credential, for this tenant's RP ID.
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(credentials).toEqual([expect.objectContaining({ isResidentCredential: true, rpId: 'localhost' })]);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((u) => u.href.startsWith(REDIRECT));
      expect(landed).toHaveLength(1);
      const tokens = await oidc.authorizationCodeGrant(config, new URL(landed[0]!), { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true });
      expect(tokens.claims()).toMatchObject({ email, acr: 'urn:gatehouse:aal2' });
      expect([...(tokens.claims()!.amr as string[])].sort()).toEqual(['hwk', 'pwd']);
      expect(violations).toEqual([]);
      await context.close();
    });
  }

  it('without JavaScript the enrollment step offers the authenticator app alone (the passkey choice stays hidden)', async () => {
    const email = 'nojs@acme-strict.test';
    await createUser(t, 'acme-strict', email);
    const context = await browser.newContext({ viewport: VIEWPORTS.phone, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${strictIssuer}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(STRONG_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
    await expect(page.getByLabel('Code from the app').isVisible()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Use a passkey or security key' }).isVisible()).resolves.toBe(false);
    await expect(page.getByRole('region', { name: 'Passkey or security key' }).count()).resolves.toBe(0);
    await shot(page, 'enroll-nojs-phone');
    await context.close();
  });

  it('refuses to be framed (clickjacking)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.setContent(`<iframe src="${base}/forgot-password"></iframe>`);
    const frame = page.frames()[1];
    await page.waitForTimeout(300);
    expect(await frame?.evaluate(() => document.body?.textContent ?? '').catch(() => '')).not.toContain('Reset your password');
    await context.close();
  });
});

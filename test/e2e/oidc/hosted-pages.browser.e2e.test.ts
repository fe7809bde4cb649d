import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { chromium, type Browser as Chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, patchTenant } from '../../helpers/auth-flows.ts';
import { totpCode } from '../../../src/mfa/totp.ts';
import { backendName, createTenant, STRONG_PASSWORD } from '../../helpers/test-app.ts';
import { discover, freePort, oidcTenant, registerClient, startOidcServer, type OidcServer, pkceAuthorization } from './oidc-harness.ts';

const SHOTS = join(process.cwd(), 'test-results', 'oidc');
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;

/**
 * The hosted pages in a real browser (Debian Chromium through playwright-core): the authorization code flow with
 * openid-client as the relying party, and screenshots of each page at desktop and phone widths (test-results/oidc).
 */
describe(`OIDC hosted pages in Chromium (${backendName})`, () => {
  let s: OidcServer;
  let browser: Chromium;
  let issuer: string;
  let partner: { client_id: string; client_secret?: string };
  let strictIssuer: string;
  let strictPartner: { client_id: string; client_secret?: string };
  // The relying party's own web server: where the browser lands after sign-in and sign-out.
  let rp: Server;
  let REDIRECT: string;
  let BYE: string;
  const landed: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const port = await freePort();
    REDIRECT = `http://127.0.0.1:${port}/callback`;
    BYE = `http://127.0.0.1:${port}/bye`;
    rp = createServer((req, res) => {
      if (req.url !== '/favicon.ico') landed.push(`http://127.0.0.1:${port}${req.url}`);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>client</p>');
    });
    await new Promise<void>((r) => rp.listen(port, '127.0.0.1', r));
    s = await startOidcServer();
    issuer = (await oidcTenant(s, 'acme-corp')).issuer;
    await patchTenant(s.t, 'acme-corp', { branding: { color: '#0f7b5a' } });
    for (const size of Object.keys(VIEWPORTS)) await createUser(s.t, 'acme-corp', `dana-${size}@acme-corp.test`);
    partner = await registerClient(s, 'acme-corp', { name: 'Partner Analytics', type: 'confidential', redirect_uris: [REDIRECT], post_logout_redirect_uris: [BYE] });
    // A tenant that requires a second factor, grace period over: its users set one up during the sign-in.
    strictIssuer = (await createTenant(s.t, 'acme-strict', { settings: { max_sessions_per_user: 100, mfa_policy: 'required', mfa_grace_period: 0 } })).issuer;
    await patchTenant(s.t, 'acme-strict', { branding: { color: '#0f7b5a' } });
    for (const size of Object.keys(VIEWPORTS)) await createUser(s.t, 'acme-strict', `erin-${size}@acme-strict.test`);
    strictPartner = await registerClient(s, 'acme-strict', { name: 'Partner Analytics', type: 'confidential', redirect_uris: [REDIRECT] });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    rp?.close();
  });

  /** A fresh browser context (no cookies) and page. */
  async function openPage(viewport: { width: number; height: number }) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    landed.length = 0;
    return { page, landed, context };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    it(`signs in, consents and returns to the client (${size})`, async () => {
      const config = await discover(issuer, partner.client_id, oidc.ClientSecretBasic(partner.client_secret!));
      const { url, verifier, state } = await pkceAuthorization(config, REDIRECT, 'openid email profile');
      const { page, landed, context } = await openPage(viewport);
      await page.goto(url.href);
      await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
      expect(await page.textContent('body')).toContain('Partner Analytics');
      // The form is reachable by its labels (accessibility), and a wrong password is announced.
      await page.getByLabel('Email').fill(`dana-${size}@acme-corp.test`);
      await page.getByLabel('Password').fill('definitely not it 123');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/incorrect/);
      await shot(page, `login-error-${size}`);
      // The tenant's accent colour applies: the page's one stylesheet passed the CSP (its hash includes the colour).
      const bg = await page.getByRole('button', { name: 'Sign in' }).evaluate((b) => getComputedStyle(b).backgroundColor);
      expect(bg).toBe('rgb(15, 123, 90)');
      await page.getByLabel('Password').fill(STRONG_PASSWORD);
      await shot(page, `login-${size}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
      await shot(page, `consent-${size}`);
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((u) => u.href.startsWith(REDIRECT));
      expect(landed).toHaveLength(1);
      const tokens = await oidc.authorizationCodeGrant(config, new URL(landed[0]!), { pkceCodeVerifier: verifier, expectedState: state });
      expect(tokens.claims()!.email).toBe(`dana-${size}@acme-corp.test`);

      // RP-initiated logout from the browser, back to the registered URI.
      await page.goto(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: BYE }).href);
      expect(landed[1]).toBe(BYE);
      expect((await context.cookies()).find((c) => c.name === 'gh_session')).toBeUndefined();

      // The error page for an unregistered redirect URI, and the sign-out confirmation without a hint.
      await page.goto(`${issuer}/oauth/authorize?client_id=${partner.client_id}&redirect_uri=https://evil.example/&response_type=code`);
      expect(await page.textContent('body')).toContain('not registered');
      expect(page.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
      await shot(page, `error-${size}`);
      await page.goto(`${issuer}/oauth/end_session`);
      await shot(page, `signed-out-${size}`);
      await context.close();
    });
  }

  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    it(`sets up the second factor the tenant requires during sign-in, then continues to the client (${size})`, async () => {
      const config = await discover(strictIssuer, strictPartner.client_id, oidc.ClientSecretBasic(strictPartner.client_secret!));
      const { url, verifier, state } = await pkceAuthorization(config, REDIRECT, 'openid email');
      const { page, landed, context } = await openPage(viewport);
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(url.href);
      await page.getByLabel('Email').fill(`erin-${size}@acme-strict.test`);
      await page.getByLabel('Password').fill(STRONG_PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
      // The QR code is drawn (inline SVG, allowed by the CSP) and the key is there to type by hand.
      const qr = await page.locator('.qr svg').boundingBox();
      expect(qr!.width).toBeGreaterThan(150);
      const secret = (await page.locator('#totp-key').textContent())!.replaceAll(' ', '');
      await shot(page, `enroll-${size}`);
      const now = totpCode(secret);
      await page.getByLabel('Code from the app').fill(now === '000000' ? '111111' : '000000');
      await page.getByRole('button', { name: 'Verify and continue' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/incorrect/);
      await shot(page, `enroll-error-${size}`);
      await page.getByLabel('Code from the app').fill(totpCode(secret));
      await page.getByRole('button', { name: 'Verify and continue' }).click();
      await page.getByRole('heading', { name: 'Save your backup codes' }).waitFor();
      expect(await page.locator('ol.codes li').count()).toBe(10);
      await shot(page, `backup-codes-${size}`);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((u) => u.href.startsWith(REDIRECT));
      const tokens = await oidc.authorizationCodeGrant(config, new URL(landed[0]!), { pkceCodeVerifier: verifier, expectedState: state });
      expect(tokens.claims()).toMatchObject({ acr: 'urn:gatehouse:aal2', amr: expect.arrayContaining(['otp']) });
      expect(violations).toEqual([]);
      await context.close();
    });
  }

  it('refuses to be framed (clickjacking)', async () => {
    const { page, context } = await openPage(VIEWPORTS.desktop);
    // The page renders when opened directly...
    await page.goto(`${issuer}/oauth/end_session`);
    expect(await page.textContent('body')).toContain('Signed out');
    // ...but not inside another site's frame.
    await page.setContent(`<iframe src="${issuer}/oauth/end_session"></iframe>`);
    await page.waitForTimeout(500);
    const frame = page.frames()[1];
    const framed = frame ? await frame.content().catch(() => '') : '';
    expect(framed).not.toContain('Signed out');
    await context.close();
  });
});

import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, register, type TestApp } from '../../helpers/test-app.ts';

/*
 * The passkey ceremonies in a real browser: Debian's Chromium, headless, with the DevTools WebAuthn virtual
 * authenticator standing in for the user's device. The page is served by the Gatehouse app itself (a route this test
 * adds), on http://localhost:<port> (a secure context), and talks to the real endpoints with fetch and
 * navigator.credentials; the tenant's RP ID is `localhost` and its allowed origin the page's.
 */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`passkey browser test SKIPPED: ${CHROMIUM} is missing (apt-get install chromium)`);

const SLUG = 'browserkeys';

const PAGE = `<!doctype html><meta charset="utf-8"><title>Gatehouse passkey test page</title><script src="/passkey-test.js"></script>`;

/** The page's script: the same few calls a sign-in page makes, with the browser's WebAuthn JSON helpers. */
const SCRIPT = `
const api = '/t/${SLUG}/api/v1';
async function post(path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = 'Bearer ' + token;
  const r = await fetch(api + path, { method: 'POST', headers, body: JSON.stringify(body || {}) });
  const json = await r.json();
  if (!r.ok) throw new Error(path + ' answered ' + r.status + ': ' + JSON.stringify(json));
  return json;
}
window.registerPasskey = async (token, name) => {
  const { options } = await post('/me/mfa/webauthn/registration/options', {}, token);
  const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
  return post('/me/mfa/webauthn/registration/verify', { response: credential.toJSON(), name }, token);
};
window.signInWithPasskey = async () => {
  const { challenge_id, options } = await post('/auth/webauthn/authentication/options', {});
  const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
  return post('/auth/webauthn/authentication/verify', { challenge_id, response: credential.toJSON() });
};
`;

function addTestPage(app: FastifyInstance) {
  // The app's API CSP (default-src 'none') would stop the page's script: this page allows its own script and fetches.
  const csp = (_req: unknown, reply: { header(k: string, v: string): unknown }, payload: unknown, done: (e: null, p: unknown) => void) => {
    reply.header('content-security-policy', "default-src 'none'; script-src 'self'; connect-src 'self'");
    done(null, payload);
  };
  app.get('/passkey-test', { schema: { hide: true }, onSend: csp }, async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
  app.get('/passkey-test.js', { schema: { hide: true }, onSend: csp }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(SCRIPT));
}

describe.skipIf(!hasChromium)(`passkeys in a real browser: Chromium + WebAuthn virtual authenticator (${backendName})`, () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let cdp: CDPSession;
  let origin: string;

  beforeAll(async () => {
    t = await buildTestApp({}, { routes: addTestPage });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://localhost:${(t.app.server.address() as AddressInfo).port}`;
    await createTenant(t, SLUG, { name: 'Browser Keys', settings: { webauthn_rp_id: 'localhost', webauthn_origins: [origin] } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext();
    page = await context.newPage();
    await page.goto(`${origin}/passkey-test`);
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function addAuthenticator(extra: Record<string, unknown> = {}): Promise<string> {
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
        ...extra,
      },
    });
    return authenticatorId;
  }

  async function newUser(email: string): Promise<{ id: string; access: string }> {
    const r = await register(t, SLUG, email);
    expect(r.statusCode, r.body).toBe(201);
    return { id: r.json().user.id, access: r.json().access_token };
  }

  it('registers a passkey, then signs in with it usernameless: amr hwk, aal 2, and /me works with the token', async () => {
    const authenticator = await addAuthenticator();
    const user = await newUser('pat@browserkeys.test');

    const credential = await page.evaluate(([token]) => (window as any).registerPasskey(token, 'Chromium virtual key'), [user.access]);
    expect(credential).toMatchObject({ name: 'Chromium virtual key', device_type: 'single_device', backed_up: false });
    expect(credential.transports).toContain('internal');
    // The authenticator now holds one discoverable credential for RP localhost, with the user's handle.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost' });
    expect(Buffer.from(credentials[0]!.userHandle!, 'base64').toString('hex')).toBe(user.id.replace(/-/g, ''));

    const tokens = await page.evaluate(() => (window as any).signInWithPasskey());
    expect(tokens).toMatchObject({ token_type: 'Bearer', user: { id: user.id, email: 'pat@browserkeys.test' } });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: user.id, amr: ['hwk'], aal: 2 });
    const me = await t.app.inject({ method: 'GET', url: `/t/${SLUG}/api/v1/me`, headers: bearer(tokens.access_token) });
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json()).toMatchObject({ id: user.id, email: 'pat@browserkeys.test' });
    // The signature counter the authenticator reported was stored.
    expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator })).credentials[0]!.signCount).toBeGreaterThan(0);
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: authenticator });
  });

  it('a backup-eligible (synced) passkey signs in with amr swk', async () => {
    const authenticator = await addAuthenticator({ defaultBackupEligibility: true, defaultBackupState: true });
    const user = await newUser('quinn@browserkeys.test');
    const credential = await page.evaluate(([token]) => (window as any).registerPasskey(token), [user.access]);
    expect(credential).toMatchObject({ name: 'Passkey', device_type: 'multi_device', backed_up: true });
    const tokens = await page.evaluate(() => (window as any).signInWithPasskey());
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: user.id, amr: ['swk'], aal: 2 });
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: authenticator });
  });
});

import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observability/logger.ts';
import { createUser } from '../../helpers/auth-flows.ts';
import { backendName, buildTestApp, createTenant, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { InjectBrowser, runBrowser } from './oidc-harness.ts';

const REDIRECT = 'https://app.example/cb';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Every log line of a whole OAuth flow, at trace level: no secret, code, token, cookie or hint appears. */
describe(`OIDC log redaction (${backendName})`, () => {
  const lines: string[] = [];
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({}, { logger: createLogger('trace', { write: (l: string) => void lines.push(l) }) });
  });
  afterAll(() => t.close());

  it('keeps client secrets, codes, verifiers, tokens, passwords, cookies and hints out of the log', async () => {
    await createTenant(t, 'logs', { settings: { max_sessions_per_user: 100 } });
    await createUser(t, 'logs', 'erin@logs.test');
    const c = await t.app.inject({ method: 'POST', url: '/api/v1/platform/tenants/logs/clients', headers: { authorization: `Bearer ${t.platformToken}` }, payload: { name: 'w', type: 'confidential', redirect_uris: [REDIRECT], first_party: true } });
    const { client_id, client_secret } = c.json();
    const basic = { authorization: `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString('base64')}` };
    const verifier = oidc.randomPKCECodeVerifier();
    const q = new URLSearchParams({ response_type: 'code', client_id, redirect_uri: REDIRECT, scope: 'openid offline_access', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', login_hint: 'erin@logs.test' });
    const browser = new InjectBrowser(t);
    const callback = await runBrowser(browser, `/t/logs/oauth/authorize?${q}`, REDIRECT, { email: 'erin@logs.test', password: STRONG_PASSWORD });
    const code = callback.searchParams.get('code')!;
    const sessionCookie = browser.jar.get('gh_session')!;
    const browserCookie = browser.jar.get('gh_browser')!;
    const tok = await t.app.inject({ method: 'POST', url: '/t/logs/oauth/token', headers: { ...FORM, ...basic }, payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }).toString() });
    expect(tok.statusCode, tok.body).toBe(200);
    const { access_token, refresh_token, id_token } = tok.json();
    await t.app.inject({ method: 'POST', url: '/t/logs/oauth/token', headers: { ...FORM, ...basic }, payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token }).toString() });
    await t.app.inject({ method: 'GET', url: '/t/logs/oauth/userinfo', headers: { authorization: `Bearer ${access_token}` } });
    await t.app.inject({ method: 'GET', url: `/t/logs/oauth/end_session?id_token_hint=${id_token}` });

    expect(lines.some((l) => l.includes('/oauth/token'))).toBe(true);
    const log = lines.join('\n');
    for (const [label, secret] of Object.entries({ client_secret, code, verifier, access_token, refresh_token, id_token, password: STRONG_PASSWORD, session_cookie: sessionCookie, browser_cookie: browserCookie, login_hint: 'erin@logs.test' })) {
      expect(secret, label).toBeTruthy();
      expect(log.includes(secret), `${label} leaked into the log`).toBe(false);
    }
  });
});

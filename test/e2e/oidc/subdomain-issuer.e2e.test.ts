import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../helpers/auth-flows.ts';
import { backendName, buildTestApp, createTenant, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { InjectBrowser, runBrowser } from './oidc-harness.ts';

const REDIRECT = 'https://app.example/cb';

/** With GATEHOUSE_BASE_DOMAIN each tenant's issuer is its own host, and the provider answers at its root. */
describe(`OIDC at a tenant subdomain (${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ GATEHOUSE_BASE_DOMAIN: 'auth.test' });
    await createTenant(t, 'acme', { settings: { max_sessions_per_user: 100 } });
    await createTenant(t, 'globex');
    await createUser(t, 'acme', 'fay@acme.test');
  });
  afterAll(() => t.close());

  it('discovery, sign-in and the code exchange all happen on the tenant’s host', async () => {
    const meta = await t.app.inject({ method: 'GET', url: '/.well-known/openid-configuration', headers: { host: 'acme.auth.test' } });
    expect(meta.json()).toMatchObject({ issuer: 'http://acme.auth.test', token_endpoint: 'http://acme.auth.test/oauth/token' });
    const other = await t.app.inject({ method: 'GET', url: '/.well-known/openid-configuration', headers: { host: 'globex.auth.test' } });
    expect(other.json().issuer).toBe('http://globex.auth.test');

    const c = (await t.app.inject({ method: 'POST', url: '/api/v1/platform/tenants/acme/clients', headers: { authorization: `Bearer ${t.platformToken}` }, payload: { name: 'w', type: 'public', redirect_uris: [REDIRECT], first_party: true } })).json();
    const verifier = oidc.randomPKCECodeVerifier();
    const q = new URLSearchParams({ response_type: 'code', client_id: c.client_id, redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const browser = new InjectBrowser(t);
    const callback = await runBrowser(browser, `http://acme.auth.test/oauth/authorize?${q}`, REDIRECT, { email: 'fay@acme.test', password: STRONG_PASSWORD });
    expect(callback.searchParams.get('iss')).toBe('http://acme.auth.test');
    const tok = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { host: 'acme.auth.test', 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'authorization_code', client_id: c.client_id, code: callback.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier }).toString(),
    });
    expect(tok.statusCode, tok.body).toBe(200);
    // The same client is unknown at another tenant's host.
    const q2 = new URLSearchParams({ response_type: 'code', client_id: c.client_id, redirect_uri: REDIRECT, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const foreign = await t.app.inject({ method: 'GET', url: `/oauth/authorize?${q2}`, headers: { host: 'globex.auth.test' } });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.headers.location).toBeUndefined();
  });
});

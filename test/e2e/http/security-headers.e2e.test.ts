import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function expectBaseHeaders(res: LightMyRequestResponse, label: string) {
  expect(res.headers['x-content-type-options'], label).toBe('nosniff');
  expect(res.headers['x-frame-options'], label).toBe('DENY');
  expect(res.headers['referrer-policy'], label).toBe('no-referrer');
  expect(res.headers['content-security-policy'], label).toMatch(/frame-ancestors 'none'/);
  expect(res.headers['x-request-id'], label).toBeTruthy();
}

/** The newest audit event of an action, read through the API. */
async function newestEvent(t: TestApp, slug: string, token: string, action: string) {
  const r = await t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/admin/audit?action=${action}&limit=1`, headers: bearer(token) });
  expect(r.statusCode, r.body).toBe(200);
  return r.json().events[0] as { ip: string | null; request_id: string | null; user_agent: string | null };
}

describe(`security headers and request ids (${backendName})`, () => {
  let t: TestApp;
  let tokens: { access_token: string; refresh_token: string };

  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'acme');
    tokens = (await login(t, 'acme', 'admin@acme.test')).json();
  });
  afterAll(() => t.close());

  it('every kind of response carries the security headers, and no HSTS over plain http', async () => {
    const responses: [string, LightMyRequestResponse][] = [
      ['health', await t.app.inject({ method: 'GET', url: '/health' })],
      ['ready', await t.app.inject({ method: 'GET', url: '/ready' })],
      ['metrics', await t.app.inject({ method: 'GET', url: '/metrics' })],
      ['openapi', await t.app.inject({ method: 'GET', url: '/openapi.json' })],
      ['docs', await t.app.inject({ method: 'GET', url: '/docs' })],
      ['jwks', await t.app.inject({ method: 'GET', url: '/t/acme/.well-known/jwks.json' })],
      ['register 201', await register(t, 'acme', 'headers@acme.test')],
      ['login 200', await login(t, 'acme', 'headers@acme.test')],
      ['me 200', await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(tokens.access_token) })],
      ['401', await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me' })],
      ['403', await t.app.inject({ method: 'GET', url: '/api/v1/platform/tenants', headers: bearer('ghp_wrong') })],
      ['404 route', await t.app.inject({ method: 'GET', url: '/nope' })],
      ['404 tenant', await login(t, 'nosuch', 'a@b.co')],
      ['400 json', await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: '{' })],
      ['400 router', await t.app.inject({ method: 'GET', url: `/t/${'x'.repeat(300)}/api/v1/me` })],
      ['400 bad url', await t.app.inject({ method: 'GET', url: '/t/%E0%A4%A/api/v1/me' })],
      ['413', await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/login', payload: { email: 'x', password: 'y'.repeat(70_000) } })],
      ['415', await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/login', headers: { 'content-type': 'text/plain' }, payload: 'x' })],
    ];
    for (const [label, res] of responses) {
      expectBaseHeaders(res, label);
      expect(res.headers['strict-transport-security'], label).toBeUndefined();
    }
    const byLabel = Object.fromEntries(responses);
    expect(byLabel['openapi']!.statusCode).toBe(200);
    expect(byLabel['docs']!.statusCode).toBe(200);
    // JSON and errors get a CSP that allows nothing; only the docs page may load its own scripts and styles.
    expect(byLabel['me 200']!.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(byLabel['401']!.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(byLabel['docs']!.headers['content-security-policy']).toMatch(/script-src 'self'/);
  });

  it('token responses, personal data and errors are never cached', async () => {
    const rf = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/refresh', payload: { refresh_token: tokens.refresh_token } });
    expect(rf.statusCode, rf.body).toBe(200);
    tokens = rf.json();
    const cookie = await t.app.inject({
      method: 'POST',
      url: '/t/acme/api/v1/auth/login',
      payload: { email: 'admin@acme.test', password: STRONG_PASSWORD, token_delivery: 'cookie' },
    });
    expect(cookie.statusCode, cookie.body).toBe(200);
    for (const [label, res] of [
      ['login', await login(t, 'acme', 'admin@acme.test')],
      ['cookie login', cookie],
      ['refresh', rf],
      ['register', await register(t, 'acme', 'cache@acme.test')],
      ['me', await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(tokens.access_token) })],
      ['sessions', await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me/sessions', headers: bearer(tokens.access_token) })],
      ['platform', await t.app.inject({ method: 'POST', url: '/api/v1/platform/credentials', headers: bearer(t.platformToken), payload: { name: 'x' } })],
      ['error', await login(t, 'acme', 'admin@acme.test', 'wrong password entirely')],
    ] as const) {
      expect(res.headers['cache-control'], label).toBe('no-store');
      expect(res.headers['pragma'], label).toBe('no-cache');
    }
    // The refresh cookie itself is httpOnly, Secure and SameSite=Strict.
    const setCookie = ([] as string[]).concat(cookie.headers['set-cookie'] ?? []);
    const refreshCookie = setCookie.find((c) => c.startsWith('gh_refresh='));
    expect(refreshCookie).toMatch(/HttpOnly/i);
    expect(refreshCookie).toMatch(/Secure/i);
    expect(refreshCookie).toMatch(/SameSite=Strict/i);
    // Public key sets may be cached: they are public and change on rotation only.
    const jwks = await t.app.inject({ method: 'GET', url: '/t/acme/.well-known/jwks.json' });
    expect(jwks.headers['cache-control']).toMatch(/public/);
  });

  it('generates an x-request-id, echoes a safe incoming one, and replaces an unsafe one', async () => {
    const generated = await t.app.inject({ method: 'GET', url: '/health' });
    expect(generated.headers['x-request-id']).toMatch(UUID);

    for (const safe of ['abc-123', 'req.2024:01_x', 'A'.repeat(64)]) {
      const res = await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': safe } });
      expect(res.headers['x-request-id']).toBe(safe);
    }
    for (const unsafe of ['has space', '<script>alert(1)</script>', 'A'.repeat(65), 'semi;colon', 'quote"d', 'ünïcode', '']) {
      const res = await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: { 'x-request-id': unsafe } });
      expect(res.headers['x-request-id'], JSON.stringify(unsafe)).toMatch(UUID);
      expect(res.json().error.requestId).toBe(res.headers['x-request-id']);
      expect(res.body).not.toContain('<script>');
    }
  });

  it('the request id reaches the audit trail', async () => {
    const res = await login(t, 'acme', 'admin@acme.test', STRONG_PASSWORD, { 'x-request-id': 'trace-me-123' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toBe('trace-me-123');
    const event = await newestEvent(t, 'acme', res.json().access_token, 'login.succeeded');
    expect(event.request_id).toBe('trace-me-123');
  });
});

describe(`HSTS when the public URL is https (${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ GATEHOUSE_PUBLIC_URL: 'https://id.example.test' });
    await createTenant(t, 'acme');
  });
  afterAll(() => t.close());

  it('sends Strict-Transport-Security on every response', async () => {
    for (const [label, res] of [
      ['health', await t.app.inject({ method: 'GET', url: '/health' })],
      ['login', await login(t, 'acme', 'admin@acme.test')],
      ['failed login', await login(t, 'acme', 'admin@acme.test', 'wrong password entirely')],
      ['404', await t.app.inject({ method: 'GET', url: '/nope' })],
      ['router error', await t.app.inject({ method: 'GET', url: `/t/${'x'.repeat(300)}/api/v1/me` })],
      ['docs', await t.app.inject({ method: 'GET', url: '/docs' })],
    ] as const) {
      expect(res.headers['strict-transport-security'], label).toBe('max-age=31536000; includeSubDomains');
      expectBaseHeaders(res, label);
    }
  });
});

describe(`client address and trusted proxies (${backendName})`, () => {
  const spoofed = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' };

  describe('GATEHOUSE_TRUST_PROXY unset', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await buildTestApp();
      await createTenant(t, 'acme');
    });
    afterAll(() => t.close());

    it('ignores X-Forwarded-For: the audit event and the session keep the socket address', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/t/acme/api/v1/auth/login',
        remoteAddress: '127.0.0.1',
        headers: spoofed,
        payload: { email: 'admin@acme.test', password: STRONG_PASSWORD },
      });
      expect(res.statusCode, res.body).toBe(200);
      const token = res.json().access_token;
      expect((await newestEvent(t, 'acme', token, 'login.succeeded')).ip).toBe('127.0.0.1');
      const sessions = await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me/sessions', headers: bearer(token) });
      const current = (sessions.json().sessions as { current: boolean; ip: string }[]).find((s) => s.current);
      expect(current?.ip).toBe('127.0.0.1');
      // Nor is X-Forwarded-Proto believed.
      expect(res.headers['strict-transport-security']).toBeUndefined();
    });

    it('failed logins record the socket address too', async () => {
      const bad = await t.app.inject({
        method: 'POST',
        url: '/t/acme/api/v1/auth/login',
        remoteAddress: '192.0.2.44',
        headers: spoofed,
        payload: { email: 'admin@acme.test', password: 'not the password at all' },
      });
      expect(bad.statusCode).toBe(401);
      const token = (await login(t, 'acme', 'admin@acme.test')).json().access_token;
      expect((await newestEvent(t, 'acme', token, 'login.failed')).ip).toBe('192.0.2.44');
    });
  });

  describe('GATEHOUSE_TRUST_PROXY=127.0.0.1', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await buildTestApp({ GATEHOUSE_TRUST_PROXY: '127.0.0.1' });
      await createTenant(t, 'acme');
    });
    afterAll(() => t.close());

    it('uses X-Forwarded-For from the trusted proxy', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/t/acme/api/v1/auth/login',
        remoteAddress: '127.0.0.1',
        headers: spoofed,
        payload: { email: 'admin@acme.test', password: STRONG_PASSWORD },
      });
      expect(res.statusCode, res.body).toBe(200);
      const token = res.json().access_token;
      expect((await newestEvent(t, 'acme', token, 'login.succeeded')).ip).toBe('203.0.113.7');
      const sessions = await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me/sessions', headers: bearer(token) });
      expect((sessions.json().sessions as { current: boolean; ip: string }[]).find((s) => s.current)?.ip).toBe('203.0.113.7');
      // The forwarded protocol is believed too.
      expect(res.headers['strict-transport-security']).toBeDefined();
    });

    it('takes the nearest untrusted hop of a chain, not a client-supplied first entry', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/t/acme/api/v1/auth/login',
        remoteAddress: '127.0.0.1',
        headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.23' },
        payload: { email: 'admin@acme.test', password: STRONG_PASSWORD },
      });
      expect(res.statusCode).toBe(200);
      expect((await newestEvent(t, 'acme', res.json().access_token, 'login.succeeded')).ip).toBe('198.51.100.23');
    });

    it('ignores X-Forwarded-For from an address that is not the trusted proxy', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/t/acme/api/v1/auth/login',
        remoteAddress: '198.51.100.99',
        headers: spoofed,
        payload: { email: 'admin@acme.test', password: STRONG_PASSWORD },
      });
      expect(res.statusCode).toBe(200);
      expect((await newestEvent(t, 'acme', res.json().access_token, 'login.succeeded')).ip).toBe('198.51.100.99');
    });
  });
});

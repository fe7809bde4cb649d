import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisKv } from '../../../src/kv/redis-kv.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { backendName, bearer, buildTestApp, createTenant, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

const NEW_PASSWORD = 'a fresh and different passphrase 7';
const WRONG_PASSWORD = 'not-my-password-hunter2-xyz';
const ADMIN_PASSWORD = 'the tenant owner passphrase 55';

/** An app whose own logger (the production configuration) writes every line, at trace level, into `lines`. */
async function capturedApp(lines: string[], opts: Parameters<typeof buildTestApp>[1] = {}) {
  const logger = createLogger('trace', {
    write(line: string) {
      lines.push(line);
    },
  });
  return buildTestApp({}, { ...opts, logger });
}

describe(`log redaction (${backendName})`, () => {
  const lines: string[] = [];
  const secrets = new Map<string, string>();
  let t: TestApp;

  const remember = (label: string, value: string | undefined) => {
    expect(value, label).toBeTruthy();
    secrets.set(label, value!);
  };

  beforeAll(async () => {
    t = await capturedApp(lines);
    remember('test platform credential', t.platformToken);

    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/platform/tenants',
      headers: bearer(t.platformToken),
      payload: { slug: 'acme', name: 'Acme', admin: { email: 'admin@acme.test', password: ADMIN_PASSWORD } },
    });
    expect(created.statusCode, created.body).toBe(201);

    const reg = await register(t, 'acme', 'user@acme.test');
    expect(reg.statusCode).toBe(201);
    remember('register access token', reg.json().access_token);
    remember('register refresh token', reg.json().refresh_token);

    expect((await login(t, 'acme', 'user@acme.test', WRONG_PASSWORD)).statusCode).toBe(401);
    const l = await login(t, 'acme', 'user@acme.test');
    remember('login access token', l.json().access_token);
    remember('login refresh token', l.json().refresh_token);

    const rf = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/refresh', payload: { refresh_token: l.json().refresh_token } });
    expect(rf.statusCode).toBe(200);
    remember('refreshed access token', rf.json().access_token);
    remember('refreshed refresh token', rf.json().refresh_token);
    // Re-using the old one (reuse detection path, logged as an incident).
    expect((await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/refresh', payload: { refresh_token: l.json().refresh_token } })).statusCode).toBe(401);

    // Cookie delivery: refresh through the cookie and the CSRF header.
    const c = await t.app.inject({
      method: 'POST',
      url: '/t/acme/api/v1/auth/login',
      payload: { email: 'user@acme.test', password: STRONG_PASSWORD, token_delivery: 'cookie' },
    });
    expect(c.statusCode, c.body).toBe(200);
    const cookies = Object.fromEntries(c.cookies.map((k) => [k.name, k.value]));
    remember('refresh cookie', cookies.gh_refresh);
    remember('csrf cookie', cookies.gh_csrf);
    const viaCookie = await t.app.inject({
      method: 'POST',
      url: '/t/acme/api/v1/auth/refresh',
      headers: { cookie: `gh_refresh=${cookies.gh_refresh}; gh_csrf=${cookies.gh_csrf}`, 'x-csrf-token': cookies.gh_csrf! },
    });
    expect(viaCookie.statusCode, viaCookie.body).toBe(200);
    const rotated = Object.fromEntries(viaCookie.cookies.map((k) => [k.name, k.value]));
    remember('rotated refresh cookie', rotated.gh_refresh);
    remember('cookie access token', viaCookie.json().access_token);

    // (The reuse above revoked the refreshed session: carry on with the cookie session.)
    const token = viaCookie.json().access_token as string;
    expect((await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(token) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(token + 'x') })).statusCode).toBe(401);
    const pw = await t.app.inject({
      method: 'POST',
      url: '/t/acme/api/v1/me/password',
      headers: bearer(token),
      payload: { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD },
    });
    expect(pw.statusCode, pw.body).toBe(204);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/t/acme/api/v1/me/password',
      headers: bearer(token),
      payload: { current_password: WRONG_PASSWORD, new_password: NEW_PASSWORD },
    });
    expect(bad.statusCode).toBe(400);
    expect((await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/logout', headers: bearer(token) })).statusCode).toBe(204);

    const cred = await t.app.inject({ method: 'POST', url: '/api/v1/platform/credentials', headers: bearer(t.platformToken), payload: { name: 'ci' } });
    remember('new platform credential', cred.json().secret);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/platform/tenants', headers: bearer(cred.json().secret) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/platform/tenants', headers: bearer(cred.json().secret + 'x') })).statusCode).toBe(401);
    const made = await t.app.inject({
      method: 'POST',
      url: '/api/v1/platform/tenants/acme/users',
      headers: bearer(cred.json().secret),
      payload: { email: 'made@acme.test', password: NEW_PASSWORD },
    });
    expect(made.statusCode).toBe(201);
  });
  afterAll(() => t.close());

  it('logged the requests at all (the capture works)', () => {
    expect(lines.length).toBeGreaterThan(20);
    const text = lines.join('');
    expect(text).toContain('/t/acme/api/v1/auth/login');
    expect(text).toContain('incoming request');
    expect(t.gh.logger.level).toBe('trace');
  });

  it('no password, token, platform credential or cookie value appears anywhere in the log', () => {
    const text = lines.join('');
    for (const [label, value] of [
      ['password', STRONG_PASSWORD],
      ['new password', NEW_PASSWORD],
      ['wrong password', WRONG_PASSWORD],
      ['admin password', ADMIN_PASSWORD],
      ...secrets,
    ] as [string, string][]) {
      expect(text.includes(value), `${label} leaked into the log`).toBe(false);
      // Nor any recognisable part of it (a JWT's signature, a token without its prefix).
      const tail = value.includes('.') ? value.split('.').pop()! : value.replace(/^gh[pr]_/, '');
      expect(text.includes(tail), `part of ${label} leaked into the log`).toBe(false);
    }
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    expect(text).not.toMatch(/gh[pr]_[A-Za-z0-9_-]{20,}/);
  });

  it("the app's logger censors secrets passed to it explicitly", () => {
    const before = lines.length;
    t.gh.logger.info(
      {
        password: 'explicit-secret-1',
        token: 'explicit-secret-2',
        secret: 'explicit-secret-3',
        req: { headers: { authorization: 'Bearer explicit-secret-4', cookie: 'gh_refresh=explicit-secret-5', 'x-csrf-token': 'explicit-secret-6' } },
        res: { headers: { 'set-cookie': 'gh_refresh=explicit-secret-7' } },
        body: { password: 'explicit-secret-8', current_password: 'explicit-secret-9', new_password: 'explicit-secret-10', refresh_token: 'explicit-secret-11', access_token: 'explicit-secret-12' },
        headers: { authorization: 'Bearer explicit-secret-13', cookie: 'explicit-secret-14' },
      },
      'explicit',
    );
    const out = lines.slice(before).join('');
    expect(out).toContain('[redacted]');
    expect(out).not.toMatch(/explicit-secret/);
  });
});

describe(`log redaction while the key-value store is down (${backendName})`, () => {
  it('the fallback warning logs the error without the token', async () => {
    const lines: string[] = [];
    const t = await capturedApp(lines, { kv: createRedisKv('redis://127.0.0.1:1') });
    try {
      await createTenant(t, 'acme');
      const reg = await register(t, 'acme', 'user@acme.test');
      const token = reg.json().access_token as string;
      expect((await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(token) })).statusCode).toBe(200);
      const text = lines.join('');
      expect(text).toContain('denylist unavailable');
      expect(text).not.toContain(token.split('.')[2]!);
      expect(text).not.toContain(STRONG_PASSWORD);
      expect(text).not.toContain(t.platformToken);
    } finally {
      await t.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, login, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

describe(`password policy through the API (${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'policy', { name: 'Initech', settings: { password_history: 2 } });
  });
  afterAll(() => t.close());

  it('register refuses common, personal and weak passwords, listing each rule', async () => {
    for (const [password, code] of [
      ['password123', 'PASSWORD_COMMON'],
      ['initech rules the world', 'PASSWORD_CONTAINS_PERSONAL_INFO'],
      ['abcabcabc', 'PASSWORD_TOO_WEAK'],
      ['short', 'PASSWORD_TOO_SHORT'],
    ]) {
      const r = await t.app.inject({ method: 'POST', url: '/t/policy/api/v1/auth/register', payload: { email: 'peter@example.com', password } });
      expect(r.statusCode, password).toBe(400);
      expect(r.json().error.code).toBe('PASSWORD_POLICY');
      expect(r.json().error.details.map((d: { code: string }) => d.code)).toContain(code);
    }
    const ok = await t.app.inject({ method: 'POST', url: '/t/policy/api/v1/auth/register', payload: { email: 'peter@example.com', password: STRONG_PASSWORD } });
    expect(ok.statusCode).toBe(201);
  });

  it('the check endpoint gives the verdict without creating anything', async () => {
    const weak = await t.app.inject({ method: 'POST', url: '/t/policy/api/v1/auth/password/check', payload: { password: 'samir.nagheenanajar', email: 'samir.nagheenanajar@initech.com' } });
    expect(weak.statusCode).toBe(200);
    expect(weak.json()).toMatchObject({ ok: false, min_score: 3 });
    expect(weak.json().violations.map((v: { code: string }) => v.code)).toContain('PASSWORD_CONTAINS_PERSONAL_INFO');
    const strong = await t.app.inject({ method: 'POST', url: '/t/policy/api/v1/auth/password/check', payload: { password: STRONG_PASSWORD } });
    expect(strong.json()).toMatchObject({ ok: true, score: 4, violations: [] });
  });

  it('admin-set passwords follow the policy too', async () => {
    const admin = (await login(t, 'policy', 'admin@policy.test')).json().access_token;
    const r = await t.app.inject({ method: 'POST', url: '/t/policy/api/v1/admin/users', headers: bearer(admin), payload: { email: 'weak@initech.com', password: 'qwertyuiop' } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('PASSWORD_POLICY');
  });

  it('a password change may not reuse the last N passwords (N = 2 here)', async () => {
    const change = async (token: string, from: string, to: string) =>
      t.app.inject({ method: 'POST', url: '/t/policy/api/v1/me/password', headers: bearer(token), payload: { current_password: from, new_password: to } });
    const token = (await login(t, 'policy', 'peter@example.com')).json().access_token;
    const P1 = 'marble canyon whistles at dawn';
    const P2 = 'seven quiet owls on a copper roof';
    expect((await change(token, STRONG_PASSWORD, STRONG_PASSWORD)).json().error.details[0].code).toBe('PASSWORD_REUSED');
    expect((await change(token, STRONG_PASSWORD, P1)).statusCode).toBe(204);
    const back = await change(token, P1, STRONG_PASSWORD);
    expect(back.statusCode).toBe(400);
    expect(back.json().error.details.map((d: { code: string }) => d.code)).toEqual(['PASSWORD_REUSED']);
    expect((await change(token, P1, P2)).statusCode).toBe(204);
    // Two back is outside a history of 2.
    expect((await change(token, P2, STRONG_PASSWORD)).statusCode).toBe(204);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, buildTestApp, createTenant, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

describe(`JSON bodies are typed strictly, query strings coerced (${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'typed');
  });
  afterAll(() => t.close());

  it.each([
    ['boolean password', { email: 'admin@typed.test', password: true }],
    ['array email', { email: ['admin@typed.test'], password: STRONG_PASSWORD }],
    ['number password', { email: 'admin@typed.test', password: 12345678 }],
  ])('login with a %s is a 400 VALIDATION_ERROR', async (_name, payload) => {
    const res = await t.app.inject({ method: 'POST', url: '/t/typed/api/v1/auth/login', payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_ERROR');
  });

  it('query numbers still arrive as numbers', async () => {
    const login = await t.app.inject({ method: 'POST', url: '/t/typed/api/v1/auth/login', payload: { email: 'admin@typed.test', password: STRONG_PASSWORD } });
    const res = await t.app.inject({ method: 'GET', url: '/t/typed/api/v1/admin/users?limit=1', headers: { authorization: `Bearer ${login.json().access_token}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json().users).toHaveLength(1);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, buildTestApp, createTenant, expectError, type TestApp } from '../../helpers/test-app.ts';
import { api } from './passkeys.ts';

/** Each sign-in ceremony holds a challenge in the store for 5 minutes: starting them is budgeted per client IP. */
describe(`passkey sign-in options are rate limited per IP (${backendName})`, () => {
  let t: TestApp;
  const slug = 'flood';

  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, slug);
  });
  afterAll(() => t.close());

  it('300 per minute per IP, then 429 with Retry-After; another IP is unaffected', async () => {
    const start = (ip: string) => t.app.inject({ method: 'POST', url: `${api(slug)}/auth/webauthn/authentication/options`, payload: {}, remoteAddress: ip });
    for (let i = 0; i < 300; i++) expect((await start('198.51.100.7')).statusCode).toBe(200);
    const limited = await start('198.51.100.7');
    expectError(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await start('198.51.100.8')).statusCode).toBe(200);
  });
});

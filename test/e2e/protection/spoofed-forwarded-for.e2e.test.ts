import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, buildTestApp, createTenant, type TestApp } from '../../helpers/test-app.ts';

const WRONG = 'not the right password at all';
// Gatehouse's default per-IP budget (login_max_failures_per_ip), set explicitly over createTenant's relaxed limits.
const defaults = { login_max_failures_per_ip: 20, register_max_per_ip_per_hour: 3 };

function attempt(t: TestApp, slug: string, email: string, remoteAddress: string, forwardedFor?: string) {
  return t.app.inject({
    method: 'POST',
    url: `/t/${slug}/api/v1/auth/login`,
    payload: { email, password: WRONG },
    remoteAddress,
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
  });
}

describe(`X-Forwarded-For is ignored unless the proxy is trusted (${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    // GATEHOUSE_TRUST_PROXY unset: the default, no proxy trusted.
    t = await buildTestApp();
    await createTenant(t, 'spoof', { settings: defaults });
  });
  afterAll(() => t?.close());

  it('a client inventing a new X-Forwarded-For on every try is still one IP: 429 after 20 failures', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await attempt(t, 'spoof', `victim${i}@spoof.test`, '198.51.100.10', `10.${i}.${(i * 7) % 256}.${i + 1}`);
      expect(r.statusCode).toBe(401);
    }
    const next = await attempt(t, 'spoof', 'victim20@spoof.test', '198.51.100.10', '10.200.200.200');
    expect(next.statusCode).toBe(429);
    expect(next.json().error.code).toBe('RATE_LIMITED');
    // The socket address is what was counted: another client is untouched.
    expect((await attempt(t, 'spoof', 'victim21@spoof.test', '198.51.100.11', '10.200.200.200')).statusCode).toBe(401);
  });
});

describe(`X-Forwarded-For from a trusted proxy (GATEHOUSE_TRUST_PROXY=127.0.0.1, ${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ GATEHOUSE_TRUST_PROXY: '127.0.0.1' });
    await createTenant(t, 'proxied', { settings: defaults });
  });
  afterAll(() => t?.close());

  it('distinct forwarded addresses are distinct IPs: 25 failures over 25 forwarded IPs, no 429', async () => {
    for (let i = 0; i < 25; i++) {
      const r = await attempt(t, 'proxied', `user${i}@proxied.test`, '127.0.0.1', `203.0.113.${i + 1}`);
      expect(r.statusCode).toBe(401);
    }
  });

  it('one forwarded address is still limited behind the proxy, whatever the client prepends to the header', async () => {
    // The client controls the left of the header; the trusted proxy appends the real address on the right.
    for (let i = 0; i < 20; i++) {
      const r = await attempt(t, 'proxied', `other${i}@proxied.test`, '127.0.0.1', `10.0.${i}.1, 192.0.2.99`);
      expect(r.statusCode).toBe(401);
    }
    expect((await attempt(t, 'proxied', 'other20@proxied.test', '127.0.0.1', '10.9.9.9, 192.0.2.99')).statusCode).toBe(429);
  });

  it('an untrusted peer cannot use the header either', async () => {
    for (let i = 0; i < 20; i++) {
      expect((await attempt(t, 'proxied', `far${i}@proxied.test`, '198.51.100.20', `203.0.113.${100 + i}`)).statusCode).toBe(401);
    }
    expect((await attempt(t, 'proxied', 'far20@proxied.test', '198.51.100.20', '203.0.113.250')).statusCode).toBe(429);
  });
});

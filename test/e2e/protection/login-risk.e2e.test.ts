import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0';

describe(`login risk scoring (${backendName})`, () => {
  let t: TestApp;
  const signIn = (slug: string, ip: string, ua: string) =>
    t.app.inject({
      method: 'POST',
      url: `/t/${slug}/api/v1/auth/login`,
      payload: { email: `admin@${slug}.test`, password: STRONG_PASSWORD },
      remoteAddress: ip,
      headers: { 'user-agent': ua },
    });
  const events = async (slug: string, token: string, action: string) =>
    (await t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/admin/audit?action=${action}`, headers: bearer(token) })).json().events as {
      details: { risk_score: number; risk_reasons: string[] };
    }[];

  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('scores each sign-in into its audit event; an unusual one is recorded as suspicious', async () => {
    await createTenant(t, 'risky');
    const first = await signIn('risky', '198.51.100.10', FIREFOX);
    expect(first.statusCode).toBe(200);
    const usual = await signIn('risky', '198.51.100.11', FIREFOX);
    const token = usual.json().access_token;
    const succeeded = await events('risky', token, 'login.succeeded');
    expect(succeeded.map((e) => e.details.risk_score)).toEqual([0, 0]);

    // A script from another network: new device, new network, bot user agent.
    const odd = await signIn('risky', '203.0.113.99', 'python-requests/2.32');
    expect(odd.statusCode).toBe(200);
    const latest = (await events('risky', token, 'login.succeeded'))[0]!;
    expect(latest.details.risk_reasons).toEqual(['new_device', 'new_network', 'bot_user_agent']);
    expect(latest.details.risk_score).toBe(0.85);
    const suspicious = await events('risky', token, 'login.suspicious');
    expect(suspicious).toHaveLength(1);
  });

  it('a tenant can block sign-ins above a threshold, telling the password holder why', async () => {
    await createTenant(t, 'strict', { settings: { risk_block_threshold: 0.6 } });
    expect((await signIn('strict', '198.51.100.20', FIREFOX)).statusCode).toBe(200);
    const blocked = await signIn('strict', '203.0.113.50', 'curl/8.5.0');
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json().error.code).toBe('LOGIN_BLOCKED');
    const ok = await signIn('strict', '198.51.100.21', FIREFOX);
    expect(ok.statusCode).toBe(200);
    const blockedEvents = await events('strict', ok.json().access_token, 'login.blocked');
    expect(blockedEvents).toHaveLength(1);
  });
});

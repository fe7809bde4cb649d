import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../src/mfa/totp.ts';
import { deliverAndRead, startSmtpSink, type SmtpSink } from '../../helpers/smtp-sink.ts';
import { backendName, bearer, buildTestApp, createTenant, login, register, type TestApp } from '../../helpers/test-app.ts';

/** The account owner hears by mail about every change to their second factors and every backup code used. */
describe(`MFA notices by mail (${backendName})`, () => {
  let sink: SmtpSink;
  let t: TestApp;
  const email = 'owner@mfa-notices.test';

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await buildTestApp({ SMTP_URL: sink.url });
    await createTenant(t, 'mfa-notices');
    expect((await register(t, 'mfa-notices', email)).statusCode).toBe(201);
    await deliverAndRead(t.gh, sink, email); // the verification mail
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('enabling an authenticator app, signing in with a backup code and an admin reset each mail the owner', async () => {
    const access = (await login(t, 'mfa-notices', email)).json().access_token as string;
    const started = await t.app.inject({ method: 'POST', url: '/t/mfa-notices/api/v1/me/mfa/totp', headers: bearer(access) });
    const verified = await t.app.inject({
      method: 'POST',
      url: '/t/mfa-notices/api/v1/me/mfa/totp/verify',
      headers: bearer(access),
      payload: { code: totpCode(started.json().secret) },
    });
    expect(verified.statusCode, verified.body).toBe(200);
    const enabled = await deliverAndRead(t.gh, sink, email);
    expect(enabled.subject).toMatch(/^Your two-factor authentication changed/);
    expect(enabled.text).toContain('A second factor was added to your account.');

    const challenge = await login(t, 'mfa-notices', email);
    const done = await t.app.inject({
      method: 'POST',
      url: '/t/mfa-notices/api/v1/auth/mfa/verify',
      payload: { mfa_token: challenge.json().mfa_token, backup_code: verified.json().backup_codes[0] },
    });
    expect(done.statusCode, done.body).toBe(200);
    const used = await deliverAndRead(t.gh, sink, email);
    expect(used.subject).toMatch(/^A backup code was used/);
    expect(used.text).toContain('Backup codes left: 9.');

    const admin = (await login(t, 'mfa-notices', 'admin@mfa-notices.test')).json().access_token as string;
    const reset = await t.app.inject({ method: 'DELETE', url: `/t/mfa-notices/api/v1/admin/users/${done.json().user.id}/mfa`, headers: bearer(admin) });
    expect(reset.statusCode, reset.body).toBe(204);
    expect((await deliverAndRead(t.gh, sink, email)).subject).toMatch(/^Your two-factor authentication was reset/);
  });
});

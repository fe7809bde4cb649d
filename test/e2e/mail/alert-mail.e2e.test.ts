import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverDueMail } from '../../../src/mail/mail-worker.ts';
import { startSmtpSink, type SmtpSink } from '../../helpers/smtp-sink.ts';
import { backendName, bearer, buildTestApp, createTenant, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0';

/** Security alerts by email (issue 4): the tenant's admins hear of every alert; the owner of the account of some. */
describe(`security alerts by mail (${backendName})`, () => {
  let sink: SmtpSink;
  let t: TestApp;
  const admin = 'admin@alert-mail.test';
  const user = 'walker@alert-mail.test';

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await buildTestApp({ SMTP_URL: sink.url });
    await createTenant(t, 'alert-mail');
    expect((await register(t, 'alert-mail', user)).statusCode).toBe(201);
    await deliverDueMail(t.gh); // the verification mail
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('a suspicious sign-in raises an alert mailed to the admins and to the account owner', async () => {
    const signIn = (ip: string, ua: string) =>
      t.app.inject({ method: 'POST', url: '/t/alert-mail/api/v1/auth/login', payload: { email: user, password: STRONG_PASSWORD }, remoteAddress: ip, headers: { 'user-agent': ua } });
    expect((await signIn('198.51.100.10', FIREFOX)).statusCode).toBe(200);
    const before = { admin: sink.to(admin).length, user: sink.to(user).length };
    expect((await signIn('203.0.113.99', 'python-requests/2.32')).statusCode).toBe(200);
    await deliverDueMail(t.gh);
    const toAdmin = sink.to(admin).slice(before.admin);
    expect(toAdmin.map((m) => m.subject)).toEqual([expect.stringMatching(/^Security alert \(high\): suspicious_login/)]);
    expect(toAdmin[0]!.text).toContain(`Account: ${user}`);
    expect(toAdmin[0]!.text).toMatch(/\/t\/alert-mail\/api\/v1\/admin\/security\/alerts\/[0-9a-f-]{36}/);
    const toUser = sink.to(user).slice(before.user);
    expect(toUser.map((m) => m.subject)).toEqual([expect.stringMatching(/^Security alert on your account/)]);

    const adminToken = (await login(t, 'alert-mail', admin)).json().access_token as string;
    const alerts = await t.app.inject({ method: 'GET', url: '/t/alert-mail/api/v1/admin/security/alerts?type=suspicious_login', headers: bearer(adminToken) });
    expect(alerts.json().alerts).toHaveLength(1);
  });

  it('raising someone to admin mails the admins', async () => {
    const adminToken = (await login(t, 'alert-mail', admin)).json().access_token as string;
    const me = await t.app.inject({ method: 'GET', url: '/t/alert-mail/api/v1/admin/users?search=' + encodeURIComponent(user), headers: bearer(adminToken) });
    const id = (me.json().users as { id: string; email: string }[]).find((u) => u.email === user)!.id;
    const before = sink.to(admin).length;
    const r = await t.app.inject({ method: 'PATCH', url: `/t/alert-mail/api/v1/admin/users/${id}`, headers: bearer(adminToken), payload: { role: 'admin' } });
    expect(r.statusCode, r.body).toBe(200);
    await deliverDueMail(t.gh);
    expect(sink.to(admin).slice(before).map((m) => m.subject)).toEqual([expect.stringMatching(/^Security alert \(high\): privilege_escalation/)]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPlatformTx } from '../../../src/db/tenant-tx.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { deliverAndRead, expectNoMail, startSmtpSink, tokenFromMail, type SmtpSink } from '../../helpers/smtp-sink.ts';

describe(`email change over SMTP (${backendName})`, () => {
  let sink: SmtpSink;
  let t: TestApp;
  const change = (slug: string, access: string, new_email: string, current_password = STRONG_PASSWORD) =>
    t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/me/email`, headers: bearer(access), payload: { new_email, current_password } });
  const confirm = (slug: string, token: string) => t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/email-change/confirm`, payload: { token } });

  async function member(slug: string, email: string): Promise<string> {
    const r = await register(t, slug, email);
    expect(r.statusCode, r.body).toBe(201);
    await deliverAndRead(t.gh, sink, email); // its verification mail
    return r.json().access_token;
  }

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await buildTestApp({ SMTP_URL: sink.url });
    await createTenant(t, 'chg-a');
    await createTenant(t, 'chg-b');
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('end to end: confirm on the new address, the old one is told, the change is audited', async () => {
    const access = await member('chg-a', 'old@a.test');
    const r = await change('chg-a', access, 'New@A.test');
    expect(r.statusCode, r.body).toBe(202);
    // Nothing changes before the confirmation.
    expect((await t.app.inject({ method: 'GET', url: '/t/chg-a/api/v1/me', headers: bearer(access) })).json().email).toBe('old@a.test');
    const mail = await deliverAndRead(t.gh, sink, 'new@a.test');
    expect(mail.subject).toContain('Confirm your new email address');
    expect(mail.text).toContain('http://gatehouse.test/t/chg-a/confirm-email-change?token=');
    const token = tokenFromMail(mail);
    expect((await confirm('chg-a', token)).statusCode).toBe(204);

    const me = (await t.app.inject({ method: 'GET', url: '/t/chg-a/api/v1/me', headers: bearer(access) })).json();
    expect(me).toMatchObject({ email: 'new@a.test', email_verified: true });
    expectError(await login(t, 'chg-a', 'old@a.test'), 401, 'INVALID_CREDENTIALS');
    expect((await login(t, 'chg-a', 'new@a.test')).statusCode).toBe(200);

    const notice = await deliverAndRead(t.gh, sink, 'old@a.test');
    expect(notice.subject).toContain('Your email address was changed');
    expect(notice.text).toContain('new@a.test');

    const admin = (await login(t, 'chg-a', 'admin@chg-a.test')).json().access_token;
    const audit = await t.app.inject({ method: 'GET', url: '/t/chg-a/api/v1/admin/audit?action=email.*', headers: bearer(admin) });
    const changed = audit.json().events.find((e: { action: string }) => e.action === 'email.changed');
    expect(changed.details).toMatchObject({ old_email: 'old@a.test', new_email: 'new@a.test' });

    expectError(await confirm('chg-a', token), 410, 'EMAIL_TOKEN_USED');
  });

  it('needs the current password', async () => {
    const access = await member('chg-a', 'pat@a.test');
    expectError(await change('chg-a', access, 'pat2@a.test', 'not my password at all 1'), 400, 'CURRENT_PASSWORD_INVALID');
    expectError(await t.app.inject({ method: 'POST', url: '/t/chg-a/api/v1/me/email', payload: { new_email: 'x@a.test', current_password: STRONG_PASSWORD } }), 401, 'UNAUTHENTICATED');
  });

  it('a taken new address gets the same 202 and no mail', async () => {
    const access = await member('chg-a', 'quin@a.test');
    await member('chg-a', 'taken@a.test');
    const r = await change('chg-a', access, 'taken@a.test');
    expect(r.statusCode).toBe(202);
    await expectNoMail(t.gh, sink, 'taken@a.test');
  });

  it('a newer request replaces the older link; expired and cross-tenant links are refused', async () => {
    const access = await member('chg-a', 'rob@a.test');
    expect((await change('chg-a', access, 'rob1@a.test')).statusCode).toBe(202);
    const first = tokenFromMail(await deliverAndRead(t.gh, sink, 'rob1@a.test'));
    expect((await change('chg-a', access, 'rob2@a.test')).statusCode).toBe(202);
    const second = tokenFromMail(await deliverAndRead(t.gh, sink, 'rob2@a.test'));
    expectError(await confirm('chg-a', first), 410, 'EMAIL_TOKEN_USED');
    expectError(await confirm('chg-b', second), 400, 'EMAIL_TOKEN_INVALID');
    await withPlatformTx(t.gh.db, (tx) => tx.query(`UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE email = 'rob2@a.test'`));
    expectError(await confirm('chg-a', second), 410, 'EMAIL_TOKEN_EXPIRED');
  });

  it('an address someone took after the request cannot be confirmed', async () => {
    const access = await member('chg-b', 'sid@b.test');
    expect((await change('chg-b', access, 'race@b.test')).statusCode).toBe(202);
    const token = tokenFromMail(await deliverAndRead(t.gh, sink, 'race@b.test'));
    await member('chg-b', 'race@b.test');
    expectError(await confirm('chg-b', token), 409, 'EMAIL_TAKEN');
  });
});

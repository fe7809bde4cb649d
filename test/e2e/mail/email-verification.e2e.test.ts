import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { withPlatformTx } from '../../../src/db/tenant-tx.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, type TestApp } from '../../helpers/test-app.ts';
import { recordStatements } from '../../helpers/statement-recorder.ts';
import { deliverAndRead, expectNoMail, startSmtpSink, tokenFromMail, type SmtpSink } from '../../helpers/smtp-sink.ts';

describe(`email verification over SMTP (${backendName})`, () => {
  let sink: SmtpSink;
  let t: TestApp;
  const verify = (slug: string, token: string) => t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/verify-email`, payload: { token } });
  const resend = (slug: string, email: string) => t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/verify-email/resend`, payload: { email } });

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await buildTestApp({ SMTP_URL: sink.url });
    await createTenant(t, 'verify-opt', { settings: { password_reset_max_per_hour: 100 } });
    await createTenant(t, 'verify-req', { settings: { email_verification: 'required', password_reset_max_per_hour: 100 } });
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it("'optional' (the default): registration signs in unverified and mails a link; the link verifies; tokens then carry email_verified", async () => {
    const r = await register(t, 'verify-opt', 'olga@opt.test');
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().user.email_verified).toBe(false);
    expect(decodeJwt(r.json().access_token).email_verified).toBe(false);
    const mail = await deliverAndRead(t.gh, sink, 'olga@opt.test');
    expect(mail.subject).toContain('Confirm your email address');
    expect(mail.text).toContain('http://gatehouse.test/t/verify-opt/verify-email?token=');
    const token = tokenFromMail(mail);
    expect((await verify('verify-opt', token)).statusCode).toBe(204);
    // Verifying twice is harmless.
    expect((await verify('verify-opt', token)).statusCode).toBe(204);
    const after = await login(t, 'verify-opt', 'olga@opt.test');
    expect(after.json().user.email_verified).toBe(true);
    expect(decodeJwt(after.json().access_token).email_verified).toBe(true);
    // Verified: a resend answers the same and sends nothing.
    expect((await resend('verify-opt', 'olga@opt.test')).statusCode).toBe(202);
    await expectNoMail(t.gh, sink, 'olga@opt.test');
  });

  it("'optional' keeps the old registration answer for a taken address (409 EMAIL_TAKEN)", async () => {
    expectError(await register(t, 'verify-opt', 'olga@opt.test'), 409, 'EMAIL_TAKEN');
  });

  it("'required': registration answers 202 identically for new and taken addresses; the owner of a taken one gets a notice", async () => {
    const fresh = await register(t, 'verify-req', 'rita@req.test');
    expect(fresh.statusCode, fresh.body).toBe(202);
    const link = await deliverAndRead(t.gh, sink, 'rita@req.test');
    expect(link.subject).toContain('Confirm your email address');

    const again = await register(t, 'verify-req', 'rita@req.test');
    expect(again.statusCode).toBe(202);
    expect(again.body).toBe(fresh.body);
    const notice = await deliverAndRead(t.gh, sink, 'rita@req.test');
    expect(notice.subject).toContain('Someone tried to sign up with your address');
    expect(notice.text).not.toContain('token=');
    // The notice did not replace the verification link.
    expect((await verify('verify-req', tokenFromMail(link))).statusCode).toBe(204);
  });

  it("'required' at the user limit: a new address gets the same 202 as a taken one (no account, no mail), audited", async () => {
    const full = await createTenant(t, 'verify-full', { limits: { max_users: 2 }, settings: { email_verification: 'required' } });
    expect((await register(t, 'verify-full', 'first@full.test')).statusCode).toBe(202);
    await deliverAndRead(t.gh, sink, 'first@full.test');
    const taken = await register(t, 'verify-full', 'first@full.test');
    const refused = await register(t, 'verify-full', 'second@full.test');
    expect(taken.statusCode).toBe(202);
    expect(refused.statusCode).toBe(202);
    expect(refused.body).toBe(taken.body);
    await expectNoMail(t.gh, sink, 'second@full.test');
    const rows = await withPlatformTx(t.gh.db, async (tx) =>
      (await tx.query<{ n: number; audited: number }>(
        `SELECT (SELECT count(*)::int FROM users WHERE tenant_id = $1 AND email = 'second@full.test') AS n,
           (SELECT count(*)::int FROM audit_events WHERE tenant_id = $1 AND action = 'registration.user_limit' AND details->>'email' = 'second@full.test') AS audited`,
        [full.id],
      )).rows[0]!,
    );
    expect(rows).toEqual({ n: 0, audited: 1 });
  });

  it("'required': an unverified account cannot sign in, and only the password holder learns why", async () => {
    expect((await register(t, 'verify-req', 'sam@req.test')).statusCode).toBe(202);
    const mail = await deliverAndRead(t.gh, sink, 'sam@req.test');
    expectError(await login(t, 'verify-req', 'sam@req.test', 'not the password at all 5'), 401, 'INVALID_CREDENTIALS');
    expectError(await login(t, 'verify-req', 'sam@req.test'), 403, 'EMAIL_NOT_VERIFIED');
    expect((await verify('verify-req', tokenFromMail(mail))).statusCode).toBe(204);
    const ok = await login(t, 'verify-req', 'sam@req.test');
    expect(ok.statusCode).toBe(200);
    expect(decodeJwt(ok.json().access_token).email_verified).toBe(true);
  });

  it('resend: the same 202 for unknown addresses; a new link replaces the old one', async () => {
    expect((await register(t, 'verify-req', 'tom@req.test')).statusCode).toBe(202);
    const first = tokenFromMail(await deliverAndRead(t.gh, sink, 'tom@req.test'));
    const known = await resend('verify-req', 'tom@req.test');
    const unknown = await resend('verify-req', 'nobody@req.test');
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(unknown.body).toBe(known.body);
    const second = tokenFromMail(await deliverAndRead(t.gh, sink, 'tom@req.test'));
    expect(sink.to('nobody@req.test')).toHaveLength(0);
    expectError(await verify('verify-req', first), 410, 'EMAIL_TOKEN_USED');
    expect((await verify('verify-req', second)).statusCode).toBe(204);
  });

  it('resend runs the very same statements for known and unknown addresses', async () => {
    expect((await register(t, 'verify-req', 'uma@req.test')).statusCode).toBe(202);
    const known = await recordStatements(t.gh.db, async () => expect((await resend('verify-req', 'uma@req.test')).statusCode).toBe(202));
    const unknown = await recordStatements(t.gh.db, async () => expect((await resend('verify-req', 'nobody2@req.test')).statusCode).toBe(202));
    expect(known.length).toBeGreaterThanOrEqual(3);
    expect(unknown).toEqual(known);
  });

  it('the mail is in the user’s own language when set', async () => {
    const r = await register(t, 'verify-opt', 'ursula@opt.test');
    await deliverAndRead(t.gh, sink, 'ursula@opt.test');
    const patch = await t.app.inject({ method: 'PATCH', url: '/t/verify-opt/api/v1/me', headers: bearer(r.json().access_token), payload: { locale: 'pt-BR' } });
    expect(patch.statusCode).toBe(200);
    expect((await resend('verify-opt', 'ursula@opt.test')).statusCode).toBe(202);
    const mail = await deliverAndRead(t.gh, sink, 'ursula@opt.test');
    expect(mail.subject).toBe('Confirme seu endereço de e-mail · VERIFY-OPT');
    expect(mail.html).toContain('lang="pt-BR"');
  });

  it('expired, wrong-purpose and cross-tenant tokens are refused with their codes', async () => {
    expect((await register(t, 'verify-opt', 'vera@opt.test')).statusCode).toBe(201);
    const token = tokenFromMail(await deliverAndRead(t.gh, sink, 'vera@opt.test'));
    // Wrong purpose, both ways.
    expectError(
      await t.app.inject({ method: 'POST', url: '/t/verify-opt/api/v1/auth/password/reset', payload: { token, password: 'a fresh and different passphrase 7' } }),
      400,
      'EMAIL_TOKEN_WRONG_PURPOSE',
    );
    expect((await t.app.inject({ method: 'POST', url: '/t/verify-opt/api/v1/auth/password/forgot', payload: { email: 'vera@opt.test' } })).statusCode).toBe(202);
    const resetToken = tokenFromMail(await deliverAndRead(t.gh, sink, 'vera@opt.test'));
    expectError(await verify('verify-opt', resetToken), 400, 'EMAIL_TOKEN_WRONG_PURPOSE');
    // Another tenant's.
    expectError(await verify('verify-req', token), 400, 'EMAIL_TOKEN_INVALID');
    // Expired.
    await withPlatformTx(t.gh.db, (tx) =>
      tx.query(`UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE email = 'vera@opt.test' AND purpose = 'email_verification'`),
    );
    expectError(await verify('verify-opt', token), 410, 'EMAIL_TOKEN_EXPIRED');
  });
});

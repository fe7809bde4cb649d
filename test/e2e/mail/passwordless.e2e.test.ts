import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPlatformTx } from '../../../src/db/tenant-tx.ts';
import { totpCode } from '../../../src/mfa/totp.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, type TestApp } from '../../helpers/test-app.ts';
import { recordStatements } from '../../helpers/statement-recorder.ts';
import { codeFromMail, deliverAndRead, startSmtpSink, tokenFromMail, type SmtpSink } from '../../helpers/smtp-sink.ts';

describe(`passwordless sign-in by mail (${backendName})`, () => {
  let sink: SmtpSink;
  let t: TestApp;
  const start = (slug: string, email: string, method: 'link' | 'code') =>
    t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/passwordless/start`, payload: { email, method } });
  const verify = (slug: string, payload: Record<string, string>) => t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/passwordless/verify`, payload });

  async function mailed(slug: string, email: string, method: 'link' | 'code'): Promise<string> {
    const r = await start(slug, email, method);
    expect(r.statusCode, r.body).toBe(202);
    const m = await deliverAndRead(t.gh, sink, email);
    return method === 'link' ? tokenFromMail(m) : codeFromMail(m);
  }

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await buildTestApp({ SMTP_URL: sink.url });
    await createTenant(t, 'pl-on', { settings: { passwordless: true, password_reset_max_per_hour: 100 } });
    await createTenant(t, 'pl-req', { settings: { passwordless: true, email_verification: 'required' } });
    await createTenant(t, 'pl-off');
    for (const email of ['lena@on.test', 'carl@on.test', 'dora@on.test', 'eli@on.test', 'finn@on.test']) {
      expect((await register(t, 'pl-on', email)).statusCode).toBe(201);
    }
    // Registration mails verification links: send them now so the tests read only their own mail.
    await deliverAndRead(t.gh, sink, 'lena@on.test');
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('is off unless the tenant enables it', async () => {
    expectError(await start('pl-off', 'admin@pl-off.test', 'link'), 403, 'PASSWORDLESS_DISABLED');
    expectError(await verify('pl-off', { email: 'admin@pl-off.test', code: '123456' }), 403, 'PASSWORDLESS_DISABLED');
  });

  it('magic link: an ordinary session with amr ["email"] and aal 1; the link works once', async () => {
    const token = await mailed('pl-on', 'lena@on.test', 'link');
    const r = await verify('pl-on', { token });
    expect(r.statusCode, r.body).toBe(200);
    const claims = decodeJwt(r.json().access_token);
    expect(claims.amr).toEqual(['email']);
    expect(claims.aal).toBe(1);
    expect(r.json().refresh_token).toMatch(/^ghr_/);
    const sessions = await t.app.inject({ method: 'GET', url: '/t/pl-on/api/v1/me/sessions', headers: bearer(r.json().access_token) });
    expect(sessions.json().sessions.find((s: { current: boolean }) => s.current).amr).toEqual(['email']);
    // The refresh token works like any other.
    expect((await t.app.inject({ method: 'POST', url: '/t/pl-on/api/v1/auth/refresh', payload: { refresh_token: r.json().refresh_token } })).statusCode).toBe(200);
    expectError(await verify('pl-on', { token }), 410, 'EMAIL_TOKEN_USED');
  });

  it('6-digit code: signs in; answers identically for unknown addresses', async () => {
    const code = await mailed('pl-on', 'carl@on.test', 'code');
    expect(code).toMatch(/^\d{6}$/);
    const known = await start('pl-on', 'carl@on.test', 'code');
    const unknown = await start('pl-on', 'nobody@on.test', 'code');
    expect(unknown.statusCode).toBe(202);
    expect(unknown.body).toBe(known.body);
    // The second start replaced the first code.
    const second = codeFromMail(await deliverAndRead(t.gh, sink, 'carl@on.test'));
    expect(sink.to('nobody@on.test')).toHaveLength(0);
    if (second !== code) expectError(await verify('pl-on', { email: 'carl@on.test', code }), 400, 'EMAIL_TOKEN_INVALID');
    const r = await verify('pl-on', { email: 'carl@on.test', code: second });
    expect(r.statusCode, r.body).toBe(200);
    expect(decodeJwt(r.json().access_token).amr).toEqual(['email']);
    expectError(await verify('pl-on', { email: 'nobody@on.test', code: '000000' }), 400, 'EMAIL_TOKEN_INVALID');
  });

  it('start runs the very same statements for known and unknown addresses', async () => {
    for (const method of ['link', 'code'] as const) {
      const known = await recordStatements(t.gh.db, async () => expect((await start('pl-on', 'finn@on.test', method)).statusCode).toBe(202));
      const unknown = await recordStatements(t.gh.db, async () => expect((await start('pl-on', 'ghost@on.test', method)).statusCode).toBe(202));
      expect(known.length).toBeGreaterThanOrEqual(4);
      expect(unknown).toEqual(known);
    }
  });

  it('the code is in the subject of the mail sent, never in the subject the outbox keeps (admins list it)', async () => {
    expect((await start('pl-on', 'finn@on.test', 'code')).statusCode).toBe(202);
    const m = await deliverAndRead(t.gh, sink, 'finn@on.test');
    const code = codeFromMail(m);
    expect(m.subject).toContain(code);
    const stored = await withPlatformTx(t.gh.db, (tx) =>
      tx.query<{ subject: string }>(`SELECT subject FROM mail_outbox WHERE to_address = 'finn@on.test' AND template = 'passwordless_code'`),
    );
    expect(stored.rows.length).toBeGreaterThan(0);
    for (const r of stored.rows) {
      expect(r.subject).not.toContain(code);
      expect(r.subject).not.toMatch(/\d{6}/);
      expect(r.subject).toContain('••••••');
    }
  });

  it('five wrong codes burn the code; four do not', async () => {
    const wrong = (c: string) => String((Number(c) + 1) % 1_000_000).padStart(6, '0');
    const code = await mailed('pl-on', 'dora@on.test', 'code');
    for (let i = 0; i < 4; i++) expectError(await verify('pl-on', { email: 'dora@on.test', code: wrong(code) }), 400, 'EMAIL_TOKEN_INVALID');
    expect((await verify('pl-on', { email: 'dora@on.test', code })).statusCode).toBe(200);

    const next = await mailed('pl-on', 'dora@on.test', 'code');
    for (let i = 0; i < 4; i++) expectError(await verify('pl-on', { email: 'dora@on.test', code: wrong(next) }), 400, 'EMAIL_TOKEN_INVALID');
    expectError(await verify('pl-on', { email: 'dora@on.test', code: wrong(next) }), 429, 'EMAIL_CODE_ATTEMPTS_EXCEEDED');
    expectError(await verify('pl-on', { email: 'dora@on.test', code: next }), 400, 'EMAIL_TOKEN_INVALID');
  });

  it('expired links and codes, cross-tenant and wrong-purpose tokens are refused', async () => {
    const token = await mailed('pl-on', 'eli@on.test', 'link');
    expectError(await verify('pl-req', { token }), 400, 'EMAIL_TOKEN_INVALID');
    await withPlatformTx(t.gh.db, (tx) => tx.query(`UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE email = 'eli@on.test'`));
    expectError(await verify('pl-on', { token }), 410, 'EMAIL_TOKEN_EXPIRED');

    const code = await mailed('pl-on', 'eli@on.test', 'code');
    await withPlatformTx(t.gh.db, (tx) => tx.query(`UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE email = 'eli@on.test'`));
    expectError(await verify('pl-on', { email: 'eli@on.test', code }), 410, 'EMAIL_TOKEN_EXPIRED');

    expect((await t.app.inject({ method: 'POST', url: '/t/pl-on/api/v1/auth/password/forgot', payload: { email: 'finn@on.test' } })).statusCode).toBe(202);
    const resetToken = tokenFromMail(await deliverAndRead(t.gh, sink, 'finn@on.test'));
    expectError(await verify('pl-on', { token: resetToken }), 400, 'EMAIL_TOKEN_WRONG_PURPOSE');
  });

  it('signing in by mail verifies the address (tenants that require verification)', async () => {
    expect((await register(t, 'pl-req', 'gina@req.test')).statusCode).toBe(202);
    expectError(await login(t, 'pl-req', 'gina@req.test'), 403, 'EMAIL_NOT_VERIFIED');
    await deliverAndRead(t.gh, sink, 'gina@req.test');
    const token = await mailed('pl-req', 'gina@req.test', 'link');
    const r = await verify('pl-req', { token });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().user.email_verified).toBe(true);
    expect((await login(t, 'pl-req', 'gina@req.test')).statusCode).toBe(200);
  });

  it('takes either {token} or {email, code}', async () => {
    expectError(await verify('pl-on', { token: 'ghe_x', email: 'a@on.test', code: '123456' }), 400, 'VALIDATION_ERROR');
    expectError(await verify('pl-on', { email: 'a@on.test' }), 400, 'VALIDATION_ERROR');
    expectError(await verify('pl-on', { email: 'a@on.test', code: '12345' }), 400, 'VALIDATION_ERROR');
  });

  it('a user with MFA: the mailed link is the first factor only; the session comes after the second (amr email+otp, aal 2)', async () => {
    const access = (await login(t, 'pl-on', 'finn@on.test')).json().access_token as string;
    const started = await t.app.inject({ method: 'POST', url: '/t/pl-on/api/v1/me/mfa/totp', headers: bearer(access) });
    const enrolled = await t.app.inject({
      method: 'POST',
      url: '/t/pl-on/api/v1/me/mfa/totp/verify',
      headers: bearer(access),
      payload: { code: totpCode(started.json().secret) },
    });
    expect(enrolled.statusCode, enrolled.body).toBe(200);
    await deliverAndRead(t.gh, sink, 'finn@on.test'); // the "second factor added" notice

    const token = await mailed('pl-on', 'finn@on.test', 'link');
    const first = await verify('pl-on', { token });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ mfa_required: true, factors: ['totp', 'backup_code'] });
    expect(first.json().access_token).toBeUndefined();
    const done = await t.app.inject({
      method: 'POST',
      url: '/t/pl-on/api/v1/auth/mfa/verify',
      payload: { mfa_token: first.json().mfa_token, backup_code: enrolled.json().backup_codes[0] },
    });
    expect(done.statusCode, done.body).toBe(200);
    expect(decodeJwt(done.json().access_token)).toMatchObject({ amr: ['email', 'otp'], aal: 2 });
  });
});

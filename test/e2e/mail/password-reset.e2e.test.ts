import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPlatformTx } from '../../../src/db/tenant-tx.ts';
import { sha256 } from '../../../src/shared/crypto.ts';
import { recordStatements } from '../../helpers/statement-recorder.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { deliverAndRead, expectNoMail, startSmtpSink, tokenFromMail, type SmtpSink } from '../../helpers/smtp-sink.ts';

const NEW_PASSWORD = 'a fresh and different passphrase 7';

describe(`password reset over SMTP (${backendName})`, () => {
  let sink: SmtpSink;
  let t: TestApp;
  const url = (slug: string, path: string) => `/t/${slug}/api/v1/auth/password/${path}`;
  const forgot = (slug: string, email: string, remoteAddress = '127.0.0.1') =>
    t.app.inject({ method: 'POST', url: url(slug, 'forgot'), payload: { email }, remoteAddress });
  const reset = (slug: string, token: string, password = NEW_PASSWORD) =>
    t.app.inject({ method: 'POST', url: url(slug, 'reset'), payload: { token, password } });

  /** Requests a reset for `email` and returns the token read out of the mail received. */
  async function mailedToken(slug: string, email: string): Promise<string> {
    const r = await forgot(slug, email);
    expect(r.statusCode, r.body).toBe(202);
    return tokenFromMail(await deliverAndRead(t.gh, sink, email));
  }

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await buildTestApp({ SMTP_URL: sink.url });
    await createTenant(t, 'reset-a', { settings: { password_reset_max_per_hour: 100, lockout_threshold: 3, login_max_failures_per_email: 100 } });
    await createTenant(t, 'reset-b', { settings: { password_reset_max_per_hour: 100 } });
    await createTenant(t, 'reset-budget');
    await createTenant(t, 'reset-ip', { settings: { mail_requests_per_ip_per_hour: 2 } });
    await createTenant(t, 'reset-throttled', { settings: { login_max_failures_per_email: 2 } });
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('answers identically for known and unknown addresses; only the known one gets a mail', async () => {
    expect((await register(t, 'reset-a', 'known@a.test')).statusCode).toBe(201);
    const known = await forgot('reset-a', 'known@a.test');
    const unknown = await forgot('reset-a', 'nobody@a.test');
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(unknown.body).toBe(known.body);
    expect(JSON.parse(known.body)).toEqual({ status: 'accepted' });
    const m = await deliverAndRead(t.gh, sink, 'known@a.test');
    expect(m.subject).toContain('Reset your password');
    expect(sink.to('nobody@a.test')).toHaveLength(0);
  });

  it('known and unknown addresses run the very same statements (no timing difference from the database)', async () => {
    expect((await register(t, 'reset-a', 'same@a.test')).statusCode).toBe(201);
    const known = await recordStatements(t.gh.db, async () => expect((await forgot('reset-a', 'same@a.test')).statusCode).toBe(202));
    const unknown = await recordStatements(t.gh.db, async () => expect((await forgot('reset-a', 'other@a.test')).statusCode).toBe(202));
    expect(known.length).toBeGreaterThanOrEqual(4);
    expect(unknown).toEqual(known);
  });

  it('end to end: the mailed link sets a new password, revokes every session, and is audited', async () => {
    expect((await register(t, 'reset-a', 'carol@a.test')).statusCode).toBe(201);
    const session = (await login(t, 'reset-a', 'carol@a.test')).json();
    const token = await mailedToken('reset-a', 'carol@a.test');
    const r = await reset('reset-a', token);
    expect(r.statusCode, r.body).toBe(204);

    expectError(await login(t, 'reset-a', 'carol@a.test'), 401, 'INVALID_CREDENTIALS');
    expect((await login(t, 'reset-a', 'carol@a.test', NEW_PASSWORD)).statusCode).toBe(200);
    // The old session's access token is refused at once; its refresh token no longer works.
    expectError(await t.app.inject({ method: 'GET', url: '/t/reset-a/api/v1/me', headers: bearer(session.access_token) }), 401, 'TOKEN_REVOKED');
    expectError(
      await t.app.inject({ method: 'POST', url: '/t/reset-a/api/v1/auth/refresh', payload: { refresh_token: session.refresh_token } }),
      401,
      'REFRESH_TOKEN_INVALID',
    );
    // The owner is told.
    const notice = await deliverAndRead(t.gh, sink, 'carol@a.test');
    expect(notice.subject).toContain('Your password was changed');

    const admin = (await login(t, 'reset-a', 'admin@reset-a.test')).json().access_token;
    const audit = await t.app.inject({ method: 'GET', url: '/t/reset-a/api/v1/admin/audit?action=password.*', headers: bearer(admin) });
    const actions = audit.json().events.map((e: { action: string }) => e.action);
    expect(actions).toContain('password.reset');
    expect(actions).toContain('password.reset_requested');
  });

  it('tokens are stored only as SHA-256, and mail bodies only sealed (cleared once sent)', async () => {
    expect((await register(t, 'reset-a', 'hash@a.test')).statusCode).toBe(201);
    await deliverAndRead(t.gh, sink, 'hash@a.test'); // the verification mail
    expect((await forgot('reset-a', 'hash@a.test')).statusCode).toBe(202);
    const queued = await withPlatformTx(t.gh.db, (tx) =>
      tx.query<{ body_enc: string }>(`SELECT body_enc FROM mail_outbox WHERE to_address = 'hash@a.test' AND status = 'queued'`),
    );
    expect(queued.rows).toHaveLength(1);
    const token = tokenFromMail(await deliverAndRead(t.gh, sink, 'hash@a.test'));
    expect(queued.rows[0]!.body_enc).not.toContain(token);
    expect(queued.rows[0]!.body_enc).not.toContain('reset-password');
    const rows = await withPlatformTx(t.gh.db, (tx) =>
      tx.query<{ token_hash: string; body_enc: string | null }>(
        `SELECT token_hash, (SELECT body_enc FROM mail_outbox WHERE to_address = 'hash@a.test' ORDER BY created_at DESC LIMIT 1) AS body_enc
         FROM email_tokens WHERE email = 'hash@a.test' AND purpose = 'password_reset'`,
      ),
    );
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]!.token_hash).toBe(sha256(token));
    expect(rows.rows[0]!.body_enc).toBeNull();
  });

  it('a token works once', async () => {
    expect((await register(t, 'reset-a', 'dave@a.test')).statusCode).toBe(201);
    const token = await mailedToken('reset-a', 'dave@a.test');
    expect((await reset('reset-a', token)).statusCode).toBe(204);
    expectError(await reset('reset-a', token, 'yet another passphrase for dave 9'), 410, 'EMAIL_TOKEN_USED');
  });

  it('a newer request invalidates the older link', async () => {
    expect((await register(t, 'reset-a', 'erin@a.test')).statusCode).toBe(201);
    const first = await mailedToken('reset-a', 'erin@a.test');
    const second = await mailedToken('reset-a', 'erin@a.test');
    expect(second).not.toBe(first);
    expectError(await reset('reset-a', first), 410, 'EMAIL_TOKEN_USED');
    expect((await reset('reset-a', second)).statusCode).toBe(204);
  });

  it('an expired token is refused', async () => {
    expect((await register(t, 'reset-a', 'fay@a.test')).statusCode).toBe(201);
    const token = await mailedToken('reset-a', 'fay@a.test');
    await withPlatformTx(t.gh.db, (tx) => tx.query(`UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE email = 'fay@a.test'`));
    expectError(await reset('reset-a', token), 410, 'EMAIL_TOKEN_EXPIRED');
  });

  it("another tenant's token, and a made-up one, are refused", async () => {
    expect((await register(t, 'reset-b', 'gus@b.test')).statusCode).toBe(201);
    const token = await mailedToken('reset-b', 'gus@b.test');
    expectError(await reset('reset-a', token), 400, 'EMAIL_TOKEN_INVALID');
    expectError(await reset('reset-a', 'ghe_' + 'A'.repeat(43)), 400, 'EMAIL_TOKEN_INVALID');
    // Still good where it belongs.
    expect((await reset('reset-b', token)).statusCode).toBe(204);
  });

  it('the new password must pass the tenant policy and history; a refused password does not spend the token', async () => {
    expect((await register(t, 'reset-a', 'hank@a.test')).statusCode).toBe(201);
    const token = await mailedToken('reset-a', 'hank@a.test');
    const weak = expectError(await reset('reset-a', token, 'password'), 400, 'PASSWORD_POLICY');
    expect(weak.details?.[0]?.field).toBe('password');
    const reused = expectError(await reset('reset-a', token, STRONG_PASSWORD), 400, 'PASSWORD_POLICY');
    expect(reused.details?.map((d) => d.code)).toContain('PASSWORD_REUSED');
    expect((await reset('reset-a', token)).statusCode).toBe(204);
  });

  it('a reset lifts a lockout, and login limits never block a reset request', async () => {
    expect((await register(t, 'reset-a', 'ivy@a.test')).statusCode).toBe(201);
    for (let i = 0; i < 3; i++) expect((await login(t, 'reset-a', 'ivy@a.test', 'wrong password entirely 1')).statusCode).toBe(401);
    expectError(await login(t, 'reset-a', 'ivy@a.test'), 403, 'ACCOUNT_LOCKED');
    // The owner was mailed when the account locked.
    const locked = await deliverAndRead(t.gh, sink, 'ivy@a.test');
    expect(locked.subject).toContain('Your account was locked');
    expect(locked.text).toContain('locked for 30 minutes');
    const token = await mailedToken('reset-a', 'ivy@a.test');
    expect((await reset('reset-a', token)).statusCode).toBe(204);
    expect((await login(t, 'reset-a', 'ivy@a.test', NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('an address waiting out a login delay can still ask for a reset', async () => {
    expect((await register(t, 'reset-throttled', 'kim@throttled.test')).statusCode).toBe(201);
    for (let i = 0; i < 2; i++) expect((await login(t, 'reset-throttled', 'kim@throttled.test', 'wrong password entirely 1')).statusCode).toBe(401);
    expectError(await login(t, 'reset-throttled', 'kim@throttled.test'), 429, 'RATE_LIMITED');
    const token = await mailedToken('reset-throttled', 'kim@throttled.test');
    expect((await reset('reset-throttled', token)).statusCode).toBe(204);
    // The reset also lifted the email's delay.
    expect((await login(t, 'reset-throttled', 'kim@throttled.test', NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('at most 3 mails per address per hour: beyond, the same 202 and no mail', async () => {
    expect((await register(t, 'reset-budget', 'jo@budget.test')).statusCode).toBe(201);
    for (let i = 0; i < 3; i++) await mailedToken('reset-budget', 'jo@budget.test');
    const over = await forgot('reset-budget', 'jo@budget.test');
    const unknownOver = await forgot('reset-budget', 'ghost@budget.test');
    expect(over.statusCode).toBe(202);
    expect(over.body).toBe(unknownOver.body);
    await expectNoMail(t.gh, sink, 'jo@budget.test');
  });

  it('requests per client IP are limited: 429 RATE_LIMITED with Retry-After, whatever the address', async () => {
    const ip = '198.51.100.7';
    expect((await forgot('reset-ip', 'a@ip.test', ip)).statusCode).toBe(202);
    expect((await forgot('reset-ip', 'b@ip.test', ip)).statusCode).toBe(202);
    const limited = await forgot('reset-ip', 'c@ip.test', ip);
    expectError(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await forgot('reset-ip', 'c@ip.test', '198.51.100.8')).statusCode).toBe(202);
  });

  it('validates its input', async () => {
    expectError(await t.app.inject({ method: 'POST', url: url('reset-a', 'forgot'), payload: { email: 'not-an-email' } }), 400, 'VALIDATION_ERROR');
    expectError(await t.app.inject({ method: 'POST', url: url('reset-a', 'reset'), payload: { token: 'x' } }), 400, 'VALIDATION_ERROR');
  });
});

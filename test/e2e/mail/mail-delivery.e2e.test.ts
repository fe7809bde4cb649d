import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPlatformTx } from '../../../src/db/tenant-tx.ts';
import { cleanupMail, deliverDueMail, startMailWorker } from '../../../src/mail/mail-worker.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, type TestApp } from '../../helpers/test-app.ts';
import { SMTP_PASS, startSmtpSink, tokenFromMail, type SmtpSink } from '../../helpers/smtp-sink.ts';

const forgot = (t: TestApp, slug: string, email: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/password/forgot`, payload: { email }, headers });

async function adminToken(t: TestApp, slug: string) {
  const r = await login(t, slug, `admin@${slug}.test`);
  expect(r.statusCode, r.body).toBe(200);
  return r.json().access_token as string;
}

async function outbox(t: TestApp, slug: string, token: string) {
  const r = await t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/admin/mail/outbox`, headers: bearer(token) });
  expect(r.statusCode, r.body).toBe(200);
  return r.json().messages as { id: string; to: string; template: string; status: string; attempts: number; last_error: string | null; text?: string; subject: string; locale: string }[];
}

describe(`mail delivery over SMTP (${backendName})`, () => {
  let sink: SmtpSink;
  let t: TestApp;

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await buildTestApp({ SMTP_URL: sink.url, MAIL_FROM: 'Gatehouse Test <no-reply@gatehouse.test>' });
    // Generous per-address budgets: these tests send many resets to one address (the budget is tested in password-reset).
    await createTenant(t, 'mail-acme', {
      branding: { display_name: 'Acme <b>&</b> Co', primary_color: '#ff0000', logo_url: 'javascript:alert(1)' },
      settings: { password_reset_max_per_hour: 1000 },
    });
    await createTenant(t, 'mail-bravo', { settings: { mail_from_name: 'Bravo Support', mail_from_address: 'support@bravo.test', password_reset_max_per_hour: 1000 } });
    expect((await register(t, 'mail-acme', 'ana@acme.test')).statusCode).toBe(201);
    expect((await register(t, 'mail-bravo', 'bob@bravo.test')).statusCode).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('delivers through the configured SMTP server with auth: branded, escaped, plain text and HTML, from MAIL_FROM', async () => {
    const before = sink.received.length;
    expect((await forgot(t, 'mail-acme', 'ana@acme.test')).statusCode).toBe(202);
    const run = await deliverDueMail(t.gh);
    expect(run.sent).toBeGreaterThanOrEqual(1);
    await sink.waitForCount(before + 1);
    const m = sink.to('ana@acme.test').find((x) => x.subject.startsWith('Reset your password'))!;
    expect(m.parsed.from!.value[0]).toMatchObject({ name: 'Gatehouse Test', address: 'no-reply@gatehouse.test' });
    expect(m.subject).toBe('Reset your password · Acme <b>&</b> Co');
    expect(m.text).toContain('http://gatehouse.test/t/mail-acme/reset-password?token=');
    expect(tokenFromMail(m)).toMatch(/^ghe_[A-Za-z0-9_-]{43}$/);
    // The tenant's display name is escaped in HTML; a non-http logo URL is dropped; the colour is used.
    expect(m.html).toContain('Acme &lt;b&gt;&amp;&lt;/b&gt; Co');
    expect(m.html).not.toContain('<b>&</b>');
    expect(m.html).not.toContain('javascript:');
    expect(m.html).toContain('#ff0000');
    expect(m.html).toContain('reset-password?token=');
  });

  it('a tenant overrides the sender name and address', async () => {
    const before = sink.received.length;
    expect((await forgot(t, 'mail-bravo', 'bob@bravo.test')).statusCode).toBe(202);
    await deliverDueMail(t.gh);
    await sink.waitForCount(before + 1);
    expect(sink.to('bob@bravo.test').at(-1)!.parsed.from!.value[0]).toMatchObject({ name: 'Bravo Support', address: 'support@bravo.test' });
  });

  it('the language follows Accept-Language when the user has no locale (pt-BR)', async () => {
    const before = sink.received.length;
    expect((await forgot(t, 'mail-bravo', 'bob@bravo.test', { 'accept-language': 'pt-BR,pt;q=0.9' })).statusCode).toBe(202);
    await deliverDueMail(t.gh);
    await sink.waitForCount(before + 1);
    const m = sink.to('bob@bravo.test').at(-1)!;
    expect(m.subject).toBe('Redefina sua senha · MAIL-BRAVO');
    expect(m.text).toContain('O link funciona uma vez e expira em 30 minutos.');
  });

  it('SMTP down: the request still succeeds, the message stays queued with the error, and is delivered once SMTP is back', async () => {
    await sink.stop();
    const res = await forgot(t, 'mail-acme', 'ana@acme.test');
    expect(res.statusCode).toBe(202);
    const down = await deliverDueMail(t.gh, { baseBackoffMs: 0 });
    expect(down).toMatchObject({ attempted: 1, sent: 0, retrying: 1 });
    const admin = await adminToken(t, 'mail-acme');
    const queued = (await outbox(t, 'mail-acme', admin)).find((m) => m.status === 'queued')!;
    expect(queued).toMatchObject({ to: 'ana@acme.test', template: 'password_reset', attempts: 1 });
    expect(queued.last_error).toMatch(/ECONNREFUSED/);
    expect(queued.last_error).not.toContain(SMTP_PASS);
    // Only while SMTP is unconfigured does the admin list show bodies.
    expect(queued.text).toBeUndefined();

    const before = sink.received.length;
    await sink.start();
    const up = await deliverDueMail(t.gh, { baseBackoffMs: 0 });
    expect(up).toMatchObject({ attempted: 1, sent: 1 });
    await sink.waitForCount(before + 1);
    const after = (await outbox(t, 'mail-acme', admin)).find((m) => m.id === queued.id)!;
    expect(after).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
    // Nothing left to send: delivered exactly once.
    expect((await deliverDueMail(t.gh, { baseBackoffMs: 0 })).attempted).toBe(0);
    expect(sink.received.length).toBe(before + 1);
  });

  it('retries back off: a failed message is not due again at once', async () => {
    await sink.stop();
    try {
      expect((await forgot(t, 'mail-acme', 'ana@acme.test')).statusCode).toBe(202);
      expect((await deliverDueMail(t.gh)).retrying).toBe(1);
      expect((await deliverDueMail(t.gh)).attempted).toBe(0);
    } finally {
      await sink.start();
    }
    // Due again (as if the back-off had passed): delivered.
    await withPlatformTx(t.gh.db, (tx) => tx.query(`UPDATE mail_outbox SET next_attempt_at = now() WHERE status = 'queued'`));
    expect((await deliverDueMail(t.gh)).sent).toBe(1);
  });

  it('gives up after the last attempt: status failed with the last error', async () => {
    await sink.stop();
    try {
      expect((await forgot(t, 'mail-bravo', 'bob@bravo.test')).statusCode).toBe(202);
      expect((await deliverDueMail(t.gh, { baseBackoffMs: 0, maxAttempts: 2 })).retrying).toBe(1);
      expect((await deliverDueMail(t.gh, { baseBackoffMs: 0, maxAttempts: 2 })).failed).toBe(1);
    } finally {
      await sink.start();
    }
    const admin = await adminToken(t, 'mail-bravo');
    const failed = await t.app.inject({ method: 'GET', url: '/t/mail-bravo/api/v1/admin/mail/outbox?status=failed', headers: bearer(admin) });
    expect(failed.json().messages).toHaveLength(1);
    expect(failed.json().messages[0]).toMatchObject({ status: 'failed', attempts: 2 });
    expect(failed.json().messages[0].last_error).toMatch(/ECONNREFUSED/);
  });

  it('a run that nears the end of its lease hands the unsent messages back for the next run', async () => {
    for (let i = 0; i < 3; i++) expect((await forgot(t, 'mail-acme', 'ana@acme.test')).statusCode).toBe(202);
    const first = await deliverDueMail(t.gh, { leaseSeconds: 0.002 });
    expect(first).toMatchObject({ attempted: 1, sent: 1 });
    const queued = await withPlatformTx(t.gh.db, (tx) =>
      tx.query<{ due: boolean }>(`SELECT next_attempt_at <= now() AS due FROM mail_outbox WHERE status = 'queued'`),
    );
    expect(queued.rows).toEqual([{ due: true }, { due: true }]);
    expect(await deliverDueMail(t.gh)).toMatchObject({ attempted: 2, sent: 2 });
  });

  it('the worker polls and delivers on its own; several workers never send a message twice', async () => {
    const before = sink.received.length;
    for (let i = 0; i < 4; i++) expect((await forgot(t, 'mail-bravo', 'bob@bravo.test')).statusCode).toBe(202);
    const [a, b] = await Promise.all([deliverDueMail(t.gh), deliverDueMail(t.gh)]);
    expect(a.attempted + b.attempted).toBe(4);
    await sink.waitForCount(before + 4);
    expect((await forgot(t, 'mail-acme', 'ana@acme.test')).statusCode).toBe(202);
    const worker = startMailWorker(t.gh, 50);
    try {
      await sink.waitForCount(before + 5);
    } finally {
      await worker.stop();
    }
    expect(sink.received.length).toBe(before + 5);
  });

  it('clean-up removes finished mail after 30 days and tokens a day past expiry, never queued mail', async () => {
    await sink.stop();
    try {
      expect((await forgot(t, 'mail-acme', 'ana@acme.test')).statusCode).toBe(202);
      expect((await deliverDueMail(t.gh)).retrying).toBe(1);
    } finally {
      await sink.start();
    }
    await withPlatformTx(t.gh.db, async (tx) => {
      await tx.query(`UPDATE mail_outbox SET created_at = now() - interval '31 days'`);
      await tx.query(`UPDATE email_tokens SET expires_at = now() - interval '2 days' WHERE email = 'bob@bravo.test'`);
    });
    const counts = () =>
      withPlatformTx(t.gh.db, async (tx) => ({
        queued: (await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM mail_outbox WHERE status = 'queued'`)).rows[0]!.n,
        finished: (await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM mail_outbox WHERE status <> 'queued'`)).rows[0]!.n,
        bobTokens: (await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM email_tokens WHERE email = 'bob@bravo.test'`)).rows[0]!.n,
        anaTokens: (await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM email_tokens WHERE email = 'ana@acme.test'`)).rows[0]!.n,
      }));
    const before = await counts();
    expect(before.finished).toBeGreaterThan(0);
    expect(before.bobTokens).toBeGreaterThan(0);
    const removed = await cleanupMail(t.gh);
    expect(removed).toEqual({ messages: before.finished, tokens: before.bobTokens, files: 0 });
    expect(await counts()).toEqual({ queued: 1, finished: 0, bobTokens: 0, anaTokens: before.anaTokens });
    await withPlatformTx(t.gh.db, (tx) => tx.query(`UPDATE mail_outbox SET next_attempt_at = now() WHERE status = 'queued'`));
    expect((await deliverDueMail(t.gh)).sent).toBe(1);
  });

  it('the outbox is admin-only and per tenant', async () => {
    const r = await register(t, 'mail-acme', 'plain@acme.test');
    const user = r.json().access_token as string;
    expectError(await t.app.inject({ method: 'GET', url: '/t/mail-acme/api/v1/admin/mail/outbox', headers: bearer(user) }), 403, 'FORBIDDEN');
    expectError(await t.app.inject({ method: 'GET', url: '/t/mail-acme/api/v1/admin/mail/outbox' }), 401, 'UNAUTHENTICATED');
    const msgs = await outbox(t, 'mail-acme', await adminToken(t, 'mail-acme'));
    expect(msgs.length).toBeGreaterThan(0);
    expect(msgs.every((m) => m.to.endsWith('@acme.test'))).toBe(true);
  });
});

describe(`a tenant's own SMTP server (${backendName})`, () => {
  let global: SmtpSink;
  let own: SmtpSink;
  let t: TestApp;
  const smtpUrl = '/api/v1/platform/tenants/mail-own/smtp';

  beforeAll(async () => {
    global = await startSmtpSink();
    own = await startSmtpSink();
    t = await buildTestApp({ SMTP_URL: global.url });
    await createTenant(t, 'mail-own', { settings: { password_reset_max_per_hour: 100 } });
    await createTenant(t, 'mail-other');
    expect((await register(t, 'mail-own', 'olive@own.test')).statusCode).toBe(201);
    expect((await register(t, 'mail-other', 'otto@other.test')).statusCode).toBe(201);
    await deliverDueMail(t.gh); // the verification mails, through the global server
  });
  afterAll(async () => {
    await t?.close();
    await global?.stop();
    await own?.stop();
  });

  it('the platform sets it (sealed at rest, never shown with its password); that tenant’s mail goes through it', async () => {
    const put = await t.app.inject({ method: 'PUT', url: smtpUrl, headers: bearer(t.platformToken), payload: { smtp_url: own.url } });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toEqual({ configured: true, host: '127.0.0.1', port: own.port, secure: false, user: 'mailer' });
    expect(put.body).not.toContain(SMTP_PASS);
    const got = await t.app.inject({ method: 'GET', url: smtpUrl, headers: bearer(t.platformToken) });
    expect(got.json()).toEqual(put.json());
    const stored = await withPlatformTx(t.gh.db, (tx) => tx.query<{ smtp_url_enc: string }>('SELECT smtp_url_enc FROM tenant_smtp'));
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0]!.smtp_url_enc).not.toContain(SMTP_PASS);
    expect(stored.rows[0]!.smtp_url_enc).not.toContain('127.0.0.1');

    const ownBefore = own.received.length;
    const globalBefore = global.received.length;
    expect((await forgot(t, 'mail-own', 'olive@own.test')).statusCode).toBe(202);
    expect((await forgot(t, 'mail-other', 'otto@other.test')).statusCode).toBe(202);
    expect((await deliverDueMail(t.gh)).sent).toBe(2);
    expect(own.received.length).toBe(ownBefore + 1);
    expect(own.received.at(-1)!.to).toBe('olive@own.test');
    expect(global.received.length).toBe(globalBefore + 1);
    expect(global.received.at(-1)!.to).toBe('otto@other.test');
  });

  it('a failing tenant server records the error without its password; removing it falls back to SMTP_URL', async () => {
    const wrong = own.url.replace(SMTP_PASS, 'not-the-pass-xyz');
    expect((await t.app.inject({ method: 'PUT', url: smtpUrl, headers: bearer(t.platformToken), payload: { smtp_url: wrong } })).statusCode).toBe(200);
    expect((await forgot(t, 'mail-own', 'olive@own.test')).statusCode).toBe(202);
    expect((await deliverDueMail(t.gh, { baseBackoffMs: 0 })).retrying).toBe(1);
    const row = await withPlatformTx(t.gh.db, (tx) => tx.query<{ last_error: string }>(`SELECT last_error FROM mail_outbox WHERE status = 'queued'`));
    expect(row.rows[0]!.last_error).toMatch(/EAUTH|535|Invalid/);
    expect(row.rows[0]!.last_error).not.toContain('not-the-pass-xyz');

    expect((await t.app.inject({ method: 'DELETE', url: smtpUrl, headers: bearer(t.platformToken) })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: smtpUrl, headers: bearer(t.platformToken) })).json()).toEqual({ configured: false });
    const before = global.received.length;
    expect((await deliverDueMail(t.gh, { baseBackoffMs: 0 })).sent).toBe(1);
    expect(global.received.length).toBe(before + 1);
  });

  it('platform only, SMTP URLs only', async () => {
    expectError(await t.app.inject({ method: 'PUT', url: smtpUrl, payload: { smtp_url: own.url } }), 401, 'UNAUTHENTICATED');
    const admin = (await login(t, 'mail-own', 'admin@mail-own.test')).json().access_token;
    expectError(await t.app.inject({ method: 'PUT', url: smtpUrl, headers: bearer(admin), payload: { smtp_url: own.url } }), 401, 'UNAUTHENTICATED');
    expectError(
      await t.app.inject({ method: 'PUT', url: smtpUrl, headers: bearer(t.platformToken), payload: { smtp_url: 'http://127.0.0.1:80/' } }),
      400,
      'VALIDATION_ERROR',
    );
    expectError(await t.app.inject({ method: 'GET', url: '/api/v1/platform/tenants/no-such-tenant/smtp', headers: bearer(t.platformToken) }), 404, 'TENANT_NOT_FOUND');
  });
});

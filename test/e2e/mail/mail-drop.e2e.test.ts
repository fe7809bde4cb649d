import { lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPlatformTx } from '../../../src/db/tenant-tx.ts';
import { cleanupMail, deliverDueMail, OUTBOX_RETENTION_DAYS } from '../../../src/mail/mail-worker.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { backendName, bearer, buildTestApp, createTenant, login, register, type TestApp } from '../../helpers/test-app.ts';
import { codeFromMail, tokenFromMail } from '../../helpers/smtp-sink.ts';

const SLUG = 'drop';
const USER = 'dev@drop.test';
const NEW_PASSWORD = 'a fresh and different passphrase 7';

interface Dropped {
  file: string;
  parsed: ParsedMail;
  text: string;
}

/**
 * With no SMTP server (the development default), mail goes to the mail drop as .eml files, not to the log: every
 * one-time link and code is read here from the files, and the log of the whole flow, at trace level, holds none of
 * them (the log-redaction pattern of test/e2e/ops/log-redaction.e2e.test.ts).
 */
describe(`mail without SMTP: the mail drop (${backendName})`, () => {
  const lines: string[] = [];
  const root = mkdtempSync(join(tmpdir(), 'gh-maildrop-'));
  // Below a directory that does not exist yet: the worker makes it.
  const mailDir = join(root, 'dev', 'mail');
  let t: TestApp;
  /** Everything the mails carried, for the log check at the end. */
  const leaks = new Map<string, string>();

  /** The .eml files in the drop, by name, with their parsed content. */
  async function dropped(): Promise<Dropped[]> {
    const files = readdirSync(mailDir).filter((f) => f.endsWith('.eml')).sort();
    return Promise.all(
      files.map(async (f) => {
        const parsed = await simpleParser(readFileSync(join(mailDir, f)));
        return { file: f, parsed, text: parsed.text ?? '' };
      }),
    );
  }
  const droppedAs = async (template: string) => (await dropped()).filter((d) => d.file.includes(`-${SLUG}-${template}-`));

  function remember(label: string, mail: Dropped, secret: string) {
    leaks.set(label, secret);
    leaks.set(`${label} without its prefix`, secret.replace(/^gh[ei]_/, ''));
    leaks.set(`${label}: subject`, mail.parsed.subject ?? '');
    // The message text, line by line (short lines such as the tenant's name are not distinctive).
    for (const line of mail.text.split('\n').map((l) => l.trim())) if (line.length >= 16) leaks.set(`${label}: text line "${line}"`, line);
  }

  async function outbox() {
    const admin = await login(t, SLUG, `admin@${SLUG}.test`);
    const r = await t.app.inject({ method: 'GET', url: `/t/${SLUG}/api/v1/admin/mail/outbox`, headers: bearer(admin.json().access_token) });
    expect(r.statusCode, r.body).toBe(200);
    return r.json().messages as { id: string; template: string; status: string; attempts: number; last_error: string | null; text?: string }[];
  }

  beforeAll(async () => {
    t = await buildTestApp({ GATEHOUSE_MAIL_DIR: mailDir }, { logger: createLogger('trace', { write: (l: string) => void lines.push(l) }) });
    await createTenant(t, SLUG, { settings: { passwordless: true } });
    expect((await register(t, SLUG, USER)).statusCode).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('writes the verification and reset mails as 0600 .eml files in a 0700 GATEHOUSE_MAIL_DIR; their links work', async () => {
    const forgot = await t.app.inject({ method: 'POST', url: `/t/${SLUG}/api/v1/auth/password/forgot`, payload: { email: USER } });
    expect(forgot.statusCode).toBe(202);
    expect(await deliverDueMail(t.gh)).toMatchObject({ attempted: 2, logged: 2, failed: 0, retrying: 0 });

    expect(statSync(mailDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(mailDir).filter((f) => !f.endsWith('.eml'))).toEqual([]);
    const files = await dropped();
    expect(files).toHaveLength(2);
    for (const f of files) {
      expect(statSync(join(mailDir, f.file)).mode & 0o777, f.file).toBe(0o600);
      expect(f.file).toMatch(/^\d{8}T\d{6}\.\d{3}Z-drop-[a-z_]+-[0-9a-f-]{36}\.eml$/);
      // A whole message, as SMTP would have carried it.
      expect(f.parsed.to).toMatchObject({ value: [{ address: USER }] });
      expect(f.parsed.from?.value[0]?.address).toBe('no-reply@localhost');
      expect(f.parsed.messageId).toMatch(/^<.+@.+>$/);
      expect(f.parsed.html).toContain('token=');
    }

    const [verification] = await droppedAs('email_verification');
    expect(verification!.parsed.subject).toBe('Confirm your email address · DROP');
    expect(verification!.text).toContain(`http://gatehouse.test/t/${SLUG}/verify-email?token=`);
    const verifyToken = tokenFromMail(verification!);
    remember('verification token', verification!, verifyToken);
    leaks.set('verification link', `http://gatehouse.test/t/${SLUG}/verify-email?token=${verifyToken}`);
    const v = await t.app.inject({ method: 'POST', url: `/t/${SLUG}/api/v1/auth/verify-email`, payload: { token: verifyToken } });
    expect(v.statusCode, v.body).toBe(204);

    const [reset] = await droppedAs('password_reset');
    const resetToken = tokenFromMail(reset!);
    remember('reset token', reset!, resetToken);
    leaks.set('reset link', `http://gatehouse.test/t/${SLUG}/reset-password?token=${resetToken}`);
    const r = await t.app.inject({ method: 'POST', url: `/t/${SLUG}/api/v1/auth/password/reset`, payload: { token: resetToken, password: NEW_PASSWORD } });
    expect(r.statusCode, r.body).toBe(204);
    expect((await login(t, SLUG, USER, NEW_PASSWORD)).json().user.email_verified).toBe(true);

    // The outbox keeps its contract: status `logged`, and the admin sees the text while no SMTP is configured.
    const messages = await outbox();
    const listed = messages.find((m) => m.template === 'password_reset')!;
    expect(listed).toMatchObject({ status: 'logged', attempts: 1, last_error: null });
    expect(listed.text).toContain(`token=${resetToken}`);
    expect(reset!.file).toContain(listed.id);
    // The reset's own notice to the owner.
    expect(await deliverDueMail(t.gh)).toMatchObject({ attempted: 1, logged: 1 });
    expect(await droppedAs('password_changed')).toHaveLength(1);
  });

  it('a passwordless code (which is also in the subject) is read from the drop and signs in', async () => {
    const start = await t.app.inject({ method: 'POST', url: `/t/${SLUG}/api/v1/auth/passwordless/start`, payload: { email: USER, method: 'code' } });
    expect(start.statusCode).toBe(202);
    expect(await deliverDueMail(t.gh)).toMatchObject({ attempted: 1, logged: 1 });
    const [mail] = await droppedAs('passwordless_code');
    const code = codeFromMail(mail!);
    expect(mail!.parsed.subject).toContain(code);
    remember('passwordless code', mail!, code);
    const r = await t.app.inject({ method: 'POST', url: `/t/${SLUG}/api/v1/auth/passwordless/verify`, payload: { email: USER, code } });
    expect(r.statusCode, r.body).toBe(200);
  });

  it('a drop that cannot be written is retried like a failed delivery, and written once it can be', async () => {
    rmSync(mailDir, { recursive: true });
    writeFileSync(mailDir, 'not a directory');
    const pending = await t.app.inject({ method: 'POST', url: `/t/${SLUG}/api/v1/auth/password/forgot`, payload: { email: USER } });
    expect(pending.statusCode).toBe(202);
    expect(await deliverDueMail(t.gh)).toMatchObject({ attempted: 1, logged: 0, retrying: 1, failed: 0 });
    const queued = (await outbox()).find((m) => m.template === 'password_reset' && m.status === 'queued')!;
    expect(queued.attempts).toBe(1);
    expect(queued.last_error).toMatch(/EEXIST|ENOTDIR/);

    rmSync(mailDir);
    await withPlatformTx(t.gh.db, (tx) => tx.query(`UPDATE mail_outbox SET next_attempt_at = now() WHERE status = 'queued'`));
    expect(await deliverDueMail(t.gh)).toMatchObject({ attempted: 1, logged: 1, retrying: 0 });
    expect(statSync(mailDir).mode & 0o777).toBe(0o700);
    const [again] = (await droppedAs('password_reset')).filter((d) => d.file.includes(queued.id));
    expect(statSync(join(mailDir, again!.file)).mode & 0o777).toBe(0o600);
    remember('second reset token', again!, tokenFromMail(again!));
  });

  it('the mail clean-up deletes drop files older than the outbox retention; fresh ones and anything not its own stay', async () => {
    const forgot = await t.app.inject({ method: 'POST', url: `/t/${SLUG}/api/v1/auth/password/forgot`, payload: { email: USER } });
    expect(forgot.statusCode).toBe(202);
    expect((await deliverDueMail(t.gh)).logged).toBeGreaterThan(0);
    const old = new Date(Date.now() - (OUTBOX_RETENTION_DAYS + 1) * 86_400_000);
    const [expired, ...fresh] = (await dropped()).map((d) => d.file);
    expect(fresh.length).toBeGreaterThan(0);
    utimesSync(join(mailDir, expired!), old, old);
    // Named as the drop names its files, all as old: a crash's leftover is the drop's own; a directory, a symlink
    // (and its target outside), a file one level down are not.
    const dropLike = (n: number) => `20200101T000000.000Z-${SLUG}-password_reset-00000000-0000-4000-8000-00000000000${n}.eml`;
    const leftover = `.${dropLike(1)}.part`;
    const outside = join(root, dropLike(2));
    const foreign = ['notes.txt', '20200101T000000.000Z-not-ours.eml', `${dropLike(3)}.bak`, dropLike(4), dropLike(5), join('sub', dropLike(6))];
    writeFileSync(join(mailDir, leftover), 'partial');
    writeFileSync(outside, 'outside the drop');
    for (const f of foreign.slice(0, 3)) writeFileSync(join(mailDir, f), 'not the drop’s');
    mkdirSync(join(mailDir, dropLike(4)));
    symlinkSync(outside, join(mailDir, dropLike(5)));
    mkdirSync(join(mailDir, 'sub'));
    writeFileSync(join(mailDir, foreign[5]!), 'one level down');
    for (const f of [leftover, ...foreign, 'sub']) lutimesSync(join(mailDir, f), old, old);
    utimesSync(outside, old, old);

    expect(await cleanupMail(t.gh)).toEqual({ messages: 0, tokens: 0, files: 2 });
    expect(readdirSync(mailDir).sort()).toEqual([...fresh, ...foreign.slice(0, 5), 'sub'].sort());
    expect(readdirSync(join(mailDir, 'sub'))).toEqual([dropLike(6)]);
    expect(readFileSync(outside, 'utf8')).toBe('outside the drop');
    // A second pass finds nothing more; a drop directory that does not exist (yet) is no error.
    expect((await cleanupMail(t.gh)).files).toBe(0);
    renameSync(mailDir, `${mailDir}.away`);
    try {
      expect((await cleanupMail(t.gh)).files).toBe(0);
    } finally {
      renameSync(`${mailDir}.away`, mailDir);
    }
  });

  it('the log of the whole flow names each message and its file, but holds no link, token, code, subject or text', () => {
    const log = lines.join('\n');
    const drops = lines.filter((l) => l.includes('mail written to the mail drop'));
    expect(drops.length).toBeGreaterThanOrEqual(4);
    for (const l of drops) {
      const entry = JSON.parse(l) as { mail: { id: string; tenant: string; template: string }; file: string };
      expect(entry.mail.tenant).toBe(SLUG);
      expect(entry.file.startsWith(mailDir)).toBe(true);
      expect(entry.file).toContain(entry.mail.id);
      expect(Object.keys(entry.mail).sort()).toEqual(['id', 'template', 'tenant']);
    }
    expect(leaks.size).toBeGreaterThan(10);
    for (const [label, secret] of leaks) {
      expect(secret, label).toBeTruthy();
      if (/^\d{6}$/.test(secret)) expect(new RegExp(`(?<![0-9])${secret}(?![0-9])`).test(log), `${label} leaked into the log`).toBe(false);
      else expect(log.includes(secret), `${label} leaked into the log`).toBe(false);
    }
    expect(log).not.toMatch(/ghe_[A-Za-z0-9_-]{20,}/);
    expect(log).not.toContain('token=');
    // Nor the recipient: the drop lines name the message, not who it was for.
    for (const l of drops) expect(l).not.toContain(USER);
  });
});

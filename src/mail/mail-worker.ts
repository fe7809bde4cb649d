import nodemailer from 'nodemailer';
import type { Gatehouse } from '../context.ts';
import { withPlatformTx, withTenantTx } from '../db/tenant-tx.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import { dropMail, sweepMailDrop } from './mail-drop.ts';
import { mailBodyContext } from './outbox.ts';
import { readTenantSmtp } from './tenant-smtp.ts';
import { startPeriodic } from '../shared/periodic.ts';

export interface MailWorkerOptions {
  /** First retry delay; doubles with each failed attempt (default 10 s). */
  baseBackoffMs?: number;
  /** Longest retry delay (default 1 h). */
  maxBackoffMs?: number;
  /** Attempts before a message is given up as failed (default 10). */
  maxAttempts?: number;
  /** Messages claimed per run (default 50). */
  batch?: number;
  /** How long claimed messages are hidden from other workers (default 300 s); past half of it the rest is handed back. */
  leaseSeconds?: number;
}

export interface MailRunResult {
  attempted: number;
  sent: number;
  logged: number;
  retrying: number;
  failed: number;
}

/** How long a claimed message is hidden from other workers while it is being sent (longer than any SMTP timeout). */
const CLAIM_LEASE_SECONDS = 300;

interface Claimed {
  id: string;
  tenant_id: string;
  to_address: string;
  subject: string;
  template: string;
  body_enc: string | null;
  attempts: number;
  created_at: Date;
}

type Transport = ReturnType<typeof nodemailer.createTransport>;
/** Transports per process: the global one (SMTP_URL) and each tenant's own, keyed by the tenant and its setting's version. */
const transports = new WeakMap<Gatehouse, Map<string, Transport>>();

function transportFor(gh: Gatehouse, key: string, smtpUrl: string): Transport {
  let byKey = transports.get(gh);
  if (!byKey) {
    byKey = new Map();
    transports.set(gh, byKey);
  }
  let t = byKey.get(key);
  if (!t) {
    // A tenant's changed setting gets a new key: drop its older transports.
    const tenantPrefix = key.split('@')[0] + '@';
    for (const [k, old] of byKey) {
      if (k !== key && k.startsWith(tenantPrefix) && tenantPrefix !== 'global@') {
        old.close();
        byKey.delete(k);
      }
    }
    t = nodemailer.createTransport({ url: smtpUrl, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
    byKey.set(key, t);
  }
  return t;
}

/** Closes every SMTP transport of this process (shutdown). */
export function closeMailTransports(gh: Gatehouse): void {
  for (const t of transports.get(gh)?.values() ?? []) t.close();
  transports.delete(gh);
}

/** `Name <address>` from MAIL_FROM, with the tenant's name and address overrides. */
export function senderOf(mailFrom: string, settings: { mail_from_name: string | null; mail_from_address: string | null }): { name?: string; address: string } {
  const m = /^\s*(?:"?([^"<]*?)"?\s*)?<([^>]+)>\s*$/.exec(mailFrom);
  const name = settings.mail_from_name ?? (m?.[1] || undefined);
  const address = settings.mail_from_address ?? (m ? m[2]! : mailFrom.trim());
  return name ? { name, address } : { address };
}

/** An SMTP error as stored and shown to admins: never the SMTP URL's password, at most 500 characters. */
function describeError(err: unknown, smtpUrl: string): string {
  const e = err as Error & { code?: string; responseCode?: number };
  let text = [e.code, e.responseCode, e.message].filter((x) => x !== undefined && x !== '').join(' ') || 'send failed';
  try {
    const password = decodeURIComponent(new URL(smtpUrl).password);
    if (password) text = text.split(password).join('***');
  } catch {
    // An unparsable URL fails at configuration already.
  }
  return text.slice(0, 500);
}

/**
 * Sends the mail that is due, across tenants. Due messages are claimed in one statement (SKIP LOCKED, and a lease
 * on next_attempt_at so another node's run does not pick them up while in flight), sent outside any transaction,
 * and each outcome recorded in the message's tenant transaction: a crash between claim and record only delays a
 * message by the lease (the receiver may then see it twice, never zero times).
 *
 * A tenant with its own SMTP server (tenant_smtp, set by the platform operator) sends through it; the others through
 * SMTP_URL. With neither (the embedded development default, and PostgreSQL without SMTP alike) a message is written
 * as an .eml file into the mail drop (GATEHOUSE_MAIL_DIR, default <data dir>/mail; see mail-drop.ts) and marked
 * `logged`, so a newcomer can finish every flow locally. The log then names only the message, its tenant, template
 * and file: never its text, subject or recipient, which carry one-time links and codes. A drop that cannot be
 * written is retried like a failed SMTP delivery.
 */
export async function deliverDueMail(gh: Gatehouse, opts: MailWorkerOptions = {}): Promise<MailRunResult> {
  const base = opts.baseBackoffMs ?? 10_000;
  const max = opts.maxBackoffMs ?? 3_600_000;
  const maxAttempts = opts.maxAttempts ?? 10;
  const lease = opts.leaseSeconds ?? CLAIM_LEASE_SECONDS;
  const claimed = await withPlatformTx(gh.db, (tx) =>
    tx.query<Claimed>(
      `UPDATE mail_outbox SET next_attempt_at = now() + make_interval(secs => $2::double precision)
       WHERE id IN (
         SELECT id FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= now()
         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id, tenant_id, to_address, subject, template, body_enc, attempts, created_at`,
      [opts.batch ?? 50, lease],
    ),
  );
  const result: MailRunResult = { attempted: 0, sent: 0, logged: 0, retrying: 0, failed: 0 };
  // Each tenant's own SMTP server (sealed), looked up once per run.
  const overrides = new Map<string, { url: string; version: string } | undefined>();
  const smtpOf = async (tenantId: string) => {
    if (!overrides.has(tenantId)) {
      let o: { url: string; version: string } | undefined;
      try {
        o = await withTenantTx(gh.db, tenantId, (tx) => readTenantSmtp(tx, gh.sealer));
      } catch {
        // A setting that cannot be opened (master key changed) must not stop the tenant's mail: the global server.
        o = undefined;
      }
      overrides.set(tenantId, o);
    }
    const o = overrides.get(tenantId);
    if (o) return { url: o.url, key: `${tenantId}@${o.version}` };
    return gh.config.smtpUrl ? { url: gh.config.smtpUrl, key: 'global@' } : undefined;
  };
  // UPDATE ... RETURNING keeps no order: send in the order the mail was written (a newer link after an older one).
  const due = claimed.rows.sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || (a.id < b.id ? -1 : 1));
  const started = Date.now();
  for (const [i, m] of due.entries()) {
    // Slow servers (timeouts) must not outlast the lease, or another node would claim the rest and send twice:
    // past half the lease, hand the remaining messages back.
    if (i > 0 && Date.now() - started > (lease * 1000) / 2) {
      const rest = due.slice(i).map((r) => r.id);
      await withPlatformTx(gh.db, (tx) => tx.query('UPDATE mail_outbox SET next_attempt_at = now() WHERE id = ANY($1::uuid[])', [rest]));
      break;
    }
    result.attempted++;
    const attempts = m.attempts + 1;
    const tenant = await gh.tenants.byId(m.tenant_id);
    let body: { subject?: string; text: string; html: string } | undefined;
    try {
      body = m.body_enc ? (JSON.parse(gh.sealer.open(m.body_enc, mailBodyContext(m.tenant_id))) as { subject?: string; text: string; html: string }) : undefined;
    } catch {
      body = undefined;
    }
    const record = (sql: string, params: unknown[]) => withTenantTx(gh.db, m.tenant_id, (tx) => tx.query(sql, [m.id, ...params]));
    if (!tenant || !body) {
      result.failed++;
      await record(`UPDATE mail_outbox SET status = 'failed', attempts = $2, last_error = $3 WHERE id = $1`, [
        attempts,
        !tenant ? 'tenant no longer exists' : 'message body cannot be opened',
      ]);
      continue;
    }
    const from = senderOf(gh.config.mailFrom, effectiveSettings(tenant));
    const smtp = await smtpOf(m.tenant_id);
    // An SMTP or mail-drop failure: retried with backoff, given up after maxAttempts.
    const retryOrFail = async (err: unknown, smtpUrl: string) => {
      const final = attempts >= maxAttempts;
      if (final) result.failed++;
      else result.retrying++;
      const delayMs = Math.min(base * 2 ** m.attempts, max);
      const error = describeError(err, smtpUrl);
      await record(
        `UPDATE mail_outbox SET attempts = $2, last_error = $3, status = CASE WHEN $4::boolean THEN 'failed' ELSE 'queued' END,
           next_attempt_at = now() + make_interval(secs => $5::double precision) WHERE id = $1`,
        [attempts, error, final, delayMs / 1000],
      );
      gh.logger.warn({ mail: m.id, tenant: tenant.slug, attempts, error, final }, 'mail delivery failed');
    };
    if (!smtp) {
      // Development (no SMTP configured): into the mail drop. The body stays sealed in the outbox, where the admin
      // listing shows it while no SMTP is configured. See above.
      let dropped: { file: string; messageId: string };
      try {
        dropped = await dropMail(
          gh.config.mailDir,
          { id: m.id, createdAt: m.created_at, tenant: tenant.slug, template: m.template },
          { from, to: m.to_address, subject: body.subject ?? m.subject, text: body.text, html: body.html },
        );
      } catch (err) {
        await retryOrFail(err, '');
        continue;
      }
      result.logged++;
      await record(
        `UPDATE mail_outbox SET status = 'logged', attempts = $2, from_address = $3, message_id = $4, last_error = NULL, sent_at = now() WHERE id = $1`,
        [attempts, from.address, dropped.messageId.slice(0, 300) || null],
      );
      gh.logger.info({ mail: { id: m.id, tenant: tenant.slug, template: m.template }, file: dropped.file }, 'mail written to the mail drop (no SMTP configured)');
      continue;
    }
    try {
      const info = await transportFor(gh, smtp.key, smtp.url).sendMail({ from, to: m.to_address, subject: body.subject ?? m.subject, text: body.text, html: body.html });
      result.sent++;
      // Sent: the links are no longer needed at rest.
      await record(
        `UPDATE mail_outbox SET status = 'sent', attempts = $2, from_address = $3, message_id = $4, last_error = NULL, body_enc = NULL, sent_at = now() WHERE id = $1`,
        [attempts, from.address, String(info.messageId ?? '').slice(0, 300) || null],
      );
      gh.logger.debug({ mail: m.id, tenant: tenant.slug, attempts }, 'mail sent');
    } catch (err) {
      await retryOrFail(err, smtp.url);
    }
  }
  return result;
}

/** Days a delivered, logged or failed message stays listed in the outbox (and its mail-drop file on disk). */
export const OUTBOX_RETENTION_DAYS = 30;

/**
 * Deletes what no one needs any more, across tenants: outbox messages finished more than OUTBOX_RETENTION_DAYS ago,
 * one-time tokens a day past their expiry (until then a spent token still gets its precise refusal code), and the
 * mail drop's files last modified more than OUTBOX_RETENTION_DAYS ago (see sweepMailDrop: its own files only).
 */
export async function cleanupMail(gh: Gatehouse): Promise<{ messages: number; tokens: number; files: number }> {
  const rows = await withPlatformTx(gh.db, async (tx) => {
    const messages = await tx.query(
      `DELETE FROM mail_outbox WHERE status <> 'queued' AND created_at < now() - make_interval(days => $1::int)`,
      [OUTBOX_RETENTION_DAYS],
    );
    const tokens = await tx.query(`DELETE FROM email_tokens WHERE expires_at < now() - interval '1 day'`);
    return { messages: messages.rowCount, tokens: tokens.rowCount };
  });
  // A drop directory the process cannot read must not stop the worker's mail delivery: say so and go on.
  const files = await sweepMailDrop(gh.config.mailDir, new Date(Date.now() - OUTBOX_RETENTION_DAYS * 86_400_000)).catch((err: unknown) => {
    gh.logger.warn({ err }, 'mail drop clean-up failed');
    return 0;
  });
  return { ...rows, files };
}

const CLEANUP_EVERY_MS = 3_600_000;

/**
 * Runs deliverDueMail every intervalMs (never two runs at once), and cleanupMail hourly; stop() waits for a run in
 * flight and closes SMTP.
 */
export function startMailWorker(gh: Gatehouse, intervalMs: number, opts: MailWorkerOptions = {}): { stop(): Promise<void> } {
  let lastCleanup = 0;
  const worker = startPeriodic(
    intervalMs,
    async () => {
      if (Date.now() - lastCleanup >= CLEANUP_EVERY_MS) {
        lastCleanup = Date.now();
        await cleanupMail(gh);
      }
      await deliverDueMail(gh, opts);
    },
    (err) => gh.logger.warn({ err: { message: (err as Error).message } }, 'mail delivery run failed'),
  );
  return {
    async stop() {
      await worker.stop();
      closeMailTransports(gh);
    },
  };
}

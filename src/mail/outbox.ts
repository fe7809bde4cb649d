import type { Gatehouse } from '../context.ts';
import type { TenantDb } from '../db/tenant-tx.ts';
import { LOCALES, type Locale } from '../i18n/locale.ts';
import { negotiateLocale } from '../i18n/locale.ts';
import type { Sealer } from '../keys/master-key.ts';
import type { Tenant } from '../tenancy/tenant.model.ts';
import { brandingOf, renderMail } from './render.ts';
import { templateContent, type TemplateData, type TemplateName } from './templates.ts';

export interface OutgoingMail<K extends TemplateName = TemplateName> {
  to: string;
  template: K;
  data: TemplateData[K];
  locale: Locale;
}

export type MailTenant = Pick<Tenant, 'id' | 'name' | 'branding'>;

/** The sealing context of a tenant's mail bodies: a body cannot be opened as another tenant's or as another secret. */
export const mailBodyContext = (tenantId: string) => `mail:${tenantId}`;

/**
 * The language of a mail: the user's own locale, else the request's Accept-Language, else the tenant's
 * `branding.default_locale`, else English.
 */
export function mailLocale(tenant: Pick<Tenant, 'branding'>, userLocale?: string | null, acceptLanguage?: string): Locale {
  if (userLocale || acceptLanguage) {
    const picked = negotiateLocale(acceptLanguage, userLocale);
    // negotiateLocale answers 'en' when nothing matched: only trust it when something did.
    if (picked !== 'en' || /^en\b/i.test(userLocale ?? '') || /(^|,)\s*en\b/i.test(acceptLanguage ?? '')) return picked;
  }
  const fallback = tenant.branding?.default_locale;
  return (LOCALES as readonly string[]).includes(fallback ?? '') ? (fallback as Locale) : 'en';
}

/** The subject with the message's one-time code (a template's `code`) masked. */
export function publicSubject(subject: string, data: unknown): string {
  const code = typeof data === 'object' && data !== null && 'code' in data ? String((data as { code: unknown }).code) : '';
  return code ? subject.split(code).join('••••••') : subject;
}

/**
 * Writes a message into the outbox inside the caller's transaction, so the mail exists exactly when the change that
 * caused it commits; the worker (mail-worker.ts) delivers it. The rendered bodies carry one-time links and codes,
 * so they are sealed. `send: false` runs the same statement and writes nothing: flows that must not reveal whether
 * an address exists do identical database work either way.
 */
export async function enqueueMail<K extends TemplateName>(
  tx: TenantDb,
  sealer: Sealer,
  tenant: MailTenant,
  mail: OutgoingMail<K>,
  send = true,
): Promise<string | undefined> {
  const rendered = renderMail(mail.locale, brandingOf(tenant), templateContent(mail.locale, mail.template, mail.data, brandingOf(tenant).name));
  // The subject goes out from the sealed body; the column (shown to the tenant's admins in the outbox listing, and
  // kept after sending) never holds a one-time code, which a subject such as "Your sign-in code: 123456" carries.
  const body = sealer.seal(JSON.stringify({ subject: rendered.subject, text: rendered.text, html: rendered.html }), mailBodyContext(tenant.id));
  const r = await tx.query<{ id: string }>(
    `INSERT INTO mail_outbox (to_address, template, locale, subject, body_enc)
     SELECT $1, $2, $3, $4, $5 WHERE $6::boolean RETURNING id`,
    [mail.to, mail.template, mail.locale, publicSubject(rendered.subject, mail.data), body, send],
  );
  return r.rows[0]?.id;
}

/**
 * Mails every active admin of the tenant (at most 50), each in their own language, inside the caller's transaction.
 */
export async function notifyAdmins<K extends TemplateName>(tx: TenantDb, sealer: Sealer, tenant: MailTenant, template: K, data: TemplateData[K]): Promise<number> {
  const admins = await tx.query<{ email: string; locale: string | null }>(
    `SELECT email, locale FROM users WHERE role = 'admin' AND status = 'active' ORDER BY created_at LIMIT 50`,
  );
  for (const a of admins.rows) await enqueueMail(tx, sealer, tenant, { to: a.email, template, data, locale: mailLocale(tenant, a.locale) });
  return admins.rows.length;
}

/**
 * Mails a user a notification (account locked, security alert, backup code used, MFA reset...), in the user's
 * language, inside the caller's transaction. Does nothing for a user that does not exist (any more).
 */
export async function notifyUser<K extends TemplateName>(
  tx: TenantDb,
  gh: Pick<Gatehouse, 'sealer'>,
  tenant: MailTenant,
  userId: string,
  template: K,
  data: TemplateData[K],
): Promise<string | undefined> {
  const user = (await tx.query<{ email: string; locale: string | null }>('SELECT email, locale FROM users WHERE id = $1', [userId])).rows[0];
  if (!user) return undefined;
  return enqueueMail(tx, gh.sealer, tenant, { to: user.email, template, data, locale: mailLocale(tenant, user.locale) });
}

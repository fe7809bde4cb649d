import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx, type TenantDb } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { normalizeEmail, type UserRow } from '../identity/user.model.ts';
import { findUserById } from '../identity/user.queries.ts';
import { insertUserChecked, preparePassword } from '../identity/user.service.ts';
import { enqueueMail, mailLocale } from '../mail/outbox.ts';
import { guardRegistration } from '../protection/login-protection.ts';
import { sha256 } from '../shared/crypto.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { EMAIL_TOKEN_TTL, findEmailToken, issueEmailToken, newEmailToken, unknownTokenError } from './email-tokens.ts';
import { guardMailRequest, withinMailBudget } from './mail-limits.ts';
import { flowLink } from './flow-link.ts';

/**
 * Queues a verification mail for a user's current address (in the caller's transaction); an earlier link stops
 * working. With `send` false it does the same work and writes nothing.
 */
export async function queueEmailVerification(
  tx: TenantDb,
  gh: Pick<Gatehouse, 'sealer'>,
  tenant: ResolvedTenant,
  user: { id: string; email: string; locale: string | null } | undefined,
  opts: { acceptLanguage?: string | undefined; send?: boolean; email?: string } = {},
): Promise<void> {
  const send = opts.send ?? true;
  const email = user?.email ?? opts.email ?? '';
  const token = newEmailToken();
  await issueEmailToken(tx, { purpose: 'email_verification', email, userId: user?.id ?? null, tokenHash: sha256(token), supersede: ['email_verification'], issue: send });
  await enqueueMail(
    tx,
    gh.sealer,
    tenant,
    {
      to: email,
      template: 'email_verification',
      data: { url: flowLink(tenant, 'verify-email', token), hours: EMAIL_TOKEN_TTL.email_verification / 3600 },
      locale: mailLocale(tenant, user?.locale, opts.acceptLanguage),
    },
    send,
  );
}

/**
 * Registration when the tenant requires verified addresses: always 202, for a new address and an existing one
 * alike. A new address gets an unverified account and a verification link; the owner of an existing one gets a
 * notice ("someone tried to sign up with your address") instead, within the per-address mail budget. The password
 * is checked and hashed first in both cases, so the timing matches too.
 */
export async function registerPendingVerification(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  input: { email: string; password: string; name?: string | undefined },
  ctx: AuditContext,
  acceptLanguage?: string,
): Promise<void> {
  const settings = effectiveSettings(tenant);
  if (settings.registration !== 'open') throw new AppError('REGISTRATION_CLOSED');
  await guardRegistration(gh, tenant, ctx);
  const email = normalizeEmail(input.email);
  const passwordHash = await preparePassword(gh, tenant, input.password, input);
  const budget = await withinMailBudget(gh, tenant, 'exists', email);
  await withTenantTx(gh.db, tenant.id, async (tx) => {
    const existing = (await tx.query<Pick<UserRow, 'id' | 'locale'>>('SELECT id, locale FROM users WHERE email = $1', [email])).rows[0];
    if (existing) {
      await enqueueMail(
        tx,
        gh.sealer,
        tenant,
        { to: email, template: 'account_exists', data: { resetUrl: `${tenant.issuer}/forgot-password` }, locale: mailLocale(tenant, existing.locale, acceptLanguage) },
        budget,
      );
      await recordAudit(tx, ctx, { action: 'registration.existing_email', subjectId: existing.id, risk: 'low', details: { email, notified: budget } });
      return;
    }
    let user: UserRow;
    try {
      user = await insertUserChecked(tx, tenant, { ...input, passwordHash }, { ctx, action: 'user.registered' });
    } catch (err) {
      // At the tenant's user limit a new address must still get the 202 a taken one gets, or the 403 would tell
      // which addresses have accounts. Nothing was written; the refusal is on the audit trail for the admins.
      if (!(err instanceof AppError) || err.code !== 'USER_LIMIT_EXCEEDED') throw err;
      await recordAudit(tx, ctx, { action: 'registration.user_limit', risk: 'medium', details: { email } });
      return;
    }
    await queueEmailVerification(tx, gh, tenant, user, { acceptLanguage });
  });
}

/**
 * POST /auth/verify-email. Marks the address verified. Presenting the link again after it worked is harmless
 * (same 204); any other spent, expired, wrong-purpose or unknown token is refused with its code.
 */
export async function verifyEmail(gh: Gatehouse, tenant: ResolvedTenant, token: string, ctx: AuditContext): Promise<void> {
  const userId = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const row = await findEmailToken(tx, token);
    if (!row) throw await unknownTokenError(tx, token);
    if (row.purpose !== 'email_verification') throw new AppError('EMAIL_TOKEN_WRONG_PURPOSE');
    const user = row.user_id ? await findUserById(tx, row.user_id) : undefined;
    // The address changed since the link was sent: it proves nothing about the current one.
    if (!user || user.email !== row.email) throw new AppError('EMAIL_TOKEN_INVALID');
    if (row.consumed_at) {
      if (row.consumed_reason === 'used' && user.email_verified) return null;
      throw new AppError('EMAIL_TOKEN_USED');
    }
    if (row.expires_at.getTime() <= Date.now()) throw new AppError('EMAIL_TOKEN_EXPIRED');
    await tx.query(`UPDATE email_tokens SET consumed_at = now(), consumed_reason = 'used' WHERE id = $1`, [row.id]);
    await tx.query('UPDATE users SET email_verified = true, updated_at = now() WHERE id = $1', [user.id]);
    await recordAudit(tx, ctx, { action: 'email.verified', actorType: 'user', actorId: user.id, subjectId: user.id, details: { email: user.email } });
    return user.id;
  });
  if (userId) gh.users.invalidate(tenant.id, userId);
}

/** POST /auth/verify-email/resend: 202 for every address; only an unverified account gets a (new) link. */
export async function resendVerification(gh: Gatehouse, tenant: ResolvedTenant, rawEmail: string, ctx: AuditContext, acceptLanguage?: string) {
  const email = normalizeEmail(rawEmail);
  await guardMailRequest(gh, tenant, ctx);
  const budget = await withinMailBudget(gh, tenant, 'verify', email);
  await withTenantTx(gh.db, tenant.id, async (tx) => {
    const user = (
      await tx.query<Pick<UserRow, 'id' | 'email' | 'locale' | 'status' | 'email_verified'>>(
        'SELECT id, email, locale, status, email_verified FROM users WHERE email = $1',
        [email],
      )
    ).rows[0];
    const send = !!user && !user.email_verified && user.status !== 'disabled' && budget;
    await queueEmailVerification(tx, gh, tenant, user, { acceptLanguage, send, email });
  });
}

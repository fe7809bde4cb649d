import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { normalizeEmail } from '../identity/user.model.ts';
import { findUserById } from '../identity/user.queries.ts';
import { enqueueMail, mailLocale } from '../mail/outbox.ts';
import { sha256 } from '../shared/crypto.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { consumeEmailToken, EMAIL_TOKEN_TTL, issueEmailToken, newEmailToken, revokeEmailTokens } from './email-tokens.ts';
import { flowLink } from './flow-link.ts';

/**
 * POST /me/email: after the current password, mails a confirmation link to the new address; nothing changes until
 * it is followed. A new address that already has an account gets no mail, and the answer is the same 202, so the
 * endpoint tells nobody which addresses are taken.
 */
export async function requestEmailChange(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  userId: string,
  input: { newEmail: string; currentPassword: string },
  ctx: AuditContext,
  acceptLanguage?: string,
): Promise<void> {
  const user = await withTenantTx(gh.db, tenant.id, (tx) => findUserById(tx, userId));
  if (!user || user.status === 'disabled') throw new AppError('TOKEN_REVOKED');
  const ok = user.password_hash ? (await gh.hasher.verify(user.password_hash, input.currentPassword)).ok : false;
  if (!ok) throw new AppError('CURRENT_PASSWORD_INVALID', { details: [{ field: 'current_password', message: 'is wrong' }] });
  const newEmail = normalizeEmail(input.newEmail);
  if (newEmail === user.email) {
    throw new AppError('VALIDATION_ERROR', { message: 'That is already your address.', details: [{ field: 'new_email', message: 'is your current address' }] });
  }
  const token = newEmailToken();
  await withTenantTx(gh.db, tenant.id, async (tx) => {
    const taken = (await tx.query('SELECT 1 FROM users WHERE email = $1', [newEmail])).rows.length > 0;
    await issueEmailToken(tx, {
      purpose: 'email_change',
      email: newEmail,
      userId: user.id,
      tokenHash: sha256(token),
      data: { old_email: user.email },
      supersede: ['email_change'],
      issue: !taken,
    });
    const minutes = EMAIL_TOKEN_TTL.email_change / 60;
    await enqueueMail(
      tx,
      gh.sealer,
      tenant,
      { to: newEmail, template: 'email_change_confirm', data: { url: flowLink(tenant, 'confirm-email-change', token), newEmail, minutes }, locale: mailLocale(tenant, user.locale, acceptLanguage) },
      !taken,
    );
    await recordAudit(tx, ctx, { action: 'email.change_requested', subjectId: user.id, details: { new_email: newEmail, sent: !taken } });
  });
}

/**
 * POST /auth/email-change/confirm: the link from the new address switches the account to it (verified), the old
 * address is told, and the change is audited. A link for an address that has changed since, or that someone else
 * took in the meantime, is refused.
 */
export async function confirmEmailChange(gh: Gatehouse, tenant: ResolvedTenant, token: string, ctx: AuditContext): Promise<void> {
  const userId = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const row = await consumeEmailToken(tx, token, 'email_change');
    const user = row.user_id ? await findUserById(tx, row.user_id) : undefined;
    if (!user || user.status === 'disabled' || user.email !== row.data.old_email) throw new AppError('EMAIL_TOKEN_INVALID');
    const taken = await tx.query('SELECT 1 FROM users WHERE email = $1', [row.email]);
    if (taken.rows.length) throw new AppError('EMAIL_TAKEN');
    await tx.query('UPDATE users SET email = $2, email_verified = true, updated_at = now() WHERE id = $1', [user.id, row.email]);
    // Links sent to the old address (reset, sign-in, verification) stop working.
    await revokeEmailTokens(tx, user.id, ['password_reset', 'email_verification', 'passwordless_link', 'passwordless_code', 'email_change'], 'email_changed');
    await enqueueMail(tx, gh.sealer, tenant, { to: user.email, template: 'email_changed', data: { newEmail: row.email }, locale: mailLocale(tenant, user.locale) });
    await recordAudit(tx, ctx, {
      action: 'email.changed',
      actorType: 'user',
      actorId: user.id,
      subjectId: user.id,
      risk: 'medium',
      details: { old_email: user.email, new_email: row.email },
    });
    return user.id;
  });
  gh.users.invalidate(tenant.id, userId);
}

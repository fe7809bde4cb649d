import { recordAudit, type AuditContext } from '../audit/audit.ts';
import { denyRevokedSessions } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { normalizeEmail, type UserRow } from '../identity/user.model.ts';
import { findUserById, setPasswordHash } from '../identity/user.queries.ts';
import { enqueueMail, mailLocale, notifyUser } from '../mail/outbox.ts';
import { isReused, recentHashes, rememberHash } from '../passwords/password-history.ts';
import { evaluatePassword, policyError } from '../passwords/password-policy.ts';
import { clearLoginThrottle } from '../protection/login-protection.ts';
import { revokeUserSessions } from '../session/session.queries.ts';
import { sha256 } from '../shared/crypto.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { checkEmailToken, consumeEmailToken, EMAIL_TOKEN_TTL, issueEmailToken, newEmailToken, revokeEmailTokens } from './email-tokens.ts';
import { flowLink } from './flow-link.ts';
import { guardMailRequest, withinMailBudget } from './mail-limits.ts';

/**
 * POST /auth/password/forgot. Always the same 202: a known address gets a reset link; an unknown, disabled or
 * over-budget one gets nothing, after the same statements (they write no rows) and the same rendering and sealing
 * work, so neither the answer nor its timing says which happened.
 */
export async function requestPasswordReset(gh: Gatehouse, tenant: ResolvedTenant, rawEmail: string, ctx: AuditContext, acceptLanguage?: string) {
  const email = normalizeEmail(rawEmail);
  await guardMailRequest(gh, tenant, ctx);
  const budget = await withinMailBudget(gh, tenant, 'reset', email);
  const token = newEmailToken();
  await withTenantTx(gh.db, tenant.id, async (tx) => {
    const user = (await tx.query<Pick<UserRow, 'id' | 'locale' | 'status'>>('SELECT id, locale, status FROM users WHERE email = $1', [email])).rows[0];
    const send = !!user && user.status !== 'disabled' && budget;
    await issueEmailToken(tx, { purpose: 'password_reset', email, userId: user?.id ?? null, tokenHash: sha256(token), supersede: ['password_reset'], issue: send });
    const minutes = EMAIL_TOKEN_TTL.password_reset / 60;
    const locale = mailLocale(tenant, user?.locale, acceptLanguage);
    await enqueueMail(tx, gh.sealer, tenant, { to: email, template: 'password_reset', data: { url: flowLink(tenant, 'reset-password', token), minutes }, locale }, send);
    await recordAudit(tx, ctx, {
      action: 'password.reset_requested',
      subjectId: user?.id ?? null,
      details: { email, sent: send, ...(send ? {} : { reason: !user ? 'unknown_email' : user.status === 'disabled' ? 'disabled' : 'over_budget' }) },
    });
  });
}

/**
 * POST /auth/password/reset. The token is checked first (without spending it), the new password against the
 * tenant policy and history, then one transaction spends the token, stores the hash, lifts a lockout, revokes
 * every session and records the audit event; the revoked sessions' access tokens are denied at once.
 */
export async function resetPassword(gh: Gatehouse, tenant: ResolvedTenant, input: { token: string; password: string }, ctx: AuditContext) {
  const settings = effectiveSettings(tenant);
  const { user, previous } = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const row = await checkEmailToken(tx, input.token, 'password_reset');
    const user = row.user_id ? await findUserById(tx, row.user_id) : undefined;
    if (!user || user.status === 'disabled' || user.email !== row.email) throw new AppError('EMAIL_TOKEN_INVALID');
    return { user, previous: await recentHashes(tx, user.id, user.password_hash, settings.password_history) };
  });
  const policy = evaluatePassword(input.password, settings, { email: user.email, name: user.name, tenantName: tenant.name, tenantSlug: tenant.slug });
  if (policy.ok && (await isReused(gh.hasher, previous, input.password))) {
    policy.violations.push({ code: 'PASSWORD_REUSED', message: `must differ from your last ${settings.password_history} passwords` });
  }
  if (policy.violations.length) throw policyError(policy.violations, 'password');
  const hash = await gh.hasher.hash(input.password);
  const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
    await consumeEmailToken(tx, input.token, 'password_reset');
    await rememberHash(tx, user.id, user.password_hash, settings.password_history);
    await setPasswordHash(tx, user.id, hash);
    // The link proved control of the address; a reset also lifts a lockout (the locked-out owner's way back in).
    await tx.query(
      `UPDATE users SET email_verified = true, status = CASE WHEN status = 'locked' THEN 'active' ELSE status END, locked_until = NULL WHERE id = $1`,
      [user.id],
    );
    await revokeEmailTokens(tx, user.id, ['password_reset', 'passwordless_link', 'passwordless_code'], 'password_reset');
    const ids = await revokeUserSessions(tx, user.id, 'password_reset');
    await recordAudit(tx, ctx, { action: 'password.reset', actorType: 'user', actorId: user.id, subjectId: user.id, risk: 'medium', details: { sessions_revoked: ids.length, unlocked: user.status === 'locked' } });
    await notifyUser(tx, gh, tenant, user.id, 'password_changed', {});
    return ids;
  });
  gh.users.invalidate(tenant.id, user.id);
  await denyRevokedSessions(gh, tenant, revoked);
  await clearLoginThrottle(gh, tenant, user);
}

import { recordAudit, type AuditContext } from '../audit/audit.ts';
import { denyRevokedSessions } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { isReused, recentHashes, rememberHash } from '../passwords/password-history.ts';
import { evaluatePassword, policyError } from '../passwords/password-policy.ts';
import { revokeSessions, revokeUserSessions } from '../session/session.queries.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import type { ProfilePatch, UserRow } from './user.model.ts';
import { findUserById, setPasswordHash, updateProfile } from './user.queries.ts';

/**
 * The signed-in user's own account changes, shared by the API (/me, bearer token) and the hosted account pages
 * (browser session). `who` is the user and the session making the change; step-up guards run before these.
 */
export interface Who {
  userId: string;
  sessionId: string;
}

export async function updateOwnProfile(gh: Gatehouse, tenant: ResolvedTenant, who: Who, patch: ProfilePatch, ctx: AuditContext): Promise<UserRow> {
  const user = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const u = await updateProfile(tx, who.userId, patch);
    if (!u) throw new AppError('TOKEN_REVOKED');
    await recordAudit(tx, ctx, { action: 'user.updated', subjectId: u.id, details: { fields: Object.keys(patch) } });
    return u;
  });
  gh.users.invalidate(tenant.id, user.id);
  return user;
}

/** Needs the current password; the new one meets the policy and history; every other session is signed out. */
export async function changeOwnPassword(gh: Gatehouse, tenant: ResolvedTenant, who: Who, input: { currentPassword: string; newPassword: string }, ctx: AuditContext): Promise<void> {
  const settings = effectiveSettings(tenant);
  const { user, previous } = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const user = await findUserById(tx, who.userId);
    return { user, previous: user ? await recentHashes(tx, user.id, user.password_hash, settings.password_history) : [] };
  });
  if (!user || user.status === 'disabled') throw new AppError('TOKEN_REVOKED');
  const ok = user.password_hash ? (await gh.hasher.verify(user.password_hash, input.currentPassword)).ok : false;
  if (!ok) throw new AppError('CURRENT_PASSWORD_INVALID', { details: [{ field: 'current_password', message: 'is wrong' }] });
  const policy = evaluatePassword(input.newPassword, settings, { email: user.email, name: user.name, tenantName: tenant.name, tenantSlug: tenant.slug });
  if (policy.ok && (await isReused(gh.hasher, previous, input.newPassword))) {
    policy.violations.push({ code: 'PASSWORD_REUSED', message: `must differ from your last ${settings.password_history} passwords` });
  }
  if (policy.violations.length) throw policyError(policy.violations, 'new_password');
  const hash = await gh.hasher.hash(input.newPassword);
  const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
    await rememberHash(tx, user.id, user.password_hash, settings.password_history);
    await setPasswordHash(tx, user.id, hash);
    const ids = await revokeUserSessions(tx, user.id, 'password_changed', who.sessionId);
    await recordAudit(tx, ctx, { action: 'password.changed', subjectId: user.id, risk: 'medium', details: { sessions_revoked: ids.length } });
    return ids;
  });
  gh.users.invalidate(tenant.id, user.id);
  await denyRevokedSessions(gh, tenant, revoked);
}

/** Signs out one of the user's own live sessions (someone else's or a gone one: SESSION_NOT_FOUND). */
export async function revokeOwnSession(gh: Gatehouse, tenant: ResolvedTenant, who: Who, sessionId: string, ctx: AuditContext): Promise<void> {
  const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const own = await tx.query('SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL', [sessionId, who.userId]);
    if (own.rows.length === 0) throw new AppError('SESSION_NOT_FOUND');
    const ids = await revokeSessions(tx, [sessionId], 'user_revoked');
    await recordAudit(tx, ctx, { action: 'session.revoked', subjectId: who.userId, details: { session_id: sessionId } });
    return ids;
  });
  await denyRevokedSessions(gh, tenant, revoked);
}

/** "Sign out everywhere else": every live session of the user but the current one. */
export async function revokeOtherSessions(gh: Gatehouse, tenant: ResolvedTenant, who: Who, ctx: AuditContext): Promise<number> {
  const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const ids = await revokeUserSessions(tx, who.userId, 'user_revoked_others', who.sessionId);
    await recordAudit(tx, ctx, { action: 'session.revoked_others', subjectId: who.userId, details: { session_id: who.sessionId, sessions_revoked: ids.length } });
    return ids;
  });
  await denyRevokedSessions(gh, tenant, revoked);
  return revoked.length;
}

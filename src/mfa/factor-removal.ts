import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { deleteCredential, listUserCredentials } from '../webauthn/webauthn.queries.ts';
import { notifyUserOfMfaChange } from './mfa-notify.ts';
import { loadMfaState } from './mfa-state.ts';
import { deleteBackupCodes, findActiveTotp, removeFactors } from './mfa.queries.ts';

/**
 * Removing one's own second factor, for the API (DELETE /me/mfa/...) and the hosted security page. `requireStepUp`
 * is the caller's recent-second-factor guard: removing a working factor needs it; dropping an unconfirmed TOTP
 * enrollment does not. With the last factor gone, backup codes (a lone factor then) go too; the owner is mailed.
 */
export async function removeOwnTotp(gh: Gatehouse, tenant: ResolvedTenant, userId: string, ctx: AuditContext, requireStepUp: () => Promise<void>): Promise<void> {
  if (await withTenantTx(gh.db, tenant.id, (tx) => findActiveTotp(tx, userId))) await requireStepUp();
  const removed = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const r = await removeFactors(tx, userId, 'totp');
    if (r.active === 0) return r;
    if ((await loadMfaState(tx, userId)).factors.length === 0) await deleteBackupCodes(tx, userId);
    await recordAudit(tx, ctx, { action: 'mfa.removed', subjectId: userId, risk: 'medium', details: { type: 'totp' } });
    return r;
  });
  if (removed.active + removed.pending === 0) throw new AppError('MFA_NOT_ENROLLED');
  if (removed.active > 0) await notifyUserOfMfaChange(gh, tenant, userId, 'mfa_removed', { type: 'totp' });
}

/** Someone else's or a removed passkey is simply not found. */
export async function removeOwnPasskey(gh: Gatehouse, tenant: ResolvedTenant, userId: string, credentialId: string, ctx: AuditContext, requireStepUp: () => Promise<void>): Promise<void> {
  const owned = await withTenantTx(gh.db, tenant.id, (tx) => listUserCredentials(tx, userId));
  if (!owned.some((c) => c.id === credentialId)) throw new AppError('WEBAUTHN_CREDENTIAL_NOT_FOUND');
  await requireStepUp();
  await withTenantTx(gh.db, tenant.id, async (tx) => {
    const r = await deleteCredential(tx, userId, credentialId);
    if (!r) throw new AppError('WEBAUTHN_CREDENTIAL_NOT_FOUND');
    if ((await loadMfaState(tx, userId)).factors.length === 0) await deleteBackupCodes(tx, userId);
    await recordAudit(tx, ctx, { action: 'webauthn.removed', subjectId: userId, risk: 'medium', details: { credential: r.id, name: r.name, aaguid: r.aaguid } });
  });
  await notifyUserOfMfaChange(gh, tenant, userId, 'mfa_removed', { type: 'webauthn' });
}

import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { hashBackupCode, newBackupCodes } from './backup-codes.ts';
import { assertMfaAttemptsLeft, countMfaFailure, resetMfaFailures } from './mfa-attempts.ts';
import { notifyUserOfMfaChange } from './mfa-notify.ts';
import { activateTotp, findActiveTotp, findPendingTotp, hasBackupCodes, putPendingTotp, replaceBackupCodes, totpSealContext, type FactorRow } from './mfa.queries.ts';
import { matchTotp, newTotpSecret, totpEnrollment, type TotpEnrollment } from './totp.ts';
import { claimTotpStep } from './verify-factor.ts';

/** A started enrollment must be confirmed with a code within this time. */
export const PENDING_ENROLLMENT_TTL = 600;

/**
 * Starts a TOTP enrollment: a new secret, sealed for this tenant and user, in a pending factor that only a correct
 * code activates. The secret is returned here and never again.
 */
export async function startTotpEnrollment(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  user: { id: string; email: string },
  ctx: AuditContext,
): Promise<TotpEnrollment & { expires_at: Date }> {
  const secret = newTotpSecret();
  const { expires_at } = await withTenantTx(gh.db, tenant.id, async (tx) => {
    if (await findActiveTotp(tx, user.id)) throw new AppError('MFA_ALREADY_ENROLLED');
    const pending = await putPendingTotp(tx, user.id, gh.sealer.seal(secret, totpSealContext(tenant.id, user.id)), PENDING_ENROLLMENT_TTL);
    await recordAudit(tx, ctx, { action: 'mfa.enrollment_started', subjectId: user.id, details: { type: 'totp' } });
    return pending;
  });
  return { ...(await totpEnrollment(secret, tenant.name, user.email)), expires_at };
}

/**
 * The live pending enrollment shown again (its sealed secret opened), so a page shown twice keeps the QR code the
 * user may already have scanned; undefined when there is none or it has expired. No new secret, no audit entry.
 */
export async function resumeTotpEnrollment(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  user: { id: string; email: string },
): Promise<TotpEnrollment | undefined> {
  const pending = await withTenantTx(gh.db, tenant.id, async (tx) => ((await findActiveTotp(tx, user.id)) ? undefined : findPendingTotp(tx, user.id)));
  if (!pending) return undefined;
  return totpEnrollment(gh.sealer.open(pending.secret_enc, totpSealContext(tenant.id, user.id)), tenant.name, user.email);
}

/**
 * Confirms the pending enrollment with a code from the app: the factor becomes active and, when the user had no
 * backup codes yet, ten are issued and returned (once). A wrong code counts against the MFA attempt limit.
 */
export async function confirmTotpEnrollment(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  userId: string,
  code: string,
  ctx: AuditContext,
): Promise<{ factor: FactorRow; backup_codes?: string[] }> {
  await assertMfaAttemptsLeft(gh, tenant, userId, ctx);
  const out = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const pending = await findPendingTotp(tx, userId);
    if (!pending) throw new AppError('MFA_ENROLLMENT_NOT_FOUND');
    if (await findActiveTotp(tx, userId)) throw new AppError('MFA_ALREADY_ENROLLED');
    const step = matchTotp(gh.sealer.open(pending.secret_enc, totpSealContext(tenant.id, userId)), code);
    if (step === null || !(await claimTotpStep(gh, tenant.id, userId, step))) return { failed: true as const };
    const factor = await activateTotp(tx, pending.id, step);
    let backupCodes: string[] | undefined;
    if (!(await hasBackupCodes(tx, userId))) {
      backupCodes = newBackupCodes();
      await replaceBackupCodes(tx, userId, backupCodes.map((c) => hashBackupCode(userId, c)));
    }
    await recordAudit(tx, ctx, {
      action: 'mfa.enrolled',
      subjectId: userId,
      risk: 'medium',
      details: { type: 'totp', factor_id: factor.id, backup_codes_issued: backupCodes?.length ?? 0 },
    });
    return { factor, ...(backupCodes ? { backup_codes: backupCodes } : {}) };
  });
  if ('failed' in out) {
    await countMfaFailure(gh, tenant, userId);
    await withTenantTx(gh.db, tenant.id, (tx) =>
      recordAudit(tx, ctx, { action: 'mfa.failed', subjectId: userId, risk: 'medium', details: { method: 'totp', reason: 'wrong_code', purpose: 'enrollment' } }),
    );
    throw new AppError('MFA_CODE_INVALID');
  }
  await resetMfaFailures(gh, tenant, userId);
  await notifyUserOfMfaChange(gh, tenant, userId, 'mfa_enabled', { type: 'totp' });
  return out;
}

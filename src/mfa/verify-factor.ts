import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { hashBackupCode } from './backup-codes.ts';
import { assertMfaAttemptsLeft, countMfaFailure, resetMfaFailures } from './mfa-attempts.ts';
import { notifyUserOfMfaChange } from './mfa-notify.ts';
import { findActiveTotp, recordTotpUse, totpSealContext, useBackupCode } from './mfa.queries.ts';
import { matchTotp, TOTP_PERIOD, TOTP_WINDOW } from './totp.ts';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { verifyAssertionForUser } from '../webauthn/index.ts';

/** A passkey / security-key assertion answering options from the factor's own options endpoint. */
export interface WebauthnFactorInput {
  challenge_id: string;
  response: AuthenticationResponseJSON;
}

/** What the user presents as a second factor: a code from their app, one of their backup codes, or a passkey. */
export type FactorInput =
  | { code: string; backup_code?: undefined; webauthn?: undefined }
  | { backup_code: string; code?: undefined; webauthn?: undefined }
  | { webauthn: WebauthnFactorInput; code?: undefined; backup_code?: undefined };

export interface VerifiedFactor {
  /** RFC 8176 value for the session's amr: 'otp' for app and backup codes, 'hwk' / 'swk' for a passkey. */
  amr: string;
  method: 'totp' | 'backup_code' | 'webauthn';
  backupCodesRemaining?: number;
}

/** Long enough that a code is remembered for as long as any node could still accept it (the ±1 window, plus a step). */
const USED_CODE_TTL = (2 * TOTP_WINDOW + 2) * TOTP_PERIOD;

export const usedTotpKey = (tenantId: string, userId: string, step: number) => `totp-used:${tenantId}:${userId}:${step}`;

/**
 * Claims a TOTP time step for a user across nodes: the first caller wins, any later one (a replay, or a race with
 * the same code) loses. The database's monotonic step (recordTotpUse, in the same transaction as the use) is the
 * second line, and the only one while the key-value store is unreachable.
 */
export async function claimTotpStep(gh: Gatehouse, tenantId: string, userId: string, step: number): Promise<boolean> {
  try {
    return await gh.kv.setIfAbsent(usedTotpKey(tenantId, userId, step), '1', USED_CODE_TTL);
  } catch (err) {
    gh.logger.warn({ err }, 'key-value store unavailable; TOTP replay protection rests on the database alone');
    return true;
  }
}

/**
 * Verifies a second factor of a user: the attempt limit first, then the code. A wrong, replayed or unknown code is
 * an `mfa.failed` event, counts against the limit and answers MFA_CODE_INVALID (one answer for every reason). The
 * use of a factor and its audit event commit together.
 */
export async function verifyFactor(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  userId: string,
  input: FactorInput,
  ctx: AuditContext,
  purpose: 'login' | 'step_up',
): Promise<VerifiedFactor> {
  await assertMfaAttemptsLeft(gh, tenant, userId, ctx);
  if (input.webauthn !== undefined) return verifyPasskeyFactor(gh, tenant, userId, input.webauthn, ctx);
  const verified = await withTenantTx(gh.db, tenant.id, async (tx): Promise<VerifiedFactor | { failed: string }> => {
    if (input.backup_code !== undefined) {
      const remaining = await useBackupCode(tx, userId, hashBackupCode(userId, input.backup_code));
      if (remaining === null) return { failed: 'backup_code' };
      await recordAudit(tx, ctx, {
        action: 'mfa.backup_code_used',
        actorId: userId,
        actorType: 'user',
        subjectId: userId,
        risk: 'medium',
        details: { purpose, remaining },
      });
      return { amr: 'otp', method: 'backup_code', backupCodesRemaining: remaining };
    }
    const factor = await findActiveTotp(tx, userId);
    if (!factor) return { failed: 'no_totp' };
    const step = matchTotp(gh.sealer.open(factor.secret_enc, totpSealContext(tenant.id, userId)), input.code);
    if (step === null) return { failed: 'wrong_code' };
    if (!(await claimTotpStep(gh, tenant.id, userId, step)) || !(await recordTotpUse(tx, factor.id, step))) return { failed: 'replayed_code' };
    await recordAudit(tx, ctx, { action: 'mfa.verified', actorId: userId, actorType: 'user', subjectId: userId, details: { method: 'totp', purpose } });
    return { amr: 'otp', method: 'totp' };
  });
  if ('failed' in verified) {
    await countMfaFailure(gh, tenant, userId);
    await withTenantTx(gh.db, tenant.id, (tx) =>
      recordAudit(tx, ctx, {
        action: 'mfa.failed',
        subjectId: userId,
        risk: 'medium',
        details: { method: input.backup_code !== undefined ? 'backup_code' : 'totp', reason: verified.failed, purpose },
      }),
    );
    throw new AppError('MFA_CODE_INVALID');
  }
  await resetMfaFailures(gh, tenant, userId);
  if (verified.method === 'backup_code') {
    await notifyUserOfMfaChange(gh, tenant, userId, 'backup_code_used', { remaining: verified.backupCodesRemaining });
  }
  return verified;
}

/**
 * A passkey as the second factor: the assertion module checks the ceremony, signature and counter and audits what
 * it finds; a refused assertion also counts against the same per-user attempt limit as a wrong code.
 */
async function verifyPasskeyFactor(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  userId: string,
  input: WebauthnFactorInput,
  ctx: AuditContext,
): Promise<VerifiedFactor> {
  try {
    const passkey = await verifyAssertionForUser(gh, tenant, userId, input.challenge_id, input.response, ctx);
    await resetMfaFailures(gh, tenant, userId);
    return { amr: passkey.amr[0]!, method: 'webauthn' };
  } catch (err) {
    if (err instanceof AppError && err.code === 'WEBAUTHN_AUTHENTICATION_FAILED') await countMfaFailure(gh, tenant, userId);
    throw err;
  }
}

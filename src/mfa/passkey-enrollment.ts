import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import type { UserRow } from '../identity/user.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { registerCredential, registrationOptions } from '../webauthn/registration.service.ts';
import type { PublicWebauthnCredential } from '../webauthn/webauthn.model.ts';
import { hashBackupCode, newBackupCodes } from './backup-codes.ts';
import { assertMfaAttemptsLeft, countMfaFailure, resetMfaFailures } from './mfa-attempts.ts';
import { notifyUserOfMfaChange } from './mfa-notify.ts';
import { discardPendingTotp, hasBackupCodes, replaceBackupCodes } from './mfa.queries.ts';

/*
 * A passkey or security key as the factor a user enrolls (the counterpart of totp-enrollment.ts): the WebAuthn
 * registration service does the ceremony (challenge kept server-side and taken once, RP ID and origins, no
 * attestation); this adds what enrolling a factor means: the MFA attempt limit, backup codes when the user has none
 * (as the authenticator app's first confirmation issues them), `mfa.enrolled` and the end of any unconfirmed
 * authenticator-app setup in the credential's transaction, and the owner's notice.
 */

/** Creation options for the user's new passkey; `binding` ties the ceremony to its enrollment (see saveRegistration). */
export async function startPasskeyEnrollment(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  user: UserRow,
  binding: string,
  ctx: AuditContext | undefined,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const options = await registrationOptions(gh, tenant, user, binding);
  if (ctx) {
    await withTenantTx(gh.db, tenant.id, (tx) => recordAudit(tx, ctx, { action: 'mfa.enrollment_started', subjectId: user.id, details: { type: 'webauthn' } }));
  }
  return options;
}

/**
 * Registers the authenticator's response as the user's factor. A response that does not verify (wrong origin or
 * RP, bad signature) or answers no live ceremony of this enrollment (unknown, used, another's) is an `mfa.failed`
 * event and counts against the MFA attempt limit, as a wrong code does; it answers the registration's own code.
 */
export async function confirmPasskeyEnrollment(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  user: UserRow,
  input: { response: RegistrationResponseJSON; name?: string | undefined },
  binding: string,
  ctx: AuditContext,
): Promise<{ credential: PublicWebauthnCredential; backup_codes?: string[] }> {
  await assertMfaAttemptsLeft(gh, tenant, user.id, ctx);
  let registered: { credential: PublicWebauthnCredential; extra: string[] | undefined };
  try {
    registered = await registerCredential(gh, tenant, user, input, ctx, {
      binding,
      within: async (tx, row) => {
        // The enrollment page drew an authenticator-app setup beside "use a passkey": the passkey chosen, that
        // unconfirmed secret goes with the same commit rather than staying confirmable until it expires.
        await discardPendingTotp(tx, user.id);
        let backupCodes: string[] | undefined;
        if (!(await hasBackupCodes(tx, user.id))) {
          backupCodes = newBackupCodes();
          await replaceBackupCodes(tx, user.id, backupCodes.map((c) => hashBackupCode(user.id, c)));
        }
        await recordAudit(tx, ctx, {
          action: 'mfa.enrolled',
          subjectId: user.id,
          risk: 'medium',
          details: { type: 'webauthn', credential: row.id, device_type: row.device_type, backup_codes_issued: backupCodes?.length ?? 0 },
        });
        return backupCodes;
      },
    });
  } catch (err) {
    const reason = !(err instanceof AppError) ? undefined : err.code === 'WEBAUTHN_VERIFICATION_FAILED' ? 'registration_invalid' : err.code === 'WEBAUTHN_CHALLENGE_INVALID' ? 'challenge_invalid' : undefined;
    if (reason) {
      await countMfaFailure(gh, tenant, user.id);
      await withTenantTx(gh.db, tenant.id, (tx) =>
        recordAudit(tx, ctx, { action: 'mfa.failed', subjectId: user.id, risk: 'medium', details: { method: 'webauthn', reason, purpose: 'enrollment' } }),
      );
    }
    throw err;
  }
  await resetMfaFailures(gh, tenant, user.id);
  await notifyUserOfMfaChange(gh, tenant, user.id, 'mfa_enabled', { type: 'webauthn' });
  return { credential: registered.credential, ...(registered.extra ? { backup_codes: registered.extra } : {}) };
}

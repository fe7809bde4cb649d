import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { AuditContext } from '../audit/audit.ts';
import type { ClientInfo, TokenResponse } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { findUserById } from '../identity/user.queries.ts';
import { sha256 } from '../shared/crypto.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { amrFor } from '../webauthn/webauthn.model.ts';
import { completeMfaChallenge, consumeMfaChallenge, readMfaChallenge, type MfaChallenge } from './mfa-challenge.ts';
import { confirmPasskeyEnrollment, startPasskeyEnrollment } from './passkey-enrollment.ts';
import { confirmTotpEnrollment, resumeTotpEnrollment, startTotpEnrollment } from './totp-enrollment.ts';
import type { TotpEnrollment } from './totp.ts';

/*
 * Enrollment as the second step of a sign-in (tenant policy, grace over): the enrollment-only challenge of
 * mfaStepAfterPassword / registerThenEnroll sets up an authenticator app and, once a code confirms it, opens the
 * session (aal 2, amr + otp); or registers a passkey / security key and opens it with the amr a passkey second step
 * gives (hwk / swk). One path for every caller: the JSON API (POST /auth/mfa/enroll/totp[/verify],
 * /auth/mfa/enroll/webauthn/{options,verify}), the OAuth interaction and the hosted /login pages.
 */

/** The enrollment challenge's user, who must still exist. */
async function challengeUser(gh: Gatehouse, tenant: ResolvedTenant, challenge: MfaChallenge) {
  const user = await withTenantTx(gh.db, tenant.id, (tx) => findUserById(tx, challenge.userId));
  if (!user) throw new AppError('MFA_TOKEN_INVALID');
  return user;
}

/** A passkey ceremony of an enrollment answers that enrollment only: bound to (a digest of) its mfa_token. */
const ceremonyBinding = (mfaToken: string) => sha256(`mfa-enroll:${mfaToken}`);

/**
 * The authenticator-app setup for the user of an enrollment challenge. `start` always begins afresh (the API);
 * `resume` shows the live pending setup again when there is one (a page reloaded, or a wrong code: the QR code the
 * user may already have scanned stays valid), else begins one.
 */
export async function challengeTotpEnrollment(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  mfaToken: string,
  ctx: AuditContext,
  mode: 'start' | 'resume',
): Promise<TotpEnrollment & { expires_at?: Date }> {
  const user = await challengeUser(gh, tenant, await readMfaChallenge(gh, tenant, mfaToken, 'enroll'));
  if (mode === 'resume') {
    const pending = await resumeTotpEnrollment(gh, tenant, user);
    if (pending) return pending;
  }
  return startTotpEnrollment(gh, tenant, user, { ...ctx, actorType: 'user', actorId: user.id });
}

/**
 * Confirms the setup with a code from the app, uses the challenge up and opens the session. The backup codes (when
 * this issued them) are returned once. A wrong code leaves the challenge usable (it counts against the MFA attempts).
 */
export async function confirmChallengeTotpEnrollment(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  mfaToken: string,
  code: string,
  ctx: AuditContext,
  client: ClientInfo,
): Promise<{ tokens: TokenResponse; backup_codes?: string[] }> {
  const challenge = await readMfaChallenge(gh, tenant, mfaToken, 'enroll');
  const userCtx = { ...ctx, actorType: 'user' as const, actorId: challenge.userId };
  const enrolled = await confirmTotpEnrollment(gh, tenant, challenge.userId, code, userCtx);
  await consumeMfaChallenge(gh, tenant, mfaToken);
  const tokens = await completeMfaChallenge(gh, tenant, challenge, 'otp', 'totp', userCtx, client);
  return { tokens, ...(enrolled.backup_codes ? { backup_codes: enrolled.backup_codes } : {}) };
}

/**
 * Creation options for a passkey or security key as the enrolled factor. `start` (the API) records
 * mfa.enrollment_started; `page` (a hosted enrollment page drawn, perhaps again) does not, as resuming the app setup
 * does not: the page's own setup already did.
 */
export async function challengePasskeyEnrollment(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  mfaToken: string,
  ctx: AuditContext,
  mode: 'start' | 'page',
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const user = await challengeUser(gh, tenant, await readMfaChallenge(gh, tenant, mfaToken, 'enroll'));
  return startPasskeyEnrollment(gh, tenant, user, ceremonyBinding(mfaToken), mode === 'start' ? { ...ctx, actorType: 'user', actorId: user.id } : undefined);
}

/**
 * Registers the passkey, uses the challenge up and opens the session, as confirmChallengeTotpEnrollment does: aal 2,
 * amr = the first factor + hwk / swk (what the passkey proves, as at a passkey second step), the backup codes once.
 * A refused response leaves the challenge usable (it counts against the MFA attempts); options are needed again.
 */
export async function confirmChallengePasskeyEnrollment(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  mfaToken: string,
  input: { response: RegistrationResponseJSON; name?: string | undefined },
  ctx: AuditContext,
  client: ClientInfo,
): Promise<{ tokens: TokenResponse; backup_codes?: string[] }> {
  const challenge = await readMfaChallenge(gh, tenant, mfaToken, 'enroll');
  const user = await challengeUser(gh, tenant, challenge);
  const userCtx = { ...ctx, actorType: 'user' as const, actorId: user.id };
  const enrolled = await confirmPasskeyEnrollment(gh, tenant, user, input, ceremonyBinding(mfaToken), userCtx);
  await consumeMfaChallenge(gh, tenant, mfaToken);
  const tokens = await completeMfaChallenge(gh, tenant, challenge, amrFor(enrolled.credential.device_type), 'webauthn', userCtx, client);
  return { tokens, ...(enrolled.backup_codes ? { backup_codes: enrolled.backup_codes } : {}) };
}

import type { AuditContext } from '../audit/audit.ts';
import type { ClientInfo, TokenResponse } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { findUserById } from '../identity/user.queries.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { completeMfaChallenge, consumeMfaChallenge, readMfaChallenge } from './mfa-challenge.ts';
import { confirmTotpEnrollment, resumeTotpEnrollment, startTotpEnrollment } from './totp-enrollment.ts';
import type { TotpEnrollment } from './totp.ts';

/*
 * Enrollment as the second step of a sign-in (tenant policy, grace over): the enrollment-only challenge of
 * mfaStepAfterPassword / registerThenEnroll sets up an authenticator app and, once a code confirms it, opens the
 * session (aal 2, amr + otp). One path for every caller: the JSON API (POST /auth/mfa/enroll/totp[/verify]), the OAuth
 * interaction and the hosted /login pages.
 */

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
  const challenge = await readMfaChallenge(gh, tenant, mfaToken, 'enroll');
  const user = await withTenantTx(gh.db, tenant.id, (tx) => findUserById(tx, challenge.userId));
  if (!user) throw new AppError('MFA_TOKEN_INVALID');
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

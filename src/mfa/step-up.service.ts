import { recordAudit, type AuditContext } from '../audit/audit.ts';
import { tokenResponse, type TokenResponse } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { findUserById } from '../identity/user.queries.ts';
import type { SessionRow } from '../session/session.queries.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import type { AccessClaims } from '../tokens/access-token.ts';
import { loadMfaState } from './mfa-state.ts';
import { verifyFactor, type FactorInput } from './verify-factor.ts';

export type StepUpResponse = Omit<TokenResponse, 'refresh_token'>;

/** POST /auth/step-up with a code or a backup code. */
export async function stepUp(gh: Gatehouse, tenant: ResolvedTenant, claims: AccessClaims, input: FactorInput, ctx: AuditContext): Promise<StepUpResponse> {
  const state = await withTenantTx(gh.db, tenant.id, (tx) => loadMfaState(tx, claims.sub));
  if (state.factors.length === 0) throw new AppError('MFA_REQUIRED');
  const factor = await verifyFactor(gh, tenant, claims.sub, input, ctx, 'step_up');
  return raiseSessionToAal2(gh, tenant, claims, factor.amr, factor.method, ctx);
}

/**
 * Raises the caller's session to aal2 once a second factor has been verified (any factor: `factorAmr` is its RFC 8176
 * value, 'otp' here, 'hwk'/'swk' for WebAuthn): the session row takes the amr, aal 2 and the time (aal2_at) that
 * step-up guards read. The session and its refresh token go on; a new access token says aal 2.
 */
export async function raiseSessionToAal2(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  claims: AccessClaims,
  factorAmr: string,
  method: string,
  ctx: AuditContext,
): Promise<StepUpResponse> {
  const { user, session } = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const session = (
      await tx.query<Pick<SessionRow, 'id' | 'amr' | 'aal'>>(
        `UPDATE sessions SET aal = greatest(aal, 2), aal2_at = $4::timestamptz, last_active_at = now(),
           amr = CASE WHEN $3 = ANY (amr) THEN amr ELSE amr || $3::text END
         WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING id, amr, aal`,
        // Application time: the step-up guard compares it with the application's clock.
        [claims.sid, claims.sub, factorAmr, new Date()],
      )
    ).rows[0];
    if (!session) throw new AppError('TOKEN_REVOKED');
    const user = await findUserById(tx, claims.sub);
    if (!user || user.status === 'disabled') throw new AppError('TOKEN_REVOKED');
    await recordAudit(tx, ctx, { action: 'mfa.step_up', subjectId: user.id, details: { session_id: session.id, method } });
    return { user, session };
  });
  const { refresh_token: _none, ...response } = await tokenResponse(gh, tenant, user, session, '');
  return response;
}

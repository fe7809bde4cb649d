import type { FastifyRequest } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { authenticate } from '../http/request-context.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { AccessClaims } from '../tokens/access-token.ts';
import { activeFactorTypesSql } from './mfa-state.ts';

interface SessionAal {
  aal: number;
  aal2_at: Date | null;
  has_factor: boolean;
}

async function sessionAal(gh: Gatehouse, tenantId: string, claims: AccessClaims): Promise<SessionAal> {
  const r = await withTenantTx(gh.db, tenantId, (tx) =>
    tx.query<SessionAal>(
      `SELECT s.aal, s.aal2_at, EXISTS (${activeFactorTypesSql('$2::uuid')}) AS has_factor
       FROM sessions s WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL`,
      [claims.sid, claims.sub],
    ),
  );
  const row = r.rows[0];
  if (!row) throw new AppError('TOKEN_REVOKED');
  return row;
}

/** RFC 9470: what the client must do to satisfy the resource. */
function stepUpError(maxAge: number): AppError {
  return new AppError('STEP_UP_REQUIRED', {
    headers: { 'www-authenticate': `Bearer error="insufficient_user_authentication", error_description="A recent second factor is required", max_age=${maxAge}` },
  });
}

/**
 * The guard for sensitive operations: the session must have passed a second factor (login with MFA or
 * POST /auth/step-up) within `maxAgeSeconds` (default: the tenant's mfa_step_up_max_age). 403 STEP_UP_REQUIRED when
 * it has not, 403 MFA_REQUIRED when the user has no factor to step up with. The time is read from the session row,
 * so an access token issued before a step-up still counts it.
 */
export async function requireRecentAal2(gh: Gatehouse, request: FastifyRequest, maxAgeSeconds?: number): Promise<void> {
  const claims = request.auth ?? (await authenticate(gh, request));
  const maxAge = maxAgeSeconds ?? effectiveSettings(request.tenant!).mfa_step_up_max_age;
  const s = await sessionAal(gh, request.tenant!.id, claims);
  if (!s.has_factor) throw new AppError('MFA_REQUIRED');
  if (!isRecent(s, maxAge)) throw stepUpError(maxAge);
}

/** The same guard for operations open to users without MFA (changing the password): it applies once they have it. */
export async function requireRecentAal2IfEnrolled(gh: Gatehouse, request: FastifyRequest, maxAgeSeconds?: number): Promise<void> {
  const claims = request.auth ?? (await authenticate(gh, request));
  const maxAge = maxAgeSeconds ?? effectiveSettings(request.tenant!).mfa_step_up_max_age;
  const s = await sessionAal(gh, request.tenant!.id, claims);
  if (s.has_factor && !isRecent(s, maxAge)) throw stepUpError(maxAge);
}

/** Admin mutations, when the tenant's `mfa_admin_step_up` says so. */
export async function requireAdminStepUp(gh: Gatehouse, request: FastifyRequest): Promise<void> {
  if (effectiveSettings(request.tenant!).mfa_admin_step_up) await requireRecentAal2(gh, request);
}

function isRecent(s: SessionAal, maxAgeSeconds: number): boolean {
  return s.aal >= 2 && s.aal2_at !== null && Date.now() - new Date(s.aal2_at).getTime() <= maxAgeSeconds * 1000;
}

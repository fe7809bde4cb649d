import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { ClientInfo } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx, type TenantDb } from '../db/tenant-tx.ts';
import type { UserRow } from '../identity/user.model.ts';
import { insertUserChecked } from '../identity/user.service.ts';
import { currentSignals, type CurrentSignals } from '../risk/login-risk.ts';
import { effectiveSettings, type TenantSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { createMfaChallenge, ENROLL_CHALLENGE_TTL, LOGIN_CHALLENGE_TTL } from './mfa-challenge.ts';
import { enrollmentOutcome, type EnrollmentOutcome } from './mfa-policy.ts';
import { loginFactors, type LoginFactor, type LoginMfaState } from './mfa-state.ts';

/** The answer to a correct password when a second step is needed: no tokens, no session. */
export interface MfaChallengeResponse {
  mfa_required: true;
  mfa_token: string;
  expires_in: number;
  /** How the sign-in can be completed; empty when a factor must first be enrolled. */
  factors: LoginFactor[];
  /** Set when the tenant's policy requires a factor the user has not enrolled and the grace period is over. */
  mfa_enrollment_required?: true;
}

export type MfaStep =
  | { kind: 'challenge'; response: MfaChallengeResponse }
  | { kind: 'session'; enrollmentDeadline?: Date };

/**
 * After the password and every other check of a login have passed: decides whether the sign-in ends with a session
 * (perhaps told to enroll) or with an MFA challenge (a factor to verify, or one to enroll first).
 */
export async function mfaStepAfterPassword(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  user: UserRow,
  state: LoginMfaState,
  pending: { details: Record<string, unknown>; signals: CurrentSignals; newHash: string | undefined; firstFactor?: string[] },
  ctx: AuditContext,
): Promise<MfaStep> {
  const settings = effectiveSettings(tenant);
  const policy = enrollmentOutcome(settings, user.role, state);
  const factors = loginFactors(state);
  if (state.factors.length === 0 && policy.kind === 'none') return { kind: 'session' };
  if (policy.kind === 'grace') {
    if (policy.startGrace) {
      await withTenantTx(gh.db, tenant.id, (tx) => startMfaGrace(tx, user.id));
    }
    return { kind: 'session', enrollmentDeadline: policy.deadline };
  }
  const enroll = policy.kind === 'enroll';
  const challenge = await createMfaChallenge(
    gh,
    { tenantId: tenant.id, userId: user.id, purpose: enroll ? 'enroll' : 'login', amr: pending.firstFactor ?? ['pwd'], details: pending.details, signals: pending.signals },
    enroll ? ENROLL_CHALLENGE_TTL : LOGIN_CHALLENGE_TTL,
  );
  await withTenantTx(gh.db, tenant.id, async (tx) => {
    // The password was right: an outdated hash is upgraded now, whatever becomes of the second step.
    if (pending.newHash) {
      await tx.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, pending.newHash]);
      await recordAudit(tx, ctx, { action: 'password.rehashed', actorType: 'user', actorId: user.id, subjectId: user.id });
    }
    await recordAudit(tx, ctx, {
      action: 'login.mfa_required',
      actorType: 'user',
      actorId: user.id,
      subjectId: user.id,
      details: { factors, enrollment_required: enroll, ...pending.details },
    });
  });
  return {
    kind: 'challenge',
    response: { mfa_required: true, ...challenge, factors: enroll ? [] : factors, ...(enroll ? { mfa_enrollment_required: true as const } : {}) },
  };
}

/** The policy for a self-registered account (role user, no factor yet): none, a grace period starting now, or enroll first. */
export function registrationMfaRule(settings: TenantSettings): EnrollmentOutcome {
  return enrollmentOutcome(settings, 'user', { factors: [], grace_started_at: null });
}

/** Application time, like every MFA deadline: the deadline told to the user is the one later enforced. */
export async function startMfaGrace(tx: TenantDb, userId: string): Promise<void> {
  await tx.query(`UPDATE users SET mfa_grace_started_at = $2 WHERE id = $1 AND mfa_grace_started_at IS NULL`, [userId, new Date()]);
}

/**
 * Registration when the tenant requires MFA with no grace period: the account is created, but instead of a session
 * the answer is an enrollment-only challenge, as a later sign-in would get.
 */
export async function registerThenEnroll(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  input: Parameters<typeof insertUserChecked>[2],
  ctx: AuditContext,
  client: ClientInfo,
): Promise<MfaChallengeResponse> {
  const user = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const user = await insertUserChecked(tx, tenant, input, { ctx, action: 'user.registered' });
    await startMfaGrace(tx, user.id);
    await recordAudit(tx, ctx, {
      action: 'login.mfa_required',
      actorType: 'user',
      actorId: user.id,
      subjectId: user.id,
      details: { factors: [], enrollment_required: true, registration: true },
    });
    return user;
  });
  gh.metrics.authAttempts.inc({ tenant: tenant.slug, result: 'mfa_required', method: 'register' });
  const challenge = await createMfaChallenge(
    gh,
    {
      tenantId: tenant.id,
      userId: user.id,
      purpose: 'enroll',
      amr: ['pwd'],
      details: { registration: true },
      signals: currentSignals(client.ip, client.userAgent, user.timezone),
    },
    ENROLL_CHALLENGE_TTL,
  );
  return { mfa_required: true, ...challenge, factors: [], mfa_enrollment_required: true };
}

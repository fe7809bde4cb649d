import type { Role } from '../rbac/roles.ts';
import type { TenantSettings } from '../tenancy/tenant.model.ts';
import type { LoginMfaState } from './mfa-state.ts';

/**
 * The tenant's MFA policy for one user without a factor:
 * - `none`: the policy does not apply (optional, or required_for_admins and not an admin);
 * - `grace`: sign in as usual, told to enroll by `deadline` (`startGrace`: this sign-in starts the grace period);
 * - `enroll`: the grace period is over (or 0): no session until a factor is enrolled.
 * The grace period runs from the first sign-in that told the user to enroll, so everyone gets all of it, whenever
 * the policy was turned on or their account created.
 */
export type EnrollmentOutcome = { kind: 'none' } | { kind: 'grace'; deadline: Date; startGrace: boolean } | { kind: 'enroll' };

export function mfaPolicyApplies(settings: Pick<TenantSettings, 'mfa_policy'>, role: Role): boolean {
  return settings.mfa_policy === 'required' || (settings.mfa_policy === 'required_for_admins' && role === 'admin');
}

export function enrollmentOutcome(
  settings: Pick<TenantSettings, 'mfa_policy' | 'mfa_grace_period'>,
  role: Role,
  state: Pick<LoginMfaState, 'factors' | 'grace_started_at'>,
  now = Date.now(),
): EnrollmentOutcome {
  if (state.factors.length > 0 || !mfaPolicyApplies(settings, role)) return { kind: 'none' };
  if (settings.mfa_grace_period <= 0) return { kind: 'enroll' };
  const started = state.grace_started_at ? new Date(state.grace_started_at).getTime() : now;
  const deadline = started + settings.mfa_grace_period * 1000;
  return now < deadline ? { kind: 'grace', deadline: new Date(deadline), startGrace: !state.grace_started_at } : { kind: 'enroll' };
}

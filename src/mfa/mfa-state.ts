import type { TenantDb } from '../db/tenant-tx.ts';

/** Second factors a sign-in can be completed with, as listed in `factors` of the MFA-required answer. */
export type LoginFactor = 'totp' | 'backup_code' | 'webauthn';

/**
 * The user's active factor types, as SQL over a user id expression (one place that knows every factor table):
 * authenticator apps, and passkeys / security keys (a registered one is a second factor as well as a way in).
 */
export function activeFactorTypesSql(userId: string): string {
  return `SELECT type FROM mfa_factors WHERE user_id = ${userId} AND status = 'active'
    UNION SELECT 'webauthn' FROM webauthn_credentials WHERE user_id = ${userId}`;
}

/** What the login needs to know about a user's MFA, in the login lookup's one round trip. */
export function loginMfaStateSql(userId: string): string {
  return `SELECT array(${activeFactorTypesSql(userId)}) AS factors,
    EXISTS (SELECT 1 FROM mfa_backup_codes WHERE user_id = ${userId} AND used_at IS NULL) AS backup_codes,
    (SELECT mfa_grace_started_at FROM users WHERE id = ${userId}) AS grace_started_at`;
}

export interface LoginMfaState {
  factors: string[];
  backup_codes: boolean;
  grace_started_at: Date | null;
}

export async function loadMfaState(tx: TenantDb, userId: string): Promise<LoginMfaState> {
  const r = await tx.query<LoginMfaState>(loginMfaStateSql('$1::uuid'), [userId]);
  return r.rows[0] ?? { factors: [], backup_codes: false, grace_started_at: null };
}

/** The `factors` a client may offer: each active factor, and backup codes while any are left. */
export function loginFactors(state: LoginMfaState): LoginFactor[] {
  const out = [...state.factors].sort() as LoginFactor[];
  if (state.backup_codes) out.push('backup_code');
  return out;
}

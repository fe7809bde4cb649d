import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { loadMfaState, loginFactors } from '../mfa/mfa-state.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { secondFactorOptions, type AssertionOptions } from '../webauthn/index.ts';

/**
 * What a hosted second-step page offers the user of a challenge: the code field only when they have a factor that
 * takes a code (an authenticator app, backup codes left), "use a passkey" when they have one (a fresh ceremony each
 * time). A passkey-only user sees the passkey button alone. The factors are read as the page is drawn, the same
 * `factors` the MFA-required answer lists.
 */
export async function secondStepChoices(gh: Gatehouse, tenant: ResolvedTenant, userId: string): Promise<{ code: boolean; passkey?: AssertionOptions }> {
  const [state, passkey] = await Promise.all([withTenantTx(gh.db, tenant.id, (tx) => loadMfaState(tx, userId)), secondFactorOptions(gh, tenant, userId)]);
  const factors = loginFactors(state);
  // With neither (a factor removed meanwhile) the code field stays: the page must offer something to answer.
  const code = factors.includes('totp') || factors.includes('backup_code') || !passkey;
  return { code, ...(passkey ? { passkey } : {}) };
}

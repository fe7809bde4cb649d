import type { Gatehouse } from '../context.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';

export type MfaNotice = 'mfa_enabled' | 'mfa_removed' | 'mfa_reset_by_admin' | 'backup_code_used' | 'backup_codes_regenerated';

/**
 * MERGE POINT (user notification mail): every MFA change the account owner must hear about calls this after its
 * transaction has committed. Until the mail module is wired in, it only logs (ids and the event, never a secret).
 */
export async function notifyUserOfMfaChange(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  userId: string,
  notice: MfaNotice,
  details: Record<string, unknown> = {},
): Promise<void> {
  gh.logger.info({ tenant: tenant.slug, user_id: userId, notice, ...details }, 'mfa notice for the user (mail not wired yet)');
}

import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { notifyUser } from '../mail/outbox.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';

export type MfaNotice = 'mfa_enabled' | 'mfa_removed' | 'mfa_reset_by_admin' | 'backup_code_used' | 'backup_codes_regenerated';

/**
 * Every MFA change the account owner must hear about: mailed to them (through the outbox) after the change has
 * committed. A mail that cannot be queued is logged and does not undo the change: the audit trail already has it.
 */
export async function notifyUserOfMfaChange(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  userId: string,
  notice: MfaNotice,
  details: Record<string, unknown> = {},
): Promise<void> {
  try {
    await withTenantTx(gh.db, tenant.id, async (tx) => {
      if (notice === 'backup_code_used') {
        const remaining = typeof details.remaining === 'number' ? details.remaining : undefined;
        await notifyUser(tx, gh, tenant, userId, 'backup_code_used', remaining === undefined ? {} : { remaining });
      } else if (notice === 'mfa_reset_by_admin') {
        await notifyUser(tx, gh, tenant, userId, 'mfa_reset', {});
      } else {
        const change = notice === 'mfa_enabled' ? 'enabled' : notice === 'mfa_removed' ? 'removed' : 'backup_codes_regenerated';
        await notifyUser(tx, gh, tenant, userId, 'mfa_changed', { change });
      }
    });
  } catch (err) {
    gh.logger.error({ err, tenant: tenant.slug, user_id: userId, notice }, 'could not queue the MFA notice mail');
  }
}

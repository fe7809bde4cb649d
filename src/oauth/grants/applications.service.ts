import { recordAudit, type AuditContext } from '../../audit/audit.ts';
import { denyRevokedSessions } from '../../auth/auth.service.ts';
import type { Gatehouse } from '../../context.ts';
import { withTenantTx } from '../../db/tenant-tx.ts';
import { AppError } from '../../errors/app-error.ts';
import { revokeSessions } from '../../session/session.queries.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import { dropPendingCodes, forgetConsent, listApplications, liveGrantSessionIds, type ApplicationRow } from './applications.queries.ts';

/**
 * "Connected apps": the OAuth applications a user has let into the account, and taking that back. Shared by the API
 * (/me/applications, bearer token) and the hosted account page (browser session).
 */
export async function listOwnApplications(gh: Gatehouse, tenant: ResolvedTenant, userId: string): Promise<ApplicationRow[]> {
  return withTenantTx(gh.db, tenant.id, (tx) => listApplications(tx, userId));
}

/**
 * Removes an application's access: forgets the consent (the next authorization asks again, unless the client is
 * first-party), revokes every live grant session of the client for this user with its refresh tokens, and drops codes
 * not yet exchanged; one transaction with its audit event, then the sessions' access tokens are denylisted.
 * Nothing to remove (unknown client, another user's, already removed): APPLICATION_NOT_FOUND, the same answer for all.
 */
export async function revokeOwnApplication(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  userId: string,
  clientId: string,
  ctx: AuditContext,
): Promise<{ sessionsRevoked: number }> {
  const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const ids = await liveGrantSessionIds(tx, userId, clientId);
    const hadConsent = await forgetConsent(tx, userId, clientId);
    if (!hadConsent && ids.length === 0) throw new AppError('APPLICATION_NOT_FOUND');
    await dropPendingCodes(tx, userId, clientId);
    const done = await revokeSessions(tx, ids, 'application_revoked');
    await recordAudit(tx, ctx, { action: 'oauth.grant.revoked', subjectId: userId, details: { client_id: clientId, sessions: done.length } });
    return done;
  });
  await denyRevokedSessions(gh, tenant, revoked);
  return { sessionsRevoked: revoked.length };
}

import type { TenantDb } from '../../db/tenant-tx.ts';

/**
 * Housekeeping, not a sign-out: a browser that signs in again replaces its earlier hosted session, and the cap evicts
 * the oldest; the grants opened from such a session live on, so their applications owe the user no logout.
 */
const HOUSEKEEPING: ReadonlySet<string> = new Set(['replaced', 'evicted']);

/**
 * Queues the Back-Channel Logout owed for sessions just revoked (`ids`: those revoked by this very transaction), in
 * the caller's transaction, so a committed revocation always has its logouts and a rolled-back one none. The `sid`
 * is the one the client's ID tokens carried: the grant's browser session, or the grant itself without one.
 *
 * A client with a backchannel_logout_uri is owed one logout per sid when
 * - the browser session `sid` was signed out (not housekeeping) and the client held a live grant opened from it
 *   (offline grants included: the relying party's session ends, its offline refresh token lives on, OIDC
 *   Back-Channel Logout §2.7), or
 * - a live grant of the client ended and the client holds no other live grant with the same sid (a sign-in the
 *   client repeated in the same browser keeps the relying party's session alive).
 */
export async function queueBackchannelLogouts(tx: TenantDb, ids: readonly string[], reason: string): Promise<void> {
  if (ids.length === 0) return;
  await tx.query(
    `WITH ended AS (
       SELECT id, user_id, client_id, parent_session_id, idle_expires_at > now() AND absolute_expires_at > now() AS was_live
       FROM sessions WHERE id = ANY($1::uuid[])),
     owed AS (
       SELECT g.client_id, g.user_id, b.id AS sid
       FROM ended b JOIN sessions g ON g.parent_session_id = b.id
       WHERE $3::boolean AND b.client_id IS NULL AND g.client_id IS NOT NULL
         AND (g.revoked_at IS NULL OR g.id = ANY($1::uuid[])) AND g.idle_expires_at > now() AND g.absolute_expires_at > now()
       UNION
       SELECT g.client_id, g.user_id, coalesce(g.parent_session_id, g.id)
       FROM ended g
       WHERE g.client_id IS NOT NULL AND g.was_live AND (g.parent_session_id IS NULL OR NOT EXISTS (
         SELECT 1 FROM sessions o WHERE o.parent_session_id = g.parent_session_id AND o.client_id = g.client_id
           AND o.revoked_at IS NULL AND o.idle_expires_at > now() AND o.absolute_expires_at > now())))
     INSERT INTO backchannel_logouts (client_id, user_id, sid, reason)
     SELECT o.client_id, o.user_id, o.sid, $2 FROM owed o
       JOIN oauth_clients c ON c.client_id = o.client_id AND c.backchannel_logout_uri IS NOT NULL
     ON CONFLICT (tenant_id, client_id, sid) WHERE status = 'pending' DO NOTHING`,
    [ids, reason, !HOUSEKEEPING.has(reason)],
  );
}

import type { TenantDb } from '../../db/tenant-tx.ts';

/** One application the user has let in: remembered consent, live grant sessions, or both. */
export interface ApplicationRow {
  client_id: string;
  name: string;
  first_party: boolean;
  /** The scopes of the remembered consent first (in the order agreed), then those only live grants carry. */
  scopes: string[];
  granted_at: Date;
  last_used_at: Date | null;
  active_sessions: number;
}

/** A grant session that can still be used: the predicate /me/sessions and the token endpoint apply. */
const LIVE = `s.revoked_at IS NULL AND s.idle_expires_at > now() AND s.absolute_expires_at > now()`;

/**
 * The user's applications: each client with a consent row or a live grant session (a first-party client is never
 * asked for consent, so it shows through its sessions only). The name comes from the client; a client deleted since
 * keeps its id as its name (its sessions were revoked with it, so this only covers a race).
 */
export async function listApplications(tx: TenantDb, userId: string): Promise<ApplicationRow[]> {
  const rows = (
    await tx.query<Omit<ApplicationRow, 'scopes'> & { consent_scopes: string[] | null; session_scopes: string[] | null }>(
      `WITH grants AS (
         SELECT s.client_id,
           count(DISTINCT s.id) FILTER (WHERE ${LIVE})::int AS active_sessions,
           min(s.created_at) FILTER (WHERE ${LIVE}) AS first_at,
           max(s.last_active_at) AS last_used_at,
           array_agg(DISTINCT sc) FILTER (WHERE ${LIVE} AND sc IS NOT NULL) AS session_scopes
         FROM sessions s LEFT JOIN LATERAL unnest(s.scopes) sc ON true
         WHERE s.user_id = $1 AND s.client_id IS NOT NULL AND s.revoked_at IS NULL
         GROUP BY s.client_id
       ),
       consent AS (SELECT client_id, scopes, created_at FROM oauth_grants WHERE user_id = $1)
       SELECT coalesce(c.client_id, g.client_id) AS client_id,
         coalesce(oc.name, c.client_id, g.client_id) AS name,
         coalesce(oc.first_party, false) AS first_party,
         c.scopes AS consent_scopes,
         g.session_scopes,
         least(c.created_at, g.first_at) AS granted_at,
         g.last_used_at,
         coalesce(g.active_sessions, 0) AS active_sessions
       FROM consent c
       FULL JOIN grants g ON g.client_id = c.client_id
       LEFT JOIN oauth_clients oc ON oc.client_id = coalesce(c.client_id, g.client_id)
       WHERE c.client_id IS NOT NULL OR g.active_sessions > 0
       ORDER BY g.last_used_at DESC NULLS LAST, name, client_id`,
      [userId],
    )
  ).rows;
  return rows.map(({ consent_scopes, session_scopes, ...r }) => {
    const scopes = [...(consent_scopes ?? [])];
    for (const s of (session_scopes ?? []).sort()) if (!scopes.includes(s)) scopes.push(s);
    return { ...r, scopes };
  });
}

/** Forgets the user's consent to the client; whether there was one. */
export async function forgetConsent(tx: TenantDb, userId: string, clientId: string): Promise<boolean> {
  return ((await tx.query(`DELETE FROM oauth_grants WHERE user_id = $1 AND client_id = $2`, [userId, clientId])).rowCount ?? 0) > 0;
}

/** The ids of the client's live grant sessions of the user, locked so a concurrent refresh waits for the revocation. */
export async function liveGrantSessionIds(tx: TenantDb, userId: string, clientId: string): Promise<string[]> {
  return (
    await tx.query<{ id: string }>(`SELECT s.id FROM sessions s WHERE s.user_id = $1 AND s.client_id = $2 AND ${LIVE} FOR UPDATE`, [userId, clientId])
  ).rows.map((r) => r.id);
}

/** Codes issued to the client for the user and not yet exchanged: gone, so none opens a grant after the revocation. */
export async function dropPendingCodes(tx: TenantDb, userId: string, clientId: string): Promise<void> {
  await tx.query(`DELETE FROM oauth_codes WHERE user_id = $1 AND client_id = $2 AND consumed_at IS NULL`, [userId, clientId]);
}

import { randomUUID } from 'node:crypto';
import type { TenantDb } from '../db/tenant-tx.ts';
import { queueBackchannelLogouts } from '../oauth/backchannel/backchannel.queries.ts';
import { randomToken, sha256 } from '../shared/crypto.ts';
import type { TenantSettings } from '../tenancy/tenant.model.ts';

export interface SessionRow {
  id: string;
  user_id: string;
  created_at: Date;
  last_active_at: Date;
  idle_expires_at: Date;
  absolute_expires_at: Date;
  ip: string | null;
  user_agent: string | null;
  amr: string[];
  aal: number;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

export const SESSION_COLUMNS = `id, user_id, created_at, last_active_at, idle_expires_at, absolute_expires_at, ip, user_agent,
  amr, aal, revoked_at, revoked_reason`;

/** Refresh tokens are 256 random bits; only their SHA-256 is stored. */
export const REFRESH_PREFIX = 'ghr_';
export const newRefreshToken = () => randomToken(32, REFRESH_PREFIX);

export interface NewSession {
  userId: string;
  ip: string | null;
  userAgent: string | null;
  amr: string[];
  aal: number;
  /** The OAuth client of a grant session; absent = the user's own (first-party) sign-in. */
  clientId?: string | null;
}

/**
 * Opens a session with its first refresh token. Sessions beyond the per-user cap are revoked oldest first;
 * their ids are returned so the caller can denylist their access tokens after commit. The cap counts sessions of the
 * same kind only: the user's own sign-ins, or one OAuth client's grants, so neither evicts the other.
 */
export async function createSession(
  tx: TenantDb,
  s: NewSession,
  settings: TenantSettings,
): Promise<{ session: SessionRow; refreshToken: string; evicted: string[] }> {
  const id = randomUUID();
  const session = (
    await tx.query<SessionRow>(
      `INSERT INTO sessions (id, user_id, ip, user_agent, amr, aal, idle_expires_at, absolute_expires_at, client_id)
       VALUES ($1, $2, $3, $4, $5, $6,
         now() + make_interval(secs => least($7::int, $8::int)), now() + make_interval(secs => $8::int), $9)
       RETURNING ${SESSION_COLUMNS}`,
      [id, s.userId, s.ip, s.userAgent?.slice(0, 512) ?? null, s.amr, s.aal, settings.session_idle_ttl, settings.session_absolute_ttl, s.clientId ?? null],
    )
  ).rows[0]!;
  const evicted = (
    await tx.query<{ id: string }>(
      `UPDATE sessions SET revoked_at = now(), revoked_reason = 'evicted'
       WHERE id = ANY (ARRAY(
         SELECT id FROM sessions WHERE user_id = $1 AND client_id IS NOT DISTINCT FROM $3 AND revoked_at IS NULL
           AND absolute_expires_at > now()
         ORDER BY created_at DESC, id OFFSET $2))
       RETURNING id`,
      [s.userId, settings.max_sessions_per_user, s.clientId ?? null],
    )
  ).rows.map((r) => r.id);
  if (evicted.length) {
    await tx.query(`UPDATE refresh_tokens SET status = 'revoked' WHERE session_id = ANY($1) AND status = 'active'`, [evicted]);
  }
  const refreshToken = await insertRefreshToken(tx, session, id, null, settings);
  return { session, refreshToken, evicted };
}

async function insertRefreshToken(
  tx: TenantDb,
  session: Pick<SessionRow, 'id' | 'absolute_expires_at'>,
  familyId: string,
  parentId: string | null,
  settings: TenantSettings,
): Promise<string> {
  const token = newRefreshToken();
  await tx.query(
    `INSERT INTO refresh_tokens (session_id, family_id, parent_id, token_hash, expires_at)
     VALUES ($1, $2, $3, $4, least(now() + make_interval(secs => $5::int), $6::timestamptz))`,
    [session.id, familyId, parentId, sha256(token), settings.refresh_token_ttl, session.absolute_expires_at],
  );
  return token;
}

export type RotateResult =
  | { kind: 'rotated'; session: SessionRow; refreshToken: string }
  | { kind: 'invalid' }
  | { kind: 'reused'; session: SessionRow };

/**
 * Exchanges a refresh token for a new one. The row is locked, so two concurrent uses serialise: the first rotates,
 * the second sees `rotated`. A rotated token presented again within the tenant's grace window gets a sibling token
 * (for clients that raced); outside it, the whole session is revoked (reuse detection, RFC 9700 §4.14.2).
 * Returns instead of throwing so a revocation commits.
 */
export async function rotateRefreshToken(
  tx: TenantDb,
  presented: string,
  settings: TenantSettings,
  /** The OAuth client the token must have been issued to; null/absent = a first-party session's token. */
  clientId: string | null = null,
): Promise<RotateResult> {
  if (!presented.startsWith(REFRESH_PREFIX) || presented.length > 100) return { kind: 'invalid' };
  const row = (
    await tx.query<{
      id: string;
      session_id: string;
      family_id: string;
      status: 'active' | 'rotated' | 'revoked';
      expired: boolean;
      rotated_secs: number | null;
    }>(
      `SELECT id, session_id, family_id, status, expires_at <= now() AS expired,
         extract(epoch FROM now() - rotated_at)::float8 AS rotated_secs
       FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`,
      [sha256(presented)],
    )
  ).rows[0];
  if (!row || row.status === 'revoked' || row.expired) return { kind: 'invalid' };
  const session = (
    await tx.query<SessionRow & { live: boolean; client_id: string | null }>(
      `SELECT ${SESSION_COLUMNS}, (revoked_at IS NULL AND idle_expires_at > now() AND absolute_expires_at > now()) AS live, client_id
       FROM sessions WHERE id = $1 FOR UPDATE`,
      [row.session_id],
    )
  ).rows[0];
  if (!session || !session.live) return { kind: 'invalid' };
  // A token of another client (or an OAuth client's token at the first-party API) is unknown here; it is not burnt.
  if (session.client_id !== clientId) return { kind: 'invalid' };
  delete (session as Partial<typeof session>).live;
  delete (session as Partial<typeof session>).client_id;

  if (row.status === 'rotated') {
    // Strict mode (grace 0) never issues a sibling. The explicit check matters: now() is this transaction's start,
    // so a transaction that began before a concurrent one rotated the token sees rotated_secs <= 0.
    const grace = settings.refresh_reuse_grace_seconds;
    const withinGrace = grace > 0 && row.rotated_secs !== null && row.rotated_secs <= grace;
    if (!withinGrace) {
      await revokeSessions(tx, [session.id], 'refresh_token_reuse');
      return { kind: 'reused', session };
    }
  } else {
    await tx.query(`UPDATE refresh_tokens SET status = 'rotated', rotated_at = now() WHERE id = $1`, [row.id]);
  }
  const touched = (
    await tx.query<SessionRow>(
      `UPDATE sessions SET last_active_at = now(),
         idle_expires_at = least(now() + make_interval(secs => $2::int), absolute_expires_at)
       WHERE id = $1 RETURNING ${SESSION_COLUMNS}`,
      [session.id, settings.session_idle_ttl],
    )
  ).rows[0]!;
  const refreshToken = await insertRefreshToken(tx, touched, row.family_id, row.id, settings);
  return { kind: 'rotated', session: touched, refreshToken };
}

/**
 * Revokes sessions and their refresh tokens; returns the ids actually revoked now. The Back-Channel Logouts the
 * applications signed in through them are owed are queued in the same transaction.
 */
export async function revokeSessions(tx: TenantDb, ids: string[], reason: string): Promise<string[]> {
  if (ids.length === 0) return [];
  const r = await tx.query<{ id: string }>(
    `UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = ANY($1) AND revoked_at IS NULL RETURNING id`,
    [ids, reason],
  );
  await tx.query(`UPDATE refresh_tokens SET status = 'revoked' WHERE session_id = ANY($1) AND status <> 'revoked'`, [ids]);
  const revoked = r.rows.map((x) => x.id);
  await queueBackchannelLogouts(tx, revoked, reason);
  return revoked;
}

/** Revokes every live session of a user except `keep`; returns their ids. */
export async function revokeUserSessions(tx: TenantDb, userId: string, reason: string, keep?: string): Promise<string[]> {
  const ids = (
    await tx.query<{ id: string }>(
      `SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2::uuid)`,
      [userId, keep ?? null],
    )
  ).rows.map((r) => r.id);
  return revokeSessions(tx, ids, reason);
}

export async function listUserSessions(tx: TenantDb, userId: string): Promise<SessionRow[]> {
  return (
    await tx.query<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM sessions
       WHERE user_id = $1 AND revoked_at IS NULL AND idle_expires_at > now() AND absolute_expires_at > now()
       ORDER BY last_active_at DESC`,
      [userId],
    )
  ).rows;
}

export async function findSession(tx: TenantDb, id: string): Promise<SessionRow | undefined> {
  return (await tx.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1`, [id])).rows[0];
}

import type { AuditContext } from '../audit/audit.ts';
import type { Database } from '../db/database.ts';
import { sql } from '../db/sql.ts';
import { tenantBatch } from '../db/tenant-tx.ts';
import type { UserRow } from '../identity/user.model.ts';
import type { LoginMfaState } from '../mfa/mfa-state.ts';
import { newRefreshToken, type SessionRow } from '../session/session.queries.ts';
import { sha256 } from '../shared/crypto.ts';
import type { CurrentSignals, KnownSignal } from '../risk/login-risk.ts';
import type { TenantSettings } from '../tenancy/tenant.model.ts';

/*
 * The password login's database work is two round trips: the lookup before the hash and the commit after it.
 * Login throughput is bound by argon2, and on the embedded database every statement or transaction command costs
 * a fixed slice of main-thread time, so each side is one batch (`tenantBatch`: values inlined by `sql`, run as
 * one implicit transaction).
 */

/** The login lookup: the user, and what their sign-ins usually look like (for the risk score). */
export async function findLoginUser(
  db: Database,
  tenantId: string,
  email: string,
): Promise<{ user: UserRow | undefined; signals: KnownSignal[]; mfa: LoginMfaState }> {
  // One call, one row (none for an unknown address): the user, the risk history as JSON, the MFA state (migration 014).
  const [r] = await tenantBatch(db, tenantId, sql`SELECT * FROM gatehouse_login_lookup(${email}::text)`);
  const row = r!.rows[0] as (UserRow & { login_signals: (Omit<KnownSignal, 'last_seen'> & { last_seen: string })[]; mfa_factors: string[]; mfa_backup_codes: boolean; mfa_grace_started_at: Date | null }) | undefined;
  if (!row) return { user: undefined, signals: [], mfa: { factors: [], backup_codes: false, grace_started_at: null } };
  const { login_signals, mfa_factors, mfa_backup_codes, mfa_grace_started_at, ...user } = row;
  return {
    user,
    signals: login_signals.map((s) => ({ ...s, last_seen: new Date(s.last_seen) })),
    mfa: { factors: mfa_factors, backup_codes: mfa_backup_codes, grace_started_at: mfa_grace_started_at },
  };
}

export interface LoginCommit {
  userId: string;
  sessionId: string;
  /** A new argon2id hash when the stored one was outdated (bcrypt import, old parameters). */
  newHash: string | undefined;
  ip: string | null;
  userAgent: string | null;
  amr: string[];
  aal: number;
  method: string;
  /** Merged into the login.succeeded audit details (risk score and reasons). */
  details: Record<string, unknown>;
  /** This sign-in's risk signals, counted into the user's history. */
  signals: CurrentSignals;
}

/**
 * Everything a successful sign-in writes (gatehouse_commit_login, migration 005): the user's login stamp (and
 * upgraded hash), eviction of the sessions beyond the per-user cap with their refresh tokens, the new session and
 * its first refresh token, and the audit events, all or nothing.
 */
export async function commitLogin(
  db: Database,
  tenantId: string,
  c: LoginCommit,
  settings: TenantSettings,
  ctx: AuditContext,
): Promise<{ session: Pick<SessionRow, 'id' | 'amr' | 'aal'>; refreshToken: string; evicted: string[]; stampedAt: Date }> {
  const refreshToken = newRefreshToken();
  // Where the sign-in came from, only when a GeoIP database placed it (the impossible-travel signal's history).
  const geo = c.signals.geo
    ? [sql`INSERT INTO login_signals (user_id, kind, value) VALUES (${c.userId}::uuid, 'geo', ${c.signals.geo}::text)
        ON CONFLICT (tenant_id, user_id, kind, value) DO UPDATE SET seen_count = login_signals.seen_count + 1, last_seen = now()`]
    : [];
  // A sign-in that passed a second factor stamps the session's aal2 time (step-up recency, migration 007), in
  // application time like the guard that reads it.
  const aal2 = c.aal >= 2 ? [sql`UPDATE sessions SET aal2_at = ${new Date()}::timestamptz WHERE id = ${c.sessionId}::uuid`] : [];
  const [r] = await tenantBatch(
    db,
    tenantId,
    sql`SELECT evicted, out_created_at FROM gatehouse_commit_login(${c.userId}::uuid, ${c.newHash ?? null}::text, ${c.sessionId}::uuid,
      ${c.ip}::text, ${c.userAgent?.slice(0, 512) ?? null}::text, ${c.amr}, ${c.aal}::smallint,
      ${settings.session_idle_ttl}::int, ${settings.session_absolute_ttl}::int, ${settings.max_sessions_per_user}::int,
      ${sha256(refreshToken)}::text, ${settings.refresh_token_ttl}::int, ${ctx.requestId ?? null}::text, ${c.method}::text,
      ${c.details}::jsonb, ${c.signals.device}::text, ${c.signals.network}::text, ${c.signals.hour}::text)`,
    ...geo,
    ...aal2,
  );
  // out_created_at is the commit's now(): the session's creation and the user's last_login_at alike.
  const { evicted, out_created_at } = r!.rows[0] as { evicted: string[]; out_created_at: Date };
  return { session: { id: c.sessionId, amr: c.amr, aal: c.aal }, refreshToken, evicted, stampedAt: new Date(out_created_at) };
}

import type { TenantDb } from '../db/tenant-tx.ts';

export type FactorType = 'totp';

export interface FactorRow {
  id: string;
  type: FactorType;
  name: string | null;
  created_at: Date;
  activated_at: Date | null;
  last_used_at: Date | null;
}

export interface TotpRow extends FactorRow {
  secret_enc: string;
  last_used_step: string | null;
}

const FACTOR_COLUMNS = 'id, type, name, created_at, activated_at, last_used_at';

/** Where a TOTP secret is sealed: the ciphertext opens only for this tenant and user. */
export const totpSealContext = (tenantId: string, userId: string) => `totp:${tenantId}:${userId}`;

export async function listActiveFactors(tx: TenantDb, userId: string): Promise<FactorRow[]> {
  return (
    await tx.query<FactorRow>(`SELECT ${FACTOR_COLUMNS} FROM mfa_factors WHERE user_id = $1 AND status = 'active' ORDER BY created_at`, [userId])
  ).rows;
}

export async function findActiveTotp(tx: TenantDb, userId: string): Promise<TotpRow | undefined> {
  return (
    await tx.query<TotpRow>(
      `SELECT ${FACTOR_COLUMNS}, secret_enc, last_used_step FROM mfa_factors WHERE user_id = $1 AND type = 'totp' AND status = 'active'`,
      [userId],
    )
  ).rows[0];
}

/** Drops the user's unconfirmed TOTP enrollment, if any (expired or not); returns how many rows went. */
export async function discardPendingTotp(tx: TenantDb, userId: string): Promise<number> {
  return (await tx.query(`DELETE FROM mfa_factors WHERE user_id = $1 AND type = 'totp' AND status = 'pending'`, [userId])).rowCount;
}

/** Starts (or restarts) a TOTP enrollment: any earlier pending one is dropped. */
export async function putPendingTotp(tx: TenantDb, userId: string, secretEnc: string, ttlSeconds: number): Promise<{ expires_at: Date }> {
  await discardPendingTotp(tx, userId);
  return (
    await tx.query<{ expires_at: Date }>(
      `INSERT INTO mfa_factors (user_id, type, status, name, secret_enc, expires_at)
       VALUES ($1, 'totp', 'pending', 'Authenticator app', $2, $3::timestamptz) RETURNING expires_at`,
      [userId, secretEnc, new Date(Date.now() + ttlSeconds * 1000)],
    )
  ).rows[0]!;
}

/** The pending TOTP enrollment, locked, unless it has expired (application time, like every MFA deadline). */
export async function findPendingTotp(tx: TenantDb, userId: string): Promise<TotpRow | undefined> {
  return (
    await tx.query<TotpRow>(
      `SELECT ${FACTOR_COLUMNS}, secret_enc, last_used_step FROM mfa_factors
       WHERE user_id = $1 AND type = 'totp' AND status = 'pending' AND expires_at > $2::timestamptz FOR UPDATE`,
      [userId, new Date()],
    )
  ).rows[0];
}

/** The pending factor becomes the active one; `step` is the code's time step, never to be accepted again. */
export async function activateTotp(tx: TenantDb, id: string, step: number): Promise<FactorRow> {
  return (
    await tx.query<FactorRow>(
      `UPDATE mfa_factors SET status = 'active', expires_at = NULL, activated_at = now(), last_used_at = now(), last_used_step = $2
       WHERE id = $1 RETURNING ${FACTOR_COLUMNS}`,
      [id, step],
    )
  ).rows[0]!;
}

/**
 * Records a TOTP use at `step`. False when that step or a later one was already used (a replay, or an older code
 * after a newer one): the row's monotonic step makes this hold across nodes whatever the key-value store knows.
 */
export async function recordTotpUse(tx: TenantDb, factorId: string, step: number): Promise<boolean> {
  const r = await tx.query(
    `UPDATE mfa_factors SET last_used_step = $2, last_used_at = now()
     WHERE id = $1 AND status = 'active' AND (last_used_step IS NULL OR last_used_step < $2) RETURNING id`,
    [factorId, step],
  );
  return r.rows.length === 1;
}

/** Removes the user's factors (of one type, or all), pending ones too; returns how many of each were removed. */
export async function removeFactors(tx: TenantDb, userId: string, type?: FactorType): Promise<{ active: number; pending: number }> {
  const r = await tx.query<{ status: string }>(
    `DELETE FROM mfa_factors WHERE user_id = $1 AND ($2::text IS NULL OR type = $2) RETURNING status`,
    [userId, type ?? null],
  );
  const active = r.rows.filter((x) => x.status === 'active').length;
  return { active, pending: r.rows.length - active };
}

/** The new set replaces the old one entirely. */
export async function replaceBackupCodes(tx: TenantDb, userId: string, hashes: string[]): Promise<void> {
  await tx.query(`DELETE FROM mfa_backup_codes WHERE user_id = $1`, [userId]);
  await tx.query(`INSERT INTO mfa_backup_codes (user_id, code_hash) SELECT $1, unnest($2::text[])`, [userId, hashes]);
}

export async function deleteBackupCodes(tx: TenantDb, userId: string): Promise<void> {
  await tx.query(`DELETE FROM mfa_backup_codes WHERE user_id = $1`, [userId]);
}

/** Spends a backup code, atomically: two concurrent uses cannot both succeed. Returns the codes left, or null. */
export async function useBackupCode(tx: TenantDb, userId: string, hash: string): Promise<number | null> {
  const r = await tx.query(
    `UPDATE mfa_backup_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id`,
    [userId, hash],
  );
  if (r.rows.length === 0) return null;
  return remainingBackupCodes(tx, userId);
}

export async function remainingBackupCodes(tx: TenantDb, userId: string): Promise<number> {
  return (
    await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL`, [userId])
  ).rows[0]!.n;
}

export async function hasBackupCodes(tx: TenantDb, userId: string): Promise<boolean> {
  return (await tx.query(`SELECT 1 FROM mfa_backup_codes WHERE user_id = $1 LIMIT 1`, [userId])).rows.length > 0;
}

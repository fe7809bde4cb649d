import type { TenantDb } from '../db/tenant-tx.ts';
import type { DeviceType, WebauthnCredentialRow } from './webauthn.model.ts';

const COLUMNS = `id, user_id, credential_id, public_key, user_handle, counter::float8 AS counter, transports, name, aaguid,
  device_type, backed_up, created_at, last_used_at`;

export async function listUserCredentials(tx: TenantDb, userId: string): Promise<WebauthnCredentialRow[]> {
  return (
    await tx.query<WebauthnCredentialRow>(`SELECT ${COLUMNS} FROM webauthn_credentials WHERE user_id = $1 ORDER BY created_at, id`, [userId])
  ).rows;
}

/** The credential an assertion names, if this tenant has it. */
export async function findByCredentialId(tx: TenantDb, credentialId: string): Promise<WebauthnCredentialRow | undefined> {
  return (await tx.query<WebauthnCredentialRow>(`SELECT ${COLUMNS} FROM webauthn_credentials WHERE credential_id = $1`, [credentialId])).rows[0];
}

/**
 * For sign-in with an email: the account (if any) and its credentials, in one statement whether or not the email
 * is known, so the lookup costs the same either way.
 */
export async function findCredentialsByEmail(
  tx: TenantDb,
  email: string,
): Promise<{ userId: string | null; credentials: { credential_id: string; transports: string[] }[] }> {
  const rows = (
    await tx.query<{ user_id: string; credential_id: string | null; transports: string[] | null }>(
      `SELECT u.id AS user_id, c.credential_id, c.transports
       FROM users u LEFT JOIN webauthn_credentials c ON c.user_id = u.id
       WHERE u.email = $1 ORDER BY c.created_at, c.id`,
      [email],
    )
  ).rows;
  return {
    userId: rows[0]?.user_id ?? null,
    credentials: rows.filter((r) => r.credential_id !== null).map((r) => ({ credential_id: r.credential_id!, transports: r.transports ?? [] })),
  };
}

export interface NewCredential {
  userId: string;
  credentialId: string;
  publicKey: string;
  userHandle: string;
  counter: number;
  transports: string[];
  name: string;
  aaguid: string;
  deviceType: DeviceType;
  backedUp: boolean;
}

/** Inserts a credential; undefined when this tenant already has that credential id. */
export async function insertCredential(tx: TenantDb, c: NewCredential): Promise<WebauthnCredentialRow | undefined> {
  return (
    await tx.query<WebauthnCredentialRow>(
      `INSERT INTO webauthn_credentials (user_id, credential_id, public_key, user_handle, counter, transports, name, aaguid, device_type, backed_up)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (tenant_id, credential_id) DO NOTHING
       RETURNING ${COLUMNS}`,
      [c.userId, c.credentialId, c.publicKey, c.userHandle, c.counter, c.transports, c.name, c.aaguid, c.deviceType, c.backedUp],
    )
  ).rows[0];
}

export async function countUserCredentials(tx: TenantDb, userId: string): Promise<number> {
  // Serialises this user's registrations so the cap holds under concurrency.
  await tx.query(`SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, [userId]);
  return (await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM webauthn_credentials WHERE user_id = $1`, [userId])).rows[0]!.n;
}

/**
 * Records a verified use: compare-and-set on the counter, so of two assertions carrying the same counter (a cloned
 * authenticator, or a race) only one advances it. Authenticators that do not count send 0 every time and always
 * pass. Returns false when the stored counter moved past `newCounter` meanwhile.
 */
export async function recordUse(tx: TenantDb, id: string, previous: number, newCounter: number, backedUp: boolean): Promise<boolean> {
  const r = await tx.query(
    `UPDATE webauthn_credentials SET counter = $3, backed_up = $4, last_used_at = now()
     WHERE id = $1 AND counter = $2`,
    [id, previous, newCounter, backedUp],
  );
  return (r.rowCount ?? 0) === 1;
}

export async function renameCredential(tx: TenantDb, userId: string, id: string, name: string): Promise<WebauthnCredentialRow | undefined> {
  return (
    await tx.query<WebauthnCredentialRow>(`UPDATE webauthn_credentials SET name = $3 WHERE id = $2 AND user_id = $1 RETURNING ${COLUMNS}`, [
      userId,
      id,
      name,
    ])
  ).rows[0];
}

export async function deleteCredential(tx: TenantDb, userId: string, id: string): Promise<WebauthnCredentialRow | undefined> {
  return (await tx.query<WebauthnCredentialRow>(`DELETE FROM webauthn_credentials WHERE id = $2 AND user_id = $1 RETURNING ${COLUMNS}`, [userId, id]))
    .rows[0];
}

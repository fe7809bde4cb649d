import type { TenantDb } from '../db/tenant-tx.ts';
import type { PasswordHasher } from './password-hasher.ts';

/** The current hash and up to `keep - 1` earlier ones: a new password must match none of them. */
export async function recentHashes(tx: TenantDb, userId: string, current: string | null, keep: number): Promise<string[]> {
  if (keep <= 0) return [];
  const older = (
    await tx.query<{ password_hash: string }>(
      'SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2',
      [userId, Math.max(keep - 1, 0)],
    )
  ).rows.map((r) => r.password_hash);
  return current ? [current, ...older] : older;
}

/** Checks the candidate against earlier hashes, off the event loop and without holding a transaction. */
export async function isReused(hasher: PasswordHasher, hashes: string[], password: string): Promise<boolean> {
  for (const h of hashes) if ((await hasher.verify(h, password)).ok) return true;
  return false;
}

/** Keeps the replaced hash, trimming the history to what the policy needs. */
export async function rememberHash(tx: TenantDb, userId: string, replaced: string | null, keep: number): Promise<void> {
  if (!replaced || keep <= 1) return;
  await tx.query('INSERT INTO password_history (user_id, password_hash) VALUES ($1, $2)', [userId, replaced]);
  await tx.query(
    `DELETE FROM password_history WHERE user_id = $1 AND id NOT IN (
       SELECT id FROM password_history WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2)`,
    [userId, keep - 1],
  );
}

import type { Database } from '../db/database.ts';
import { sql } from '../db/sql.ts';
import { tenantBatch, type TenantDb } from '../db/tenant-tx.ts';
import type { Role } from '../rbac/roles.ts';
import { CURSOR_AT } from '../shared/cursor.ts';
import { PROFILE_FIELDS, type ProfilePatch, type UserRow, type UserStatus } from './user.model.ts';

/** A UserRow's columns; gatehouse_read_user and gatehouse_rotate_refresh (migration 020) return the same, in order. */
export const USER_COLUMN_NAMES = [
  'id', 'tenant_id', 'email', 'email_verified', 'password_hash', 'name', 'given_name', 'family_name', 'locale', 'timezone',
  'status', 'role', 'last_login_at', 'login_count', 'created_by', 'created_at', 'updated_at', 'locked_until',
] as const;

export const USER_COLUMNS = USER_COLUMN_NAMES.join(', ');

/**
 * One round trip, outside any larger transaction: the hot authenticated read (GET /me), through a function whose plan
 * is cached (migration 020; planning was most of this read's cost on the embedded database).
 */
export async function readUser(db: Database, tenantId: string, id: string): Promise<UserRow | undefined> {
  const [r] = await tenantBatch(db, tenantId, sql`SELECT * FROM gatehouse_read_user(${id}::uuid)`);
  return r!.rows[0] as UserRow | undefined;
}

export async function findUserById(tx: TenantDb, id: string): Promise<UserRow | undefined> {
  return (await tx.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id])).rows[0];
}

export interface NewUser {
  email: string;
  passwordHash: string | null;
  name?: string | null;
  role: Role;
  emailVerified: boolean;
  createdBy: string | null;
}

/** Inserts a user; returns undefined when the email is already taken in this tenant. */
export async function insertUser(tx: TenantDb, u: NewUser): Promise<UserRow | undefined> {
  const r = await tx.query<UserRow>(
    `INSERT INTO users (email, password_hash, name, role, email_verified, created_by)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, email) DO NOTHING RETURNING ${USER_COLUMNS}`,
    [u.email, u.passwordHash, u.name ?? null, u.role, u.emailVerified, u.createdBy],
  );
  return r.rows[0];
}

export async function updateProfile(tx: TenantDb, id: string, patch: ProfilePatch): Promise<UserRow | undefined> {
  const sets: string[] = [];
  const params: unknown[] = [id];
  for (const f of PROFILE_FIELDS) {
    if (patch[f] === undefined) continue;
    params.push(patch[f]);
    sets.push(`${f} = $${params.length}`);
  }
  if (sets.length === 0) return findUserById(tx, id);
  const r = await tx.query<UserRow>(
    `UPDATE users SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING ${USER_COLUMNS}`,
    params,
  );
  return r.rows[0];
}

export async function setPasswordHash(tx: TenantDb, id: string, hash: string): Promise<void> {
  await tx.query('UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1', [id, hash]);
}

export async function recordLogin(tx: TenantDb, id: string, newHash?: string): Promise<void> {
  await tx.query(
    `UPDATE users SET last_login_at = now(), login_count = login_count + 1,
       password_hash = coalesce($2, password_hash) WHERE id = $1`,
    [id, newHash ?? null],
  );
}

export async function setUserStatus(tx: TenantDb, id: string, status: UserStatus): Promise<UserRow | undefined> {
  return (
    await tx.query<UserRow>(
      `UPDATE users SET status = $2, locked_until = CASE WHEN $2 = 'locked' THEN locked_until END, updated_at = now()
       WHERE id = $1 RETURNING ${USER_COLUMNS}`,
      [id, status],
    )
  ).rows[0];
}

export async function setUserRole(tx: TenantDb, id: string, role: Role): Promise<UserRow | undefined> {
  return (
    await tx.query<UserRow>(`UPDATE users SET role = $2, updated_at = now() WHERE id = $1 RETURNING ${USER_COLUMNS}`, [id, role])
  ).rows[0];
}

export async function deleteUser(tx: TenantDb, id: string): Promise<boolean> {
  return (await tx.query('DELETE FROM users WHERE id = $1', [id])).rowCount > 0;
}

export interface UserListQuery {
  search?: string;
  status?: UserStatus;
  role?: Role;
  /** From a previous page's last row: its `cursor_at` (created_at to the microsecond) and id. */
  after?: { createdAt: string; id: string };
  limit: number;
}

/** Keyset pagination on (created_at, id): stable under inserts, no OFFSET scans. */
export async function listUsers(tx: TenantDb, q: UserListQuery): Promise<(UserRow & { cursor_at: string })[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    let s = sql;
    for (const v of values) {
      params.push(v);
      s = s.replace('?', `$${params.length}`);
    }
    where.push(s);
  };
  if (q.search) {
    const like = '%' + q.search.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
    add('(email ILIKE ? OR name ILIKE ?)', like, like);
  }
  if (q.status) add('status = ?', q.status);
  if (q.role) add('role = ?', q.role);
  if (q.after) add('(created_at, id) > (?::timestamptz, ?::uuid)', q.after.createdAt, q.after.id);
  params.push(q.limit);
  return (
    await tx.query<UserRow & { cursor_at: string }>(
      `SELECT ${USER_COLUMNS}, ${CURSOR_AT} FROM users ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    )
  ).rows;
}

import { randomBytes, randomInt } from 'node:crypto';
import type { TenantDb } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { constantTimeEqual, randomToken, sha256 } from '../shared/crypto.ts';

export type EmailTokenPurpose = 'password_reset' | 'email_verification' | 'passwordless_link' | 'passwordless_code' | 'email_change';

/** Lifetimes in seconds: short for what signs in or changes credentials, a day for confirming an address. */
export const EMAIL_TOKEN_TTL: Record<EmailTokenPurpose, number> = {
  password_reset: 30 * 60,
  email_verification: 24 * 3600,
  passwordless_link: 15 * 60,
  passwordless_code: 10 * 60,
  email_change: 60 * 60,
};

/** Wrong codes before a passwordless code is burned. */
export const CODE_MAX_ATTEMPTS = 5;

export interface EmailTokenRow {
  id: string;
  user_id: string | null;
  email: string;
  purpose: EmailTokenPurpose;
  data: Record<string, unknown>;
  attempts: number;
  expires_at: Date;
  consumed_at: Date | null;
  consumed_reason: string | null;
}

const COLUMNS = 'id, user_id, email, purpose, data, attempts, expires_at, consumed_at, consumed_reason';

/** A one-time link token: 256 bits from the CSPRNG; only its SHA-256 is stored. */
export const newEmailToken = () => randomToken(32, 'ghe_');

/** A 6-digit code, uniform (no modulo bias). */
export const newEmailCode = () => String(randomInt(0, 1_000_000)).padStart(6, '0');

/**
 * Codes have 20 bits, so their stored hash is salted with a random nonce (a bare SHA-256 of six digits is reversed
 * by trying a million): rows are found by address, then the code compared in constant time.
 */
export function codeHash(code: string, nonce: string): string {
  return sha256(`code:${nonce}:${code}`);
}

export interface IssueInput {
  purpose: EmailTokenPurpose;
  email: string;
  userId: string | null;
  /** The SHA-256 of the token, or the salted hash of a code. */
  tokenHash: string;
  data?: Record<string, unknown>;
  /** Earlier live tokens of these purposes for the same user (else address) stop working. */
  supersede: EmailTokenPurpose[];
  /**
   * false runs the same statements and writes nothing: a flow that must not reveal whether an address has an
   * account does identical database work for unknown addresses.
   */
  issue: boolean;
}

/** Issues a token (in the caller's transaction), superseding the live ones it replaces. */
export async function issueEmailToken(tx: TenantDb, i: IssueInput): Promise<void> {
  await tx.query(
    `UPDATE email_tokens SET consumed_at = now(), consumed_reason = 'superseded'
     WHERE consumed_at IS NULL AND purpose = ANY($1::text[]) AND ($2::uuid IS NULL AND email = $3 OR user_id = $2::uuid) AND $4::boolean`,
    [i.supersede, i.userId, i.email, i.issue],
  );
  await tx.query(
    `INSERT INTO email_tokens (user_id, email, purpose, token_hash, data, expires_at)
     SELECT $1::uuid, $2, $3, $4, $5::jsonb, now() + make_interval(secs => $6::int) WHERE $7::boolean`,
    [i.userId, i.email, i.purpose, i.tokenHash, JSON.stringify(i.data ?? {}), EMAIL_TOKEN_TTL[i.purpose], i.issue],
  );
}

/** The row of a presented token (any purpose, any state), locked for the rest of the transaction; undefined when unknown here. */
export async function findEmailToken(tx: TenantDb, token: string): Promise<EmailTokenRow | undefined> {
  return (await tx.query<EmailTokenRow>(`SELECT ${COLUMNS} FROM email_tokens WHERE token_hash = $1 FOR UPDATE`, [sha256(token)])).rows[0];
}

/**
 * The error for a token not in email_tokens: an invitation token presented elsewhere is the wrong purpose; anything
 * else (including another tenant's token, which RLS hides) is invalid.
 */
export async function unknownTokenError(tx: TenantDb, token: string): Promise<AppError> {
  const invitation = await tx.query('SELECT 1 FROM invitations WHERE token_hash = $1', [sha256(token)]);
  return new AppError(invitation.rows.length ? 'EMAIL_TOKEN_WRONG_PURPOSE' : 'EMAIL_TOKEN_INVALID');
}

/** The token's row, locked for the rest of the transaction; refuses unknown (or another tenant's), wrong-purpose, used and expired tokens. */
export async function checkEmailToken(tx: TenantDb, token: string, purpose: EmailTokenPurpose): Promise<EmailTokenRow> {
  const row = await findEmailToken(tx, token);
  if (!row) throw await unknownTokenError(tx, token);
  if (row.purpose !== purpose) throw new AppError('EMAIL_TOKEN_WRONG_PURPOSE');
  if (row.consumed_at) throw new AppError('EMAIL_TOKEN_USED');
  if (row.expires_at.getTime() <= Date.now()) throw new AppError('EMAIL_TOKEN_EXPIRED');
  return row;
}

/** Checks and spends a token: single use, even under concurrent presentations (the row is locked). */
export async function consumeEmailToken(tx: TenantDb, token: string, purpose: EmailTokenPurpose): Promise<EmailTokenRow> {
  const row = await checkEmailToken(tx, token, purpose);
  await tx.query(`UPDATE email_tokens SET consumed_at = now(), consumed_reason = 'used' WHERE id = $1`, [row.id]);
  return row;
}

/** Ends a user's live tokens of some purposes (a reset password, a changed address). */
export async function revokeEmailTokens(tx: TenantDb, userId: string, purposes: EmailTokenPurpose[], reason: string): Promise<void> {
  await tx.query(
    `UPDATE email_tokens SET consumed_at = now(), consumed_reason = $3 WHERE consumed_at IS NULL AND user_id = $1 AND purpose = ANY($2::text[])`,
    [userId, purposes, reason],
  );
}

export type CodeCheck = { ok: true; row: EmailTokenRow } | { ok: false; code: 'EMAIL_TOKEN_INVALID' | 'EMAIL_TOKEN_EXPIRED' | 'EMAIL_CODE_ATTEMPTS_EXCEEDED' };

/**
 * Checks a code against the address's live code. A wrong code counts an attempt; the last allowed wrong attempt
 * burns the code. Returns rather than throws so the caller commits the counted attempt before answering.
 */
export async function checkEmailCode(tx: TenantDb, email: string, code: string, purpose: EmailTokenPurpose): Promise<CodeCheck> {
  const row = (
    await tx.query<EmailTokenRow & { token_hash: string }>(
      `SELECT ${COLUMNS}, token_hash FROM email_tokens WHERE email = $1 AND purpose = $2 AND consumed_at IS NULL
       ORDER BY created_at DESC LIMIT 1 FOR UPDATE`,
      [email, purpose],
    )
  ).rows[0];
  if (!row) return { ok: false, code: 'EMAIL_TOKEN_INVALID' };
  if (row.expires_at.getTime() <= Date.now()) return { ok: false, code: 'EMAIL_TOKEN_EXPIRED' };
  if (constantTimeEqual(codeHash(code, String(row.data.nonce ?? '')), row.token_hash)) {
    await tx.query(`UPDATE email_tokens SET consumed_at = now(), consumed_reason = 'used' WHERE id = $1`, [row.id]);
    return { ok: true, row };
  }
  const attempts = row.attempts + 1;
  const burned = attempts >= CODE_MAX_ATTEMPTS;
  await tx.query(
    `UPDATE email_tokens SET attempts = $2, consumed_at = CASE WHEN $3::boolean THEN now() END,
       consumed_reason = CASE WHEN $3::boolean THEN 'attempts' END WHERE id = $1`,
    [row.id, attempts, burned],
  );
  return { ok: false, code: burned ? 'EMAIL_CODE_ATTEMPTS_EXCEEDED' : 'EMAIL_TOKEN_INVALID' };
}

export const newCodeNonce = () => randomBytes(16).toString('base64url');

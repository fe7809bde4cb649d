import type { TenantDb } from '../../db/tenant-tx.ts';
import { randomToken, sha256 } from '../../shared/crypto.ts';

export const CODE_TTL_SECONDS = 60;

export interface CodeRow {
  client_id: string;
  user_id: string;
  session_id: string;
  redirect_uri: string;
  code_challenge: string;
  scopes: string[];
  nonce: string | null;
  auth_time: Date;
  amr: string[];
  acr: string;
  expired: boolean;
  consumed_at: Date | null;
  issued_session_id: string | null;
}

export interface NewCode {
  clientId: string;
  userId: string;
  sessionId: string;
  redirectUri: string;
  codeChallenge: string;
  scopes: string[];
  nonce: string | null;
  authTime: Date;
  amr: string[];
  acr: string;
}

/** A new authorization code (256 random bits); only its SHA-256 is stored. */
export async function insertCode(tx: TenantDb, c: NewCode): Promise<string> {
  const code = randomToken(32);
  await tx.query(
    `INSERT INTO oauth_codes (code_hash, client_id, user_id, session_id, redirect_uri, code_challenge, scopes, nonce, auth_time, amr, acr, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() + make_interval(secs => $12))`,
    [sha256(code), c.clientId, c.userId, c.sessionId, c.redirectUri, c.codeChallenge, c.scopes, c.nonce, c.authTime, c.amr, c.acr, CODE_TTL_SECONDS],
  );
  return code;
}

/** The code's row, locked: two concurrent exchanges serialise and the second sees it consumed. */
export async function lockCode(tx: TenantDb, code: string): Promise<CodeRow | undefined> {
  if (code.length > 200) return undefined;
  return (
    await tx.query<CodeRow>(
      `SELECT client_id, user_id, session_id, redirect_uri, code_challenge, scopes, nonce, auth_time, amr, acr,
         expires_at <= now() AS expired, consumed_at, issued_session_id
       FROM oauth_codes WHERE code_hash = $1 FOR UPDATE`,
      [sha256(code)],
    )
  ).rows[0];
}

export async function consumeCode(tx: TenantDb, code: string): Promise<void> {
  await tx.query(`UPDATE oauth_codes SET consumed_at = now() WHERE code_hash = $1`, [sha256(code)]);
}

export async function recordIssuedSession(tx: TenantDb, code: string, sessionId: string): Promise<void> {
  await tx.query(`UPDATE oauth_codes SET issued_session_id = $2 WHERE code_hash = $1`, [sha256(code), sessionId]);
}

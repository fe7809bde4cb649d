import type { FastifyRequest } from 'fastify';
import type { AuditContext } from '../audit/audit.ts';
import type { Database } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { withPlatformTx, type PlatformDb } from '../db/tenant-tx.ts';
import { randomToken, sha256 } from '../shared/crypto.ts';

export const PLATFORM_PREFIX = 'ghp_';

export interface PlatformCredential {
  id: string;
  name: string;
  kind: 'bootstrap' | 'local' | 'api';
  created_at: Date;
  last_used_at: Date | null;
}

/** Creates a platform admin credential; the secret exists only in the return value (stored as SHA-256). */
export async function createPlatformCredential(tx: PlatformDb, name: string, kind: PlatformCredential['kind']) {
  const secret = randomToken(32, PLATFORM_PREFIX);
  const row = (
    await tx.query<PlatformCredential>(
      `INSERT INTO platform_credentials (name, kind, secret_hash) VALUES ($1, $2, $3)
       RETURNING id, name, kind, created_at, last_used_at`,
      [name, kind, sha256(secret)],
    )
  ).rows[0]!;
  return { credential: row, secret };
}

/** Finds a live credential by secret. Lookup is by the SHA-256 of a 256-bit secret, so timing reveals nothing useful. */
export async function authenticatePlatform(db: Database, secret: string): Promise<PlatformCredential | undefined> {
  if (!secret.startsWith(PLATFORM_PREFIX) || secret.length > 100) return undefined;
  const r = await db.query<PlatformCredential>(
    `UPDATE platform_credentials SET last_used_at = now()
     WHERE secret_hash = $1 AND revoked_at IS NULL RETURNING id, name, kind, created_at, last_used_at`,
    [sha256(secret)],
  );
  return r.rows[0];
}

/**
 * The platform admin behind a request's `Authorization: Bearer ghp_...`, as the audit context of what it does;
 * 401 UNAUTHENTICATED without one, or with one that is unknown or revoked. Every /api/v1/platform route starts here.
 */
export async function requirePlatform(db: Database, request: FastifyRequest): Promise<AuditContext> {
  const m = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
  if (!m) throw new AppError('UNAUTHENTICATED');
  const cred = await authenticatePlatform(db, m[1]!);
  if (!cred) throw new AppError('UNAUTHENTICATED', { message: 'The platform credential is invalid or revoked.' });
  return { actorType: 'platform', actorId: cred.id, ip: request.ip, userAgent: request.headers['user-agent'] ?? null, requestId: request.id };
}

/** On first start (no credential at all), creates the bootstrap credential; its secret is returned to print once. */
export async function bootstrapPlatformCredential(db: Database): Promise<string | undefined> {
  return withPlatformTx(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(4712)');
    const any = await tx.query(`SELECT 1 FROM platform_credentials WHERE kind IN ('bootstrap', 'api') LIMIT 1`);
    if (any.rows.length > 0) return undefined;
    return (await createPlatformCredential(tx, 'bootstrap', 'bootstrap')).secret;
  });
}

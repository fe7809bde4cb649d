import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import type { Database } from '../db/database.ts';
import { withTenantTx, type TenantDb } from '../db/tenant-tx.ts';
import type { Sealer } from './master-key.ts';

export type SigningAlg = 'ES256' | 'RS256';

export interface VerifyKey {
  alg: SigningAlg;
  publicKey: KeyObject;
}

export interface KeyRing {
  active: { kid: string; alg: SigningAlg; privateKey: KeyObject };
  byKid: Map<string, VerifyKey>;
}

interface KeyRow {
  kid: string;
  alg: SigningAlg;
  public_jwk: JWK;
  private_key_enc: string;
  status: 'active' | 'retired';
}

const sealContext = (tenantId: string, kid: string) => `signing-key:${tenantId}:${kid}`;

/**
 * Readiness: the node can sign if a fresh key signs, and the newest stored key opens with this node's master key
 * (a wrong GATEHOUSE_MASTER_KEY breaks every tenant at once). One tenant's missing key does not make a node unready.
 */
export async function checkSigning(db: Database, sealer: Sealer): Promise<void> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  sign('sha256', Buffer.from('ready'), privateKey);
  const row = (
    await db.query<{ tenant_id: string; kid: string; private_key_enc: string }>(
      `SELECT tenant_id, kid, private_key_enc FROM signing_keys WHERE status = 'active' ORDER BY created_at DESC LIMIT 1`,
    )
  ).rows[0];
  if (row) sealer.open(row.private_key_enc, sealContext(row.tenant_id, row.kid));
}

/** Creates and stores a new active key for the tenant, inside the caller's transaction. */
export async function insertSigningKey(tx: TenantDb, sealer: Sealer, alg: SigningAlg): Promise<string> {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const publicJwk = { ...jwk, kid, alg, use: 'sig' };
  const pem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await tx.query(
    `INSERT INTO signing_keys (kid, alg, public_jwk, private_key_enc, status) VALUES ($1, $2, $3, $4, 'active')`,
    [kid, alg, JSON.stringify(publicJwk), sealer.seal(pem, sealContext(tx.tenantId, kid))],
  );
  return kid;
}

/**
 * Retires the active key(s) and adds a new one. A retired key stays in the JWKS and verifies tokens until
 * `graceSeconds` (the longest access-token lifetime plus skew) have passed.
 */
export async function rotateSigningKey(tx: TenantDb, sealer: Sealer, alg: SigningAlg, graceSeconds: number) {
  const retired = await tx.query<{ kid: string }>(
    `UPDATE signing_keys SET status = 'retired', retired_at = now(), expires_at = now() + make_interval(secs => $1)
     WHERE status = 'active' RETURNING kid`,
    [graceSeconds],
  );
  const kid = await insertSigningKey(tx, sealer, alg);
  return { kid, retired: retired.rows.map((r) => r.kid) };
}

/** The public keys a tenant publishes: active ones and retired ones that may still verify a live token. */
export async function listPublicJwks(tx: TenantDb): Promise<JWK[]> {
  const r = await tx.query<{ public_jwk: JWK }>(
    `SELECT public_jwk FROM signing_keys WHERE status = 'active' OR expires_at > now() ORDER BY created_at DESC`,
  );
  return r.rows.map((row) => row.public_jwk);
}

/**
 * Keeps each tenant's decrypted keys in memory. Entries refresh after `ttlMs`; a token with an unknown kid
 * triggers at most one reload per `reloadMs`, so a rotation on another node is picked up without a restart.
 */
export function createKeyRingCache(db: Database, sealer: Sealer, opts: { ttlMs?: number; reloadMs?: number } = {}) {
  const ttlMs = opts.ttlMs ?? 60_000;
  const reloadMs = opts.reloadMs ?? 5_000;
  const cache = new Map<string, { ring: Promise<KeyRing>; loadedAt: number }>();

  async function load(tenantId: string): Promise<KeyRing> {
    const rows = await withTenantTx(db, tenantId, async (tx) =>
      (
        await tx.query<KeyRow>(
          `SELECT kid, alg, public_jwk, private_key_enc, status FROM signing_keys
           WHERE status = 'active' OR expires_at > now() ORDER BY created_at DESC`,
        )
      ).rows,
    );
    const activeRow = rows.find((r) => r.status === 'active');
    if (!activeRow) throw new Error(`tenant ${tenantId} has no active signing key`);
    const byKid = new Map<string, VerifyKey>();
    for (const r of rows) byKid.set(r.kid, { alg: r.alg, publicKey: createPublicKey({ key: r.public_jwk as never, format: 'jwk' }) });
    const pem = sealer.open(activeRow.private_key_enc, sealContext(tenantId, activeRow.kid));
    return { active: { kid: activeRow.kid, alg: activeRow.alg, privateKey: createPrivateKey(pem) }, byKid };
  }

  function get(tenantId: string, now = Date.now()): Promise<KeyRing> {
    const hit = cache.get(tenantId);
    if (hit && now - hit.loadedAt < ttlMs) return hit.ring;
    const ring = load(tenantId);
    cache.set(tenantId, { ring, loadedAt: now });
    ring.catch(() => cache.delete(tenantId));
    return ring;
  }

  return {
    get,
    /** The verification key for a kid, reloading once if the kid is new to this node. */
    async verifyKey(tenantId: string, kid: string): Promise<VerifyKey | undefined> {
      const ring = await get(tenantId);
      const key = ring.byKid.get(kid);
      if (key) return key;
      const hit = cache.get(tenantId);
      if (hit && Date.now() - hit.loadedAt < reloadMs) return undefined;
      cache.delete(tenantId);
      return (await get(tenantId)).byKid.get(kid);
    },
    invalidate(tenantId: string) {
      cache.delete(tenantId);
    },
  };
}

export type KeyRingCache = ReturnType<typeof createKeyRingCache>;

import { createHmac, hkdfSync } from 'node:crypto';
import type { Gatehouse } from '../context.ts';
import { loadMasterKey } from '../keys/master-key.ts';

const keys = new WeakMap<Gatehouse, Buffer>();

/** A key for decoys, derived from the master key, so every node answers an email with the same decoys. */
export function decoyKey(gh: Gatehouse): Buffer {
  let k = keys.get(gh);
  if (!k) {
    const master = loadMasterKey(gh.config.masterKey, gh.config.dataDir).key;
    k = Buffer.from(hkdfSync('sha256', master, 'gatehouse', 'webauthn-decoy-credentials-v1', 32));
    keys.set(gh, k);
  }
  return k;
}

// Credential id lengths and transports seen from real authenticators (platform passkeys, synced, security keys).
const LENGTHS = [16, 20, 32, 48, 64] as const;
const TRANSPORTS = [['internal', 'hybrid'], ['hybrid', 'internal'], ['usb', 'nfc'], ['internal'], ['usb']] as const;

/**
 * What sign-in options name for an email without passkeys (unknown, or no passkey registered): one or two
 * credential ids that look like real ones and are a keyed function of (tenant, email), so asking twice gives the
 * same answer, as it would for an account that has passkeys. Nobody can answer them: no such credential exists.
 */
export function decoyCredentials(key: Buffer, tenantId: string, email: string): { id: string; transports: string[] }[] {
  const seed = createHmac('sha256', key).update(`${tenantId}\u0000${email}`).digest();
  const count = 1 + (seed[0]! % 3 === 0 ? 1 : 0);
  const out: { id: string; transports: string[] }[] = [];
  for (let i = 0; i < count; i++) {
    const len = LENGTHS[seed[1 + i]! % LENGTHS.length]!;
    const bytes = Buffer.concat([0, 1].map((j) => createHmac('sha256', key).update(seed).update(`id${i}.${j}`).digest())).subarray(0, len);
    out.push({ id: bytes.toString('base64url'), transports: [...TRANSPORTS[seed[3 + i]! % TRANSPORTS.length]!] });
  }
  return out;
}

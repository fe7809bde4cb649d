import type { KeyObject } from 'node:crypto';
import { base64url, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { TestApp } from './test-app.ts';

/**
 * Building blocks for hostile tokens. Each attack test also signs a *valid* token with the same machinery and
 * checks it is accepted, so a rejection proves the defence, not a broken forgery.
 */

const enc = (value: unknown) => base64url.encode(JSON.stringify(value));

export function splitJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signature: string } {
  const [h, p, s] = token.split('.');
  const dec = new TextDecoder();
  return {
    header: JSON.parse(dec.decode(base64url.decode(h!))) as Record<string, unknown>,
    payload: JSON.parse(dec.decode(base64url.decode(p!))) as Record<string, unknown>,
    signature: s ?? '',
  };
}

/** header.payload.signature with the given parts JSON-encoded as-is (no signing). */
export function assemble(header: Record<string, unknown>, payload: Record<string, unknown>, signature = ''): string {
  return `${enc(header)}.${enc(payload)}.${signature}`;
}

/** Replaces the payload of a real token, keeping its header and signature bytes. */
export function withPayload(token: string, payload: Record<string, unknown>): string {
  const [h, , s] = token.split('.');
  return `${h}.${enc(payload)}.${s}`;
}

/** Replaces the protected header of a real token, keeping its payload and signature bytes. */
export function withHeader(token: string, header: Record<string, unknown>): string {
  const [, p, s] = token.split('.');
  return `${enc(header)}.${p}.${s}`;
}

export async function signJwt(key: KeyObject | Uint8Array, header: JWTHeaderParameters, payload: JWTPayload): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

/** The tenant's active private key and kid, straight from the key ring (what only the server holds). */
export async function tenantSigningKey(t: TestApp, tenantId: string) {
  const ring = await t.gh.keys.get(tenantId);
  const publicKey = ring.byKid.get(ring.active.kid)!.publicKey;
  return { kid: ring.active.kid, alg: ring.active.alg, privateKey: ring.active.privateKey, publicKey };
}

/** Signs `payload` exactly as the server would for the tenant (same key, kid, alg and typ), with header overrides. */
export async function signAsTenant(
  t: TestApp,
  tenantId: string,
  payload: JWTPayload,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  const k = await tenantSigningKey(t, tenantId);
  return signJwt(k.privateKey, { alg: k.alg, kid: k.kid, typ: 'at+jwt', ...header } as JWTHeaderParameters, payload);
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

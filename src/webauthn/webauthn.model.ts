import type { CredentialDeviceType } from '@simplewebauthn/server';

export type DeviceType = 'single_device' | 'multi_device';

export interface WebauthnCredentialRow {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: string;
  user_handle: string;
  counter: number;
  transports: string[];
  name: string;
  aaguid: string;
  device_type: DeviceType;
  backed_up: boolean;
  created_at: Date;
  last_used_at: Date | null;
}

/** What a user sees of their passkeys: never the key material. */
export interface PublicWebauthnCredential {
  id: string;
  name: string;
  aaguid: string;
  device_type: DeviceType;
  backed_up: boolean;
  transports: string[];
  created_at: Date;
  last_used_at: Date | null;
}

export function toPublicCredential(c: WebauthnCredentialRow): PublicWebauthnCredential {
  return {
    id: c.id,
    name: c.name,
    aaguid: c.aaguid,
    device_type: c.device_type,
    backed_up: c.backed_up,
    transports: c.transports,
    created_at: c.created_at,
    last_used_at: c.last_used_at,
  };
}

export function deviceTypeOf(t: CredentialDeviceType): DeviceType {
  return t === 'multiDevice' ? 'multi_device' : 'single_device';
}

/** RFC 8176 method for a passkey sign-in: proof of possession of a hardware-secured or a software-secured key. */
export type PasskeyAmr = 'hwk' | 'swk';

/**
 * The rule: the authenticator data's backup-eligible flag (BE) decides. A credential that may be backed up
 * (multi-device: a synced passkey in iCloud Keychain, Google Password Manager, a password manager) has key
 * material that leaves the authenticator, so it proves a software-secured key: `swk`. A credential that can never
 * leave its authenticator (single-device: a security key, a TPM- or secure-element-bound platform key) proves a
 * hardware-secured key: `hwk`. BE is fixed for a credential's life, so the answer never changes between sign-ins.
 */
export function amrFor(deviceType: DeviceType): PasskeyAmr {
  return deviceType === 'multi_device' ? 'swk' : 'hwk';
}

/** A credential id as the authenticator gave it: base64url without padding. */
export const CREDENTIAL_ID = /^[A-Za-z0-9_-]{16,1400}$/;

/** The WebAuthn user handle of a Gatehouse user: the 16 bytes of their UUID (opaque, no personal data). */
export function userHandleOf(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));
}

export const MAX_CREDENTIALS_PER_USER = 20;

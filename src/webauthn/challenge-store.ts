import type { KvStore } from '../kv/kv-store.ts';
import { AppError } from '../errors/app-error.ts';
import { randomToken, sha256 } from '../shared/crypto.ts';

/** How long a ceremony may take, from options to verify. */
export const CHALLENGE_TTL_SECONDS = 300;

export type CeremonyPurpose = 'registration' | 'login' | 'second_factor';

/** A ceremony waiting for its response, kept server-side: the challenge and who it was issued to. */
export interface PendingCeremony {
  purpose: CeremonyPurpose;
  /** The base64url challenge the authenticator must sign. */
  challenge: string;
  /** Registration and second factor: the user. Login with an email: the account the email names, else null. */
  userId: string | null;
  /** Login: whether the options named an account (allowCredentials) rather than asking for any discoverable credential. */
  boundToEmail?: boolean;
}

/*
 * Keys hold only SHA-256 digests of the ids handed out: a read of the store does not yield usable ids. Every
 * pending ceremony is bound to the tenant by its key and taken atomically, so it is used at most once, within its
 * TTL, in the tenant it was issued in.
 */
const key = (tenantId: string, id: string) => `webauthn:${tenantId}:${sha256(id)}`;

/** Stores a login or second-factor ceremony under a fresh opaque id (256 bits) and returns the id. */
export async function saveCeremony(kv: KvStore, tenantId: string, pending: PendingCeremony): Promise<string> {
  const id = randomToken(32);
  await kv.set(key(tenantId, id), JSON.stringify(pending), CHALLENGE_TTL_SECONDS);
  return id;
}

/**
 * Registrations are keyed by their user and challenge (the response carries the challenge), and by `binding` when
 * the ceremony belongs to something narrower than the user: the enrollment step of one sign-in binds it to a digest
 * of its mfa_token, so its options answer that enrollment only (not /me, nor another sign-in's).
 */
const registrationId = (userId: string, challenge: string, binding?: string) => (binding ? `reg:${userId}:${binding}:${challenge}` : `reg:${userId}:${challenge}`);

export async function saveRegistration(kv: KvStore, tenantId: string, userId: string, challenge: string, binding?: string): Promise<void> {
  const pending: PendingCeremony = { purpose: 'registration', challenge, userId };
  await kv.set(key(tenantId, registrationId(userId, challenge, binding)), JSON.stringify(pending), CHALLENGE_TTL_SECONDS);
}

export async function takeRegistration(kv: KvStore, tenantId: string, userId: string, challenge: string, binding?: string): Promise<PendingCeremony> {
  return takeCeremony(kv, tenantId, registrationId(userId, challenge, binding), 'registration', userId);
}

/**
 * Takes a pending ceremony once. Unknown, expired, already used, issued for another purpose or another user: all
 * WEBAUTHN_CHALLENGE_INVALID.
 */
export async function takeCeremony(
  kv: KvStore,
  tenantId: string,
  id: string,
  purpose: CeremonyPurpose,
  userId?: string,
): Promise<PendingCeremony> {
  const raw = await kv.take(key(tenantId, id));
  const pending = raw ? (JSON.parse(raw) as PendingCeremony) : undefined;
  if (!pending || pending.purpose !== purpose || (userId !== undefined && pending.userId !== userId)) {
    throw new AppError('WEBAUTHN_CHALLENGE_INVALID');
  }
  return pending;
}

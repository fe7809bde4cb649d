import { constantTimeEqual, randomToken, sha256 } from '../../shared/crypto.ts';
import type { ClientRow } from './client.model.ts';

/** Client secrets: 256 CSPRNG bits. High entropy needs no slow hash: SHA-256 digests, compared in constant time. */
export const CLIENT_SECRET_PREFIX = 'ghcs_';
export const newClientSecret = () => randomToken(32, CLIENT_SECRET_PREFIX);
export const newClientId = () => randomToken(16, 'ghc_');

/**
 * True when `presented` is the client's current secret, or its previous one while the rotation overlap lasts.
 * Both digests are always compared, so timing tells nothing about which matched.
 */
export function verifyClientSecret(client: Pick<ClientRow, 'secret_hash' | 'previous_secret_hash' | 'previous_secret_expires_at'>, presented: string, now = new Date()): boolean {
  const digest = sha256(presented);
  const current = client.secret_hash !== null && constantTimeEqual(digest, client.secret_hash);
  const previousLive = client.previous_secret_hash !== null && client.previous_secret_expires_at !== null && client.previous_secret_expires_at > now;
  const previous = constantTimeEqual(digest, client.previous_secret_hash ?? '') && previousLive;
  return current || previous;
}

import { randomInt } from 'node:crypto';
import { sha256 } from '../shared/crypto.ts';

export const BACKUP_CODE_COUNT = 10;
/** No 0/o, 1/i/l: codes are read off paper. 31 symbols. */
const ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
const LENGTH = 16;

/**
 * Ten codes of 16 symbols from the CSPRNG (16 × log2(31) ≈ 79 bits each), shown as `xxxx-xxxx-xxxx-xxxx`.
 *
 * Why SHA-256 and not argon2: a slow hash protects low-entropy secrets (passwords) from offline guessing. At ~79
 * bits, guessing even one code from a stolen hash takes ~2^78 SHA-256 evaluations — centuries on any hardware —
 * so a fast hash loses nothing, and lets a code be found by an indexed lookup and used once atomically. The user id
 * is hashed in, so equal codes of two users never share a hash and no table can be precomputed across users. Online
 * guessing is bounded by the per-user MFA attempt limit.
 */
export function newBackupCodes(): string[] {
  return Array.from({ length: BACKUP_CODE_COUNT }, () => {
    let s = '';
    for (let i = 0; i < LENGTH; i++) s += ALPHABET[randomInt(ALPHABET.length)];
    return s.match(/.{4}/g)!.join('-');
  });
}

/** Case, spaces and hyphens do not matter when a code is typed back. */
export function normalizeBackupCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]/g, '');
}

export function hashBackupCode(userId: string, code: string): string {
  return sha256(`${userId}:${normalizeBackupCode(code)}`);
}

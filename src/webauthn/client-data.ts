import { AppError } from '../errors/app-error.ts';
import type { ErrorCode } from '../errors/codes.ts';

/**
 * The challenge a WebAuthn response claims to answer, read from its clientDataJSON (not yet trusted: the library
 * checks it against the stored one, and the signature covers it).
 */
export function claimedChallenge(response: { response?: { clientDataJSON?: unknown } }, code: ErrorCode): string {
  const raw = response.response?.clientDataJSON;
  try {
    if (typeof raw !== 'string') throw new Error('no clientDataJSON');
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { challenge?: unknown };
    if (typeof parsed.challenge !== 'string' || !/^[A-Za-z0-9_-]{16,200}$/.test(parsed.challenge)) throw new Error('no challenge');
    return parsed.challenge;
  } catch (cause) {
    throw new AppError(code, { cause });
  }
}

import { createHash } from 'node:crypto';
import { constantTimeEqual } from '../../shared/crypto.ts';
import { InvalidRequest } from '../oauth-error.ts';

/** RFC 7636 §4.1: 43-128 unreserved characters (the verifier), and its S256 challenge is the same length range. */
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

/**
 * At /authorize: every client sends a PKCE challenge, and only S256 (OAuth 2.1). `plain` and a missing method are
 * refused (RFC 7636 says a missing method means plain).
 */
export function checkPkce(params: Record<string, string>): string {
  const { code_challenge: challenge, code_challenge_method: method } = params;
  if (!challenge) throw InvalidRequest('PKCE is required: send code_challenge with code_challenge_method=S256.');
  if (method !== 'S256') throw InvalidRequest('code_challenge_method must be S256 (plain is not allowed).');
  if (!PKCE_VALUE.test(challenge)) throw InvalidRequest('code_challenge is malformed.');
  return challenge;
}

/** At the token endpoint: does the verifier hash to the code's challenge? */
export function verifyPkce(verifier: string | undefined, challenge: string): boolean {
  if (!verifier || !PKCE_VALUE.test(verifier)) return false;
  return constantTimeEqual(createHash('sha256').update(verifier, 'ascii').digest('base64url'), challenge);
}

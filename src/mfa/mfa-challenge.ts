import type { AuditContext } from '../audit/audit.ts';
import { openSignInSession, type ClientInfo, type TokenResponse } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { findUserById } from '../identity/user.queries.ts';
import type { CurrentSignals } from '../risk/login-risk.ts';
import { randomToken, sha256 } from '../shared/crypto.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';

/*
 * The pending second step of a sign-in (better-auth's lesson: a user between factors holds no session). A challenge
 * is an opaque 256-bit token handed to the client (`mfa_token`); the key-value store keeps only its SHA-256, under
 * the tenant's id, with the user, the methods already passed and what the session will need. It is single use:
 * completing takes it atomically, so two racing completions cannot both open a session. Wrong codes do not burn it
 * (they count against the user's MFA attempt limit instead). A token presented at another tenant is simply not
 * found there.
 *
 * Factors complete it through `completeMfaChallenge(..., factorAmr)`: TOTP and backup codes here ('otp'); WebAuthn
 * ('hwk' / 'swk') can complete the same challenge.
 */

export const MFA_TOKEN_PREFIX = 'ghm_';
/** A password-verified sign-in waits this long for its second factor. */
export const LOGIN_CHALLENGE_TTL = 300;
/** A sign-in that must first enroll a factor (tenant policy, grace over) gets longer: installing an app takes time. */
export const ENROLL_CHALLENGE_TTL = 900;
/** How long past expiry a challenge is still recognised, to answer MFA_TOKEN_EXPIRED rather than MFA_TOKEN_INVALID. */
const EXPIRED_MEMORY = 300;

export type ChallengePurpose = 'login' | 'enroll';

export interface MfaChallenge {
  tenantId: string;
  userId: string;
  purpose: ChallengePurpose;
  /** Methods already passed (RFC 8176), e.g. ['pwd']. */
  amr: string[];
  /** Epoch milliseconds. */
  exp: number;
  /** Merged into login.succeeded (risk score and reasons of the password step). */
  details: Record<string, unknown>;
  signals: CurrentSignals;
}

const keyOf = (tenantId: string, token: string) => `mfa-challenge:${tenantId}:${sha256(token)}`;

export async function createMfaChallenge(
  gh: Gatehouse,
  c: Omit<MfaChallenge, 'exp'>,
  ttlSeconds: number,
): Promise<{ mfa_token: string; expires_in: number }> {
  const token = randomToken(32, MFA_TOKEN_PREFIX);
  const challenge: MfaChallenge = { ...c, exp: Date.now() + ttlSeconds * 1000 };
  await gh.kv.set(keyOf(c.tenantId, token), JSON.stringify(challenge), ttlSeconds + EXPIRED_MEMORY);
  return { mfa_token: token, expires_in: ttlSeconds };
}

/**
 * The live challenge behind a token, without using it up. 401 MFA_TOKEN_INVALID when unknown, completed or from
 * another tenant; 401 MFA_TOKEN_EXPIRED when its time is up; a token of the other purpose is invalid here.
 */
export async function readMfaChallenge(gh: Gatehouse, tenant: ResolvedTenant, token: string, purpose: ChallengePurpose): Promise<MfaChallenge> {
  if (!token.startsWith(MFA_TOKEN_PREFIX) || token.length > 100) throw new AppError('MFA_TOKEN_INVALID');
  const raw = await gh.kv.get(keyOf(tenant.id, token));
  if (!raw) throw new AppError('MFA_TOKEN_INVALID');
  const c = JSON.parse(raw) as MfaChallenge;
  if (c.tenantId !== tenant.id || c.purpose !== purpose) throw new AppError('MFA_TOKEN_INVALID');
  if (Date.now() >= c.exp) {
    await gh.kv.delete(keyOf(tenant.id, token));
    throw new AppError('MFA_TOKEN_EXPIRED');
  }
  return c;
}

/** Uses the token up; only the first of concurrent callers gets past this. */
export async function consumeMfaChallenge(gh: Gatehouse, tenant: ResolvedTenant, token: string): Promise<void> {
  if (!(await gh.kv.take(keyOf(tenant.id, token)))) throw new AppError('MFA_TOKEN_INVALID');
}

/**
 * Opens the session of a challenge whose second factor has passed: the same commit as a password login (session
 * cap, refresh token, risk signals, login.succeeded), with amr = the challenge's methods + `factorAmr` and aal 2.
 * The caller has consumed the challenge.
 */
export async function completeMfaChallenge(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  c: MfaChallenge,
  factorAmr: string,
  method: string,
  ctx: AuditContext,
  client: ClientInfo,
): Promise<TokenResponse> {
  const user = await withTenantTx(gh.db, tenant.id, (tx) => findUserById(tx, c.userId));
  if (!user) throw new AppError('MFA_TOKEN_INVALID');
  // Disabled (or locked by an admin) between the two steps: no session.
  if (user.status === 'disabled') throw new AppError('ACCOUNT_DISABLED');
  const amr = [...new Set([...c.amr, factorAmr])];
  const first = c.amr.includes('pwd') ? 'password' : c.amr.includes('email') ? 'email' : c.amr.join('+');
  return openSignInSession(
    gh,
    tenant,
    user,
    { amr, aal: 2, method: `${first}+${method}`, details: c.details, signals: c.signals },
    client,
    { ...ctx, actorType: 'user', actorId: user.id },
  );
}

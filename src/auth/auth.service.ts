import { randomUUID } from 'node:crypto';
import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { commitLogin, findLoginUser } from './login.queries.ts';
import { assertNotLocked, guardLogin, guardRegistration, onLoginFailure, onLoginSuccess } from '../protection/login-protection.ts';
import { assessLoginRisk, currentSignals, type CurrentSignals } from '../risk/login-risk.ts';
import { enforceRiskPolicy } from '../risk/risk-policy.ts';
import { AppError } from '../errors/app-error.ts';
import { findUserById, recordLogin } from '../identity/user.queries.ts';
import { insertUserChecked, preparePassword } from '../identity/user.service.ts';
import { normalizeEmail, toPublicUser, type PublicUser, type UserRow } from '../identity/user.model.ts';
import { permissionsOf } from '../rbac/roles.ts';
import { createSession, revokeSessions, revokeUserSessions, rotateRefreshToken, type SessionRow } from '../session/session.queries.ts';
import { rotateRefreshTokenQuick } from '../session/rotate-refresh.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { issueAccessToken, type AccessClaims } from '../tokens/access-token.ts';
import { denySessions, denyToken } from '../tokens/denylist.ts';
import { raiseAlert } from '../security/alerts.ts';
import { mfaStepAfterPassword, registerThenEnroll, registrationMfaRule, startMfaGrace, type MfaChallengeResponse } from '../mfa/mfa-login.ts';
import { queueEmailVerification } from '../email-flows/email-verification.ts';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  user: PublicUser;
  /** The tenant's MFA policy applies and the user has no factor yet: enroll before the deadline (grace period). */
  mfa_enrollment_required?: true;
  mfa_enrollment_deadline?: string;
}

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/** Signs the access token for a session and shapes the login response. */
export async function tokenResponse(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  user: UserRow,
  session: Pick<SessionRow, 'id' | 'amr' | 'aal'>,
  refreshToken: string,
): Promise<TokenResponse> {
  const ttl = effectiveSettings(tenant).access_token_ttl;
  const started = performance.now();
  const { token } = await issueAccessToken(gh.keys, {
    issuer: tenant.issuer,
    tenantId: tenant.id,
    tenantSlug: tenant.slug,
    plan: tenant.plan,
    ttlSeconds: ttl,
    user,
    permissions: permissionsOf(user.role),
    session,
  });
  gh.metrics.tokenDuration.observe({ operation: 'sign' }, (performance.now() - started) / 1000);
  return { access_token: token, token_type: 'Bearer', expires_in: ttl, refresh_token: refreshToken, user: toPublicUser(user) };
}

/** The platform API's maximum access_token_ttl: no access token can live longer. */
const LONGEST_ACCESS_TOKEN_TTL = 86_400;

async function afterCommit(gh: Gatehouse, tenant: ResolvedTenant, revoked: string[]) {
  // A revoked session's tokens may predate a lowered access_token_ttl: deny for the longest lifetime any token can have.
  const ttl = Math.max(effectiveSettings(tenant).access_token_ttl, LONGEST_ACCESS_TOKEN_TTL);
  if (revoked.length) await denySessions(gh.kv, revoked, ttl);
}

/** What a completed sign-in commits, whatever proved it (password, second factor, passkey, mailed link or code). */
export interface SignIn {
  amr: string[];
  aal: number;
  /** Audit method (login.succeeded) and metric label. */
  method: string;
  details: Record<string, unknown>;
  signals: CurrentSignals;
  /** An upgraded password hash to store with the stamp. */
  newHash?: string | undefined;
  /** Fields the sign-in changed on the user besides the stamp (a mailed link verifies the address). */
  changed?: Partial<UserRow>;
}

/**
 * Opens the session of a completed sign-in through the one commit (gatehouse_commit_login): the stamp, the session
 * and its first refresh token, eviction beyond the cap, the audit events. Then the per-process bookkeeping every
 * way in shares (user cache, denylisting evicted sessions, metrics) and the token response.
 */
export async function openSignInSession(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  user: UserRow,
  sign: SignIn,
  client: ClientInfo,
  ctx: AuditContext,
): Promise<TokenResponse> {
  const s = await commitLogin(
    gh.db,
    tenant.id,
    { userId: user.id, sessionId: randomUUID(), newHash: sign.newHash, ...client, amr: sign.amr, aal: sign.aal, method: sign.method, details: sign.details, signals: sign.signals },
    effectiveSettings(tenant),
    ctx,
  );
  gh.users.invalidate(tenant.id, user.id);
  await afterCommit(gh, tenant, s.evicted);
  gh.metrics.authAttempts.inc({ tenant: tenant.slug, result: 'success', method: sign.method });
  gh.metrics.activeSessions.inc(1 - s.evicted.length);
  // As committed: the stamp (the commit's own time, as stored), and a lock that had run out cleared.
  const now = s.stampedAt;
  const lockOver = user.status === 'locked' && user.locked_until !== null && user.locked_until <= now;
  const fresh: UserRow = {
    ...user,
    ...sign.changed,
    ...(lockOver ? { status: 'active' as const, locked_until: null } : {}),
    login_count: user.login_count + 1,
    last_login_at: now,
  };
  return tokenResponse(gh, tenant, fresh, s.session, s.refreshToken);
}

export async function register(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  input: { email: string; password: string; name?: string | undefined },
  ctx: AuditContext,
  client: ClientInfo,
  opts: { acceptLanguage?: string | undefined } = {},
): Promise<TokenResponse | MfaChallengeResponse> {
  const settings = effectiveSettings(tenant);
  if (settings.registration !== 'open') throw new AppError('REGISTRATION_CLOSED');
  await guardRegistration(gh, tenant, ctx);
  const passwordHash = await preparePassword(gh, tenant, input.password, input);
  // Under a tenant MFA policy the grace period starts now; with none, the new account must enroll before any session.
  const mfaRule = registrationMfaRule(settings);
  if (mfaRule.kind === 'enroll') return registerThenEnroll(gh, tenant, { ...input, passwordHash }, ctx, client);
  const { user, session, refreshToken } = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const user = await insertUserChecked(tx, tenant, { ...input, passwordHash }, { ctx, action: 'user.registered' });
    // 'optional' email verification: signed in at once (email_verified false in tokens), with a link to verify.
    await queueEmailVerification(tx, gh, tenant, user, opts);
    await recordLogin(tx, user.id);
    if (mfaRule.kind === 'grace') await startMfaGrace(tx, user.id);
    const s = await createSession(tx, { userId: user.id, ...client, amr: ['pwd'], aal: 1 }, settings);
    await recordAudit(tx, ctx, { action: 'login.succeeded', actorId: user.id, actorType: 'user', subjectId: user.id, details: { method: 'password', session_id: s.session.id, registration: true } });
    return { user: { ...user, login_count: user.login_count + 1, last_login_at: new Date() }, ...s };
  });
  gh.metrics.authAttempts.inc({ tenant: tenant.slug, result: 'success', method: 'register' });
  gh.metrics.activeSessions.inc();
  const response = await tokenResponse(gh, tenant, user, session, refreshToken);
  if (mfaRule.kind === 'grace') Object.assign(response, { mfa_enrollment_required: true, mfa_enrollment_deadline: mfaRule.deadline.toISOString() });
  return response;
}

/**
 * Password login. An unknown email costs the same argon2 verification as a known one and gets the same answer,
 * so neither the body, the status nor the timing tells whether an account exists.
 */
export async function login(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  input: { email: string; password: string },
  ctx: AuditContext,
  client: ClientInfo,
): Promise<TokenResponse | MfaChallengeResponse> {
  const settings = effectiveSettings(tenant);
  const email = normalizeEmail(input.email);
  // The limiter's reads and the account lookup at once: neither depends on the other, and both come before the hash.
  const [{ ids, recentFailures }, { user, signals: known, mfa }] = await Promise.all([
    guardLogin(gh, tenant, email, ctx),
    findLoginUser(gh.db, tenant.id, email),
  ]);
  let verified = { ok: false, rehash: false };
  if (user?.password_hash) verified = await gh.hasher.verify(user.password_hash, input.password);
  else await gh.hasher.verifyDummy(input.password);

  if (!user || !verified.ok) {
    await onLoginFailure(gh, tenant, ids, user, ctx);
    await withTenantTx(gh.db, tenant.id, (tx) =>
      recordAudit(tx, ctx, {
        action: 'login.failed',
        subjectId: user?.id ?? null,
        risk: 'medium',
        details: { method: 'password', email, reason: user ? 'wrong_password' : 'unknown_email' },
      }),
    );
    gh.metrics.authAttempts.inc({ tenant: tenant.slug, result: 'failure', method: 'password' });
    throw new AppError('INVALID_CREDENTIALS');
  }
  // Only someone who holds the password learns the account is locked or disabled.
  assertNotLocked(user);
  if (user.status === 'disabled') {
    gh.metrics.authAttempts.inc({ tenant: tenant.slug, result: 'blocked', method: 'password' });
    throw new AppError('ACCOUNT_DISABLED');
  }
  // Like the lock: only someone who holds the password learns the address is unverified.
  if (settings.email_verification === 'required' && !user.email_verified) throw new AppError('EMAIL_NOT_VERIFIED');
  const signals = currentSignals(client.ip, client.userAgent, user.timezone, new Date(), gh.geo?.locate(client.ip) ?? null);
  const risk = assessLoginRisk(known, signals, { userAgent: client.userAgent, recentFailures });
  await enforceRiskPolicy(gh, tenant, user, risk, ctx);
  const newHash = verified.rehash ? await gh.hasher.hash(input.password) : undefined;
  // A user with a factor (or one the tenant's MFA policy makes enroll) gets a challenge instead of a session.
  const riskDetails = { risk_score: risk.score, risk_reasons: risk.reasons };
  const step = await mfaStepAfterPassword(gh, tenant, user, mfa, { details: riskDetails, signals, newHash }, ctx);
  if (step.kind === 'challenge') {
    gh.users.invalidate(tenant.id, user.id);
    await onLoginSuccess(gh, tenant, ids, user.id, recentFailures);
    gh.metrics.authAttempts.inc({ tenant: tenant.slug, result: 'mfa_required', method: 'password' });
    return step.response;
  }
  const response = await openSignInSession(gh, tenant, user, { amr: ['pwd'], aal: 1, method: 'password', details: riskDetails, signals, newHash }, client, ctx);
  await onLoginSuccess(gh, tenant, ids, user.id, recentFailures);
  if (step.enrollmentDeadline) {
    response.mfa_enrollment_required = true;
    response.mfa_enrollment_deadline = step.enrollmentDeadline.toISOString();
  }
  return response;
}

/** Rotates a refresh token. Reuse of a rotated one revokes the session (committed) and answers REFRESH_TOKEN_REUSED. */
export async function refresh(gh: Gatehouse, tenant: ResolvedTenant, presented: string, ctx: AuditContext): Promise<TokenResponse> {
  const settings = effectiveSettings(tenant);
  const started = performance.now();
  const quick = await rotateRefreshTokenQuick(gh.db, tenant.id, presented, settings, null, ctx);
  if (quick.kind === 'invalid') throw new AppError('REFRESH_TOKEN_INVALID');
  if (quick.kind === 'rotated') {
    const response = await tokenResponse(gh, tenant, quick.user, quick.session, quick.refreshToken);
    gh.metrics.tokenDuration.observe({ operation: 'refresh' }, (performance.now() - started) / 1000);
    return response;
  }
  // Already rotated (grace window or reuse) or the user disabled: the general path, in a transaction.
  const outcome = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const r = await rotateRefreshToken(tx, presented, settings);
    if (r.kind === 'invalid') return r;
    if (r.kind === 'reused') {
      await recordAudit(tx, ctx, {
        action: 'token.refresh.reuse_detected',
        actorType: 'anonymous',
        actorId: null,
        subjectId: r.session.user_id,
        risk: 'high',
        details: { session_id: r.session.id },
      });
      await raiseAlert(tx, { type: 'refresh_token_reuse', userId: r.session.user_id, details: { session_id: r.session.id, ip: ctx.ip ?? null } }, { sealer: gh.sealer, tenant });
      return r;
    }
    const user = await findUserById(tx, r.session.user_id);
    // A lockout stops password sign-in, not the sessions the owner already has.
    if (!user || user.status === 'disabled') {
      await revokeSessions(tx, [r.session.id], 'user_inactive');
      return { kind: 'invalid' as const, revoked: r.session.id };
    }
    await recordAudit(tx, ctx, { action: 'token.refreshed', actorType: 'user', actorId: user.id, subjectId: user.id, details: { session_id: r.session.id } });
    return { ...r, user };
  });
  if (outcome.kind === 'reused') {
    await afterCommit(gh, tenant, [outcome.session.id]);
    gh.metrics.activeSessions.dec();
    throw new AppError('REFRESH_TOKEN_REUSED');
  }
  if (outcome.kind === 'invalid') {
    if ('revoked' in outcome) await afterCommit(gh, tenant, [outcome.revoked]);
    throw new AppError('REFRESH_TOKEN_INVALID');
  }
  const response = await tokenResponse(gh, tenant, outcome.user, outcome.session, outcome.refreshToken);
  gh.metrics.tokenDuration.observe({ operation: 'refresh' }, (performance.now() - started) / 1000);
  return response;
}

export async function logout(gh: Gatehouse, tenant: ResolvedTenant, claims: AccessClaims, ctx: AuditContext): Promise<void> {
  await withTenantTx(gh.db, tenant.id, async (tx) => {
    await revokeSessions(tx, [claims.sid], 'logout');
    await recordAudit(tx, ctx, { action: 'logout', subjectId: claims.sub, details: { session_id: claims.sid } });
  });
  await denyToken(gh.kv, claims.jti, claims.exp);
  await afterCommit(gh, tenant, [claims.sid]);
  gh.metrics.activeSessions.dec();
}

export async function logoutAll(gh: Gatehouse, tenant: ResolvedTenant, claims: AccessClaims, ctx: AuditContext): Promise<number> {
  const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const ids = await revokeUserSessions(tx, claims.sub, 'logout_all');
    await recordAudit(tx, ctx, { action: 'logout.all', subjectId: claims.sub, details: { sessions: ids.length } });
    return ids;
  });
  await denyToken(gh.kv, claims.jti, claims.exp);
  await afterCommit(gh, tenant, [...new Set([...revoked, claims.sid])]);
  gh.metrics.activeSessions.dec(revoked.length);
  return revoked.length;
}

export { afterCommit as denyRevokedSessions };

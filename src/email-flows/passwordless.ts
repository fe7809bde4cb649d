import { recordAudit, type AuditContext } from '../audit/audit.ts';
import { openSignInSession, type ClientInfo, type TokenResponse } from '../auth/auth.service.ts';
import { mfaStepAfterPassword, type MfaChallengeResponse } from '../mfa/mfa-login.ts';
import { loadMfaState } from '../mfa/mfa-state.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { normalizeEmail, type UserRow } from '../identity/user.model.ts';
import { findUserById } from '../identity/user.queries.ts';
import { enqueueMail, mailLocale } from '../mail/outbox.ts';
import { assertNotLocked } from '../protection/login-protection.ts';
import { currentSignals } from '../risk/login-risk.ts';
import { sha256 } from '../shared/crypto.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { checkEmailCode, codeHash, consumeEmailToken, EMAIL_TOKEN_TTL, issueEmailToken, newCodeNonce, newEmailCode, newEmailToken } from './email-tokens.ts';
import { flowLink } from './flow-link.ts';
import { guardMailRequest, withinMailBudget } from './mail-limits.ts';

export type PasswordlessMethod = 'link' | 'code';

function assertEnabled(tenant: ResolvedTenant) {
  if (!effectiveSettings(tenant).passwordless) throw new AppError('PASSWORDLESS_DISABLED');
}

/**
 * POST /auth/passwordless/start: 202 for every address. An account that is not disabled gets a magic link or a
 * 6-digit code (either replaces any earlier one); an unknown address gets nothing after the same work.
 */
export async function startPasswordless(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  input: { email: string; method: PasswordlessMethod },
  ctx: AuditContext,
  acceptLanguage?: string,
): Promise<void> {
  assertEnabled(tenant);
  const email = normalizeEmail(input.email);
  await guardMailRequest(gh, tenant, ctx);
  const budget = await withinMailBudget(gh, tenant, 'passwordless', email);
  await withTenantTx(gh.db, tenant.id, async (tx) => {
    const user = (await tx.query<Pick<UserRow, 'id' | 'locale' | 'status'>>('SELECT id, locale, status FROM users WHERE email = $1', [email])).rows[0];
    const send = !!user && user.status !== 'disabled' && budget;
    const locale = mailLocale(tenant, user?.locale, acceptLanguage);
    const common = { email, userId: user?.id ?? null, supersede: ['passwordless_link', 'passwordless_code'] as const, issue: send };
    if (input.method === 'link') {
      const token = newEmailToken();
      await issueEmailToken(tx, { ...common, supersede: [...common.supersede], purpose: 'passwordless_link', tokenHash: sha256(token) });
      const minutes = EMAIL_TOKEN_TTL.passwordless_link / 60;
      await enqueueMail(tx, gh.sealer, tenant, { to: email, template: 'passwordless_link', data: { url: flowLink(tenant, 'passwordless', token), minutes }, locale }, send);
    } else {
      const code = newEmailCode();
      const nonce = newCodeNonce();
      await issueEmailToken(tx, { ...common, supersede: [...common.supersede], purpose: 'passwordless_code', tokenHash: codeHash(code, nonce), data: { nonce } });
      const minutes = EMAIL_TOKEN_TTL.passwordless_code / 60;
      await enqueueMail(tx, gh.sealer, tenant, { to: email, template: 'passwordless_code', data: { code, minutes }, locale }, send);
    }
    await recordAudit(tx, ctx, { action: 'passwordless.requested', subjectId: user?.id ?? null, details: { email, method: input.method, sent: send } });
  });
}

/**
 * POST /auth/passwordless/verify with `{token}` (magic link) or `{email, code}`: an ordinary session (amr
 * ["email"], aal 1) through the one sign-in commit. The link or code is spent; a wrong code counts an attempt and
 * the fifth burns the code. Signing in this way proves control of the address, so it is marked verified.
 */
export async function verifyPasswordless(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  input: { token?: string | undefined; email?: string | undefined; code?: string | undefined },
  ctx: AuditContext,
  client: ClientInfo,
): Promise<TokenResponse | MfaChallengeResponse> {
  assertEnabled(tenant);
  const method = input.token ? 'email_link' : 'email_code';
  const outcome = await withTenantTx(gh.db, tenant.id, async (tx) => {
    let userId: string | null;
    let email: string;
    if (input.token) {
      const row = await consumeEmailToken(tx, input.token, 'passwordless_link');
      userId = row.user_id;
      email = row.email;
    } else {
      const checked = await checkEmailCode(tx, normalizeEmail(input.email!), input.code!, 'passwordless_code');
      // A wrong code's counted attempt must commit: answer after the transaction.
      if (!checked.ok) return { failed: checked.code };
      userId = checked.row.user_id;
      email = checked.row.email;
    }
    const user = userId ? await findUserById(tx, userId) : undefined;
    if (!user || user.email !== email) throw new AppError('EMAIL_TOKEN_INVALID');
    if (user.status === 'disabled') throw new AppError('ACCOUNT_DISABLED');
    assertNotLocked(user);
    if (!user.email_verified) await tx.query('UPDATE users SET email_verified = true, updated_at = now() WHERE id = $1', [user.id]);
    return { user };
  });
  if ('failed' in outcome) {
    await withTenantTx(gh.db, tenant.id, (tx) =>
      recordAudit(tx, ctx, { action: 'login.failed', risk: 'medium', details: { method, email: normalizeEmail(input.email!), reason: outcome.failed } }),
    );
    gh.metrics.authAttempts.inc({ tenant: tenant.slug, result: 'failure', method });
    throw new AppError(outcome.failed!);
  }
  const user = outcome.user;
  const signals = currentSignals(client.ip, client.userAgent, user.timezone);
  // The mailbox is one factor, as the password is: a user with MFA (or one the policy makes enroll) goes on to it.
  const mfa = await withTenantTx(gh.db, tenant.id, (tx) => loadMfaState(tx, user.id));
  const step = await mfaStepAfterPassword(gh, tenant, user, mfa, { details: {}, signals, newHash: undefined, firstFactor: ['email'] }, ctx);
  if (step.kind === 'challenge') {
    gh.users.invalidate(tenant.id, user.id);
    gh.metrics.authAttempts.inc({ tenant: tenant.slug, result: 'mfa_required', method });
    return step.response;
  }
  return openSignInSession(gh, tenant, user, { amr: ['email'], aal: 1, method, details: {}, signals, changed: { email_verified: true } }, client, ctx);
}

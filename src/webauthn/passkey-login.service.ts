import { generateAuthenticationOptions, type AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { AuditContext } from '../audit/audit.ts';
import { openSignInSession, type ClientInfo, type TokenResponse } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { normalizeEmail } from '../identity/user.model.ts';
import { findUserById } from '../identity/user.queries.ts';
import { assertNotLocked, rateLimited } from '../protection/login-protection.ts';
import { assessLoginRisk, currentSignals, type KnownSignal } from '../risk/login-risk.ts';
import { enforceRiskPolicy } from '../risk/risk-policy.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { assertionFailure, checkAssertion, type AssertionOptions } from './assertion.ts';
import { saveCeremony, takeCeremony } from './challenge-store.ts';
import { decoyCredentials, decoyKey } from './decoy-credentials.ts';
import { CEREMONY_TIMEOUT_MS } from './registration.service.ts';
import { relyingPartyFor } from './relying-party.ts';
import { findByCredentialId, findCredentialsByEmail } from './webauthn.queries.ts';
import { CREDENTIAL_ID } from './webauthn.model.ts';

/** Ceremonies started per client IP per minute: each holds a challenge in the store for 5 minutes. */
const OPTIONS_PER_IP_PER_MINUTE = 300;

async function guardOptions(gh: Gatehouse, tenant: ResolvedTenant, ctx: AuditContext) {
  const r = await gh.throttle.take('webauthn-options-ip', `${tenant.id}:${ctx.ip ?? 'unknown'}`, OPTIONS_PER_IP_PER_MINUTE, 60);
  if (!r.ok) {
    gh.metrics.rateLimitHits.inc({ tenant: tenant.slug, limit: 'webauthn_options' });
    throw rateLimited(r.retryAfter, OPTIONS_PER_IP_PER_MINUTE, 60, 'RATE_LIMITED.wait');
  }
}

/**
 * Options for a passwordless sign-in. Without an email: any discoverable credential of this RP (usernameless).
 * With an email: that account's credentials as allowCredentials; an email without passkeys (unknown, or none
 * registered) gets decoys shaped like real credentials, stable per email, from the same single lookup, so the
 * answer does not tell whether the account exists.
 */
export async function passkeyLoginOptions(gh: Gatehouse, tenant: ResolvedTenant, email: string | undefined, ctx: AuditContext): Promise<AssertionOptions> {
  await guardOptions(gh, tenant, ctx);
  const rp = relyingPartyFor(tenant);
  let allowCredentials: { id: string; transports: string[] }[] | undefined;
  let userId: string | null = null;
  if (email !== undefined) {
    const e = normalizeEmail(email);
    const found = await withTenantTx(gh.db, tenant.id, (tx) => findCredentialsByEmail(tx, e));
    if (found.credentials.length) {
      userId = found.userId;
      allowCredentials = found.credentials.map((c) => ({ id: c.credential_id, transports: c.transports }));
    } else {
      allowCredentials = decoyCredentials(decoyKey(gh), tenant.id, e);
    }
  }
  const options = await generateAuthenticationOptions({ rpID: rp.id, allowCredentials, timeout: CEREMONY_TIMEOUT_MS, userVerification: 'preferred' });
  const challengeId = await saveCeremony(gh.kv, tenant.id, { purpose: 'login', challenge: options.challenge, userId, boundToEmail: email !== undefined });
  return { challenge_id: challengeId, options };
}

/**
 * Passwordless sign-in: verifies the assertion, refuses disabled and locked accounts as the password login does,
 * applies the tenant's risk policy and opens a session in the one sessions table (commitLogin) with
 * amr [hwk|swk] and aal 2 when the authenticator verified the user (PIN, biometrics), else aal 1.
 */
export async function passkeyLogin(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  input: { challengeId: string; response: AuthenticationResponseJSON },
  ctx: AuditContext,
  client: ClientInfo,
): Promise<TokenResponse> {
  const pending = await takeCeremony(gh.kv, tenant.id, input.challengeId, 'login');
  const { response } = input;
  const found = CREDENTIAL_ID.test(response.id)
    ? await withTenantTx(gh.db, tenant.id, async (tx) => {
        const credential = await findByCredentialId(tx, response.id);
        const user = credential ? await findUserById(tx, credential.user_id) : undefined;
        const known = user
          ? (await tx.query<KnownSignal>(`SELECT kind, value, seen_count FROM login_signals WHERE user_id = $1`, [user.id])).rows
          : [];
        return credential && user ? { credential, user, known } : undefined;
      })
    : undefined;
  if (!found) throw await assertionFailure(gh, tenant, ctx, pending, null, 'unknown_credential');
  const { credential, user, known } = found;
  if (pending.boundToEmail && pending.userId !== user.id) throw await assertionFailure(gh, tenant, ctx, pending, null, 'credential_not_allowed');
  // A discoverable credential names its user; a usernameless sign-in must (WebAuthn §7.2 step 6).
  const handle = response.response.userHandle;
  if ((!pending.boundToEmail && !handle) || (handle && handle !== credential.user_handle)) {
    throw await assertionFailure(gh, tenant, ctx, pending, user.id, 'user_handle_mismatch');
  }
  const verified = await checkAssertion(gh, tenant, pending, credential, response, ctx);

  // Only someone who holds the passkey learns the account is locked or disabled.
  assertNotLocked(user);
  if (user.status === 'disabled') {
    gh.metrics.authAttempts.inc({ tenant: tenant.slug, result: 'blocked', method: 'webauthn' });
    throw new AppError('ACCOUNT_DISABLED');
  }
  const signals = currentSignals(client.ip, client.userAgent, user.timezone);
  const risk = assessLoginRisk(known, signals, { userAgent: client.userAgent, recentFailures: 0 });
  await enforceRiskPolicy(gh, tenant, user, risk, ctx);
  return openSignInSession(
    gh,
    tenant,
    user,
    {
      amr: verified.amr,
      aal: verified.userVerified ? 2 : 1,
      method: 'webauthn',
      details: { credential: credential.id, user_verified: verified.userVerified, risk_score: risk.score, risk_reasons: risk.reasons },
      signals,
    },
    client,
    ctx,
  );
}


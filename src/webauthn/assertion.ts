import { verifyAuthenticationResponse, type AuthenticationResponseJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { raiseAlert } from '../security/alerts.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import type { PendingCeremony } from './challenge-store.ts';
import { relyingPartyFor } from './relying-party.ts';
import { recordUse } from './webauthn.queries.ts';
import { amrFor, type PasskeyAmr, type WebauthnCredentialRow } from './webauthn.model.ts';

/** Options for navigator.credentials.get() with the opaque id of the ceremony they start. */
export interface AssertionOptions {
  challenge_id: string;
  options: PublicKeyCredentialRequestOptionsJSON;
}

export interface VerifiedPasskey {
  /** RFC 8176 methods proven: ['hwk'] or ['swk'] (see amrFor). */
  amr: PasskeyAmr[];
  userVerified: boolean;
  /** Gatehouse's id of the credential used (not the authenticator's credential id). */
  credentialId: string;
}

/**
 * The checks every assertion gets: signature, challenge, origin, RP ID and flags (the library), then the signature
 * counter. The library's own counter check is bypassed (stored counter passed as 0) so that a counter that did not
 * increase is caught here, only after the signature proved the authenticator holds the key: then it is a cloned
 * authenticator (or a replayed response), refused with a committed audit event and security alert. A use is
 * recorded with compare-and-set on the counter and its audit event, in one transaction.
 */
export async function checkAssertion(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  pending: PendingCeremony,
  credential: WebauthnCredentialRow,
  response: AuthenticationResponseJSON,
  ctx: AuditContext,
): Promise<VerifiedPasskey> {
  const rp = relyingPartyFor(tenant);
  let info: Awaited<ReturnType<typeof verifyAuthenticationResponse>>['authenticationInfo'];
  try {
    const r = await verifyAuthenticationResponse({
      response,
      expectedChallenge: pending.challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      credential: { id: credential.credential_id, publicKey: new Uint8Array(Buffer.from(credential.public_key, 'base64url')), counter: 0, transports: credential.transports },
      requireUserVerification: false,
    });
    if (!r.verified) throw new Error('assertion not verified');
    info = r.authenticationInfo;
  } catch (cause) {
    throw await assertionFailure(gh, tenant, ctx, pending, credential.user_id, 'assertion_invalid', cause);
  }
  const stored = credential.counter;
  const next = info.newCounter;
  if ((next > 0 || stored > 0) && next <= stored) {
    await withTenantTx(gh.db, tenant.id, async (tx) => {
      const details = { credential: credential.id, name: credential.name, stored_counter: stored, presented_counter: next, ip: ctx.ip ?? null };
      await recordAudit(tx, ctx, { action: 'webauthn.clone_suspected', subjectId: credential.user_id, risk: 'critical', details });
      await raiseAlert(tx, { type: 'passkey_clone_warning', userId: credential.user_id, details }, { sealer: gh.sealer, tenant });
    });
    throw await assertionFailure(gh, tenant, ctx, pending, credential.user_id, 'counter_not_increased');
  }
  const recorded = await withTenantTx(gh.db, tenant.id, async (tx) => {
    if (!(await recordUse(tx, credential.id, stored, next, info.credentialBackedUp))) return false;
    await recordAudit(tx, ctx, {
      action: 'webauthn.used',
      actorType: 'user',
      actorId: credential.user_id,
      subjectId: credential.user_id,
      details: { credential: credential.id, purpose: pending.purpose, user_verified: info.userVerified, counter: next },
    });
    return true;
  });
  // Another assertion of this credential was recorded meanwhile: same standing as a counter that did not increase.
  if (!recorded) throw await assertionFailure(gh, tenant, ctx, pending, credential.user_id, 'concurrent_use');
  return { amr: [amrFor(credential.device_type)], userVerified: info.userVerified, credentialId: credential.id };
}

/** A refused assertion: audited (committed) as a failed sign-in, then answered with one code whatever the reason. */
export async function assertionFailure(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  ctx: AuditContext,
  pending: PendingCeremony,
  subjectId: string | null,
  reason: string,
  cause?: unknown,
): Promise<AppError> {
  await withTenantTx(gh.db, tenant.id, (tx) =>
    recordAudit(tx, ctx, {
      action: 'login.failed',
      subjectId,
      risk: reason === 'counter_not_increased' ? 'critical' : 'medium',
      details: { method: 'webauthn', stage: pending.purpose === 'second_factor' ? 'second_factor' : 'passwordless', reason },
    }),
  );
  gh.metrics.authAttempts.inc({ tenant: tenant.slug, result: 'failure', method: 'webauthn' });
  return new AppError('WEBAUTHN_AUTHENTICATION_FAILED', { cause });
}

import { generateAuthenticationOptions, type AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { assertionFailure, checkAssertion, type AssertionOptions, type VerifiedPasskey } from './assertion.ts';
import { saveCeremony, takeCeremony } from './challenge-store.ts';
import { CEREMONY_TIMEOUT_MS } from './registration.service.ts';
import { relyingPartyFor } from './relying-party.ts';
import { findByCredentialId, listUserCredentials } from './webauthn.queries.ts';
import { CREDENTIAL_ID } from './webauthn.model.ts';

/** Options for a passkey as the second factor of a known user (the MFA challenge); undefined when they have none. */
export async function secondFactorOptions(gh: Gatehouse, tenant: ResolvedTenant, userId: string): Promise<AssertionOptions | undefined> {
  const rp = relyingPartyFor(tenant);
  const creds = await withTenantTx(gh.db, tenant.id, (tx) => listUserCredentials(tx, userId));
  if (!creds.length) return undefined;
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: creds.map((c) => ({ id: c.credential_id, transports: c.transports })),
    timeout: CEREMONY_TIMEOUT_MS,
    // The password was the first factor: presence of the key is the second, a PIN is not needed.
    userVerification: 'discouraged',
  });
  const challengeId = await saveCeremony(gh.kv, tenant.id, { purpose: 'second_factor', challenge: options.challenge, userId, boundToEmail: true });
  return { challenge_id: challengeId, options };
}

/**
 * Verifies an assertion as the SECOND factor of a user whose first factor already passed (the MFA challenge).
 * The ceremony must come from secondFactorOptions for this user; the credential must be theirs. Failures are
 * audited and answer WEBAUTHN_CHALLENGE_INVALID or WEBAUTHN_AUTHENTICATION_FAILED (401).
 */
export async function verifyAssertionForUser(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  userId: string,
  challengeId: string,
  response: AuthenticationResponseJSON,
  ctx: AuditContext,
): Promise<VerifiedPasskey> {
  const pending = await takeCeremony(gh.kv, tenant.id, challengeId, 'second_factor', userId);
  const credential = CREDENTIAL_ID.test(response.id) ? await withTenantTx(gh.db, tenant.id, (tx) => findByCredentialId(tx, response.id)) : undefined;
  if (!credential || credential.user_id !== userId) throw await assertionFailure(gh, tenant, ctx, pending, userId, 'unknown_credential');
  return checkAssertion(gh, tenant, pending, credential, response, ctx);
}


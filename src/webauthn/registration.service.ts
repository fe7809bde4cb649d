import { generateRegistrationOptions, verifyRegistrationResponse, type PublicKeyCredentialCreationOptionsJSON, type RegistrationResponseJSON } from '@simplewebauthn/server';
import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx, type TenantDb } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import type { UserProfile } from '../identity/user.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { saveRegistration, takeRegistration } from './challenge-store.ts';
import { claimedChallenge } from './client-data.ts';
import { relyingPartyFor } from './relying-party.ts';
import { countUserCredentials, insertCredential, listUserCredentials } from './webauthn.queries.ts';
import { deviceTypeOf, MAX_CREDENTIALS_PER_USER, toPublicCredential, userHandleOf, type PublicWebauthnCredential, type WebauthnCredentialRow } from './webauthn.model.ts';

/** How long the browser may wait for the user, in milliseconds (the server keeps the challenge 5 minutes). */
export const CEREMONY_TIMEOUT_MS = 120_000;

/**
 * Options for navigator.credentials.create(): a discoverable credential is preferred (so it can sign in without
 * an email), user verification preferred, no attestation (Gatehouse keeps no authenticator allow-list), and the
 * user's existing credentials excluded so one authenticator is not registered twice. `binding` narrows the ceremony
 * (see saveRegistration): the verify must name the same.
 */
export async function registrationOptions(gh: Gatehouse, tenant: ResolvedTenant, user: UserProfile, binding?: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const rp = relyingPartyFor(tenant);
  const existing = await withTenantTx(gh.db, tenant.id, (tx) => listUserCredentials(tx, user.id));
  if (existing.length >= MAX_CREDENTIALS_PER_USER) throw new AppError('WEBAUTHN_CREDENTIAL_LIMIT');
  const options = await generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.email,
    userID: userHandleOf(user.id),
    userDisplayName: user.name ?? user.email,
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.credential_id, transports: c.transports })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  });
  await saveRegistration(gh.kv, tenant.id, user.id, options.challenge, binding);
  return options;
}

/**
 * Verifies the authenticator's response to registrationOptions (challenge taken once, origin and RP ID checked)
 * and stores the credential with its audit event in one transaction.
 */
export async function verifyRegistration(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  user: UserProfile,
  input: { response: RegistrationResponseJSON; name?: string | undefined },
  ctx: AuditContext,
): Promise<PublicWebauthnCredential> {
  return (await registerCredential(gh, tenant, user, input, ctx, {})).credential;
}

/**
 * verifyRegistration for callers whose own change belongs with the new credential: `within` runs in the transaction
 * that stores it (and its audit event), so both commit or neither does; its result comes back as `extra`.
 */
export async function registerCredential<T = undefined>(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  user: UserProfile,
  input: { response: RegistrationResponseJSON; name?: string | undefined },
  ctx: AuditContext,
  o: { binding?: string; within?: (tx: TenantDb, row: WebauthnCredentialRow) => Promise<T> },
): Promise<{ credential: PublicWebauthnCredential; extra: T | undefined }> {
  const challenge = claimedChallenge(input.response, 'WEBAUTHN_VERIFICATION_FAILED');
  await takeRegistration(gh.kv, tenant.id, user.id, challenge, o.binding);
  const rp = relyingPartyFor(tenant);
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verified = await verifyRegistrationResponse({
      response: input.response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      // Security keys without a PIN may register; their sign-ins are aal1 (see authentication.service.ts).
      requireUserVerification: false,
    });
  } catch (cause) {
    throw new AppError('WEBAUTHN_VERIFICATION_FAILED', { cause });
  }
  if (!verified.verified) throw new AppError('WEBAUTHN_VERIFICATION_FAILED');
  const info = verified.registrationInfo;
  const deviceType = deviceTypeOf(info.credentialDeviceType);
  const stored = await withTenantTx(gh.db, tenant.id, async (tx) => {
    if ((await countUserCredentials(tx, user.id)) >= MAX_CREDENTIALS_PER_USER) throw new AppError('WEBAUTHN_CREDENTIAL_LIMIT');
    const row = await insertCredential(tx, {
      userId: user.id,
      credentialId: info.credential.id,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      userHandle: Buffer.from(userHandleOf(user.id)).toString('base64url'),
      counter: info.credential.counter,
      transports: (info.credential.transports ?? input.response.response.transports ?? []).slice(0, 10),
      name: input.name?.trim() || (deviceType === 'multi_device' ? 'Passkey' : 'Security key'),
      aaguid: info.aaguid,
      deviceType,
      backedUp: info.credentialBackedUp,
    });
    if (!row) throw new AppError('WEBAUTHN_CREDENTIAL_EXISTS');
    await recordAudit(tx, ctx, {
      action: 'webauthn.registered',
      subjectId: user.id,
      details: { credential: row.id, name: row.name, aaguid: row.aaguid, device_type: row.device_type, user_verified: info.userVerified },
    });
    return { row, extra: o.within ? await o.within(tx, row) : undefined };
  });
  return { credential: toPublicCredential(stored.row), extra: stored.extra };
}

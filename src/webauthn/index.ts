/**
 * The passkey module's surface for the rest of Gatehouse. The MFA challenge uses the second-factor pair; sensitive
 * operations may reuse the recent-authentication check until the general step-up guard replaces it.
 */
export { webauthnRoutes } from './webauthn.routes.ts';
export { secondFactorOptions, verifyAssertionForUser } from './second-factor.ts';
export type { AssertionOptions, VerifiedPasskey } from './assertion.ts';
export { requireRecentAuthentication, RECENT_AUTH_MAX_AGE } from './recent-auth.ts';
export { amrFor, type PasskeyAmr } from './webauthn.model.ts';
export { relyingPartyFor, type RelyingParty } from './relying-party.ts';

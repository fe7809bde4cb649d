import { tokenResponseSchema } from '../http/schemas.ts';
import { authenticationResponseSchema } from '../webauthn/webauthn.schema.ts';

/** Route schemas of the MFA endpoints: validation, serialisation and the OpenAPI document. */
export const totpCodeField = { type: 'string', pattern: '^[0-9]{6}$', description: 'The 6-digit code shown by the authenticator app' } as const;
export const backupCodeField = { type: 'string', minLength: 8, maxLength: 64, description: 'One of the backup codes (hyphens and case do not matter)' } as const;
export const mfaTokenField = { type: 'string', minLength: 1, maxLength: 200, description: 'The mfa_token of the MFA-required sign-in answer' } as const;

export const webauthnFactorField = {
  type: 'object',
  required: ['challenge_id', 'response'],
  additionalProperties: false,
  description: 'A passkey / security-key assertion: the challenge_id and options come from the webauthn options endpoint of this step',
  properties: { challenge_id: { type: 'string', minLength: 1, maxLength: 100 }, response: authenticationResponseSchema },
} as const;

/** `{code}`, `{backup_code}` or `{webauthn}`, exactly one. */
export const factorInputProperties = { code: totpCodeField, backup_code: backupCodeField, webauthn: webauthnFactorField } as const;
export const exactlyOneFactor = { oneOf: [{ required: ['code'] }, { required: ['backup_code'] }, { required: ['webauthn'] }] } as const;

export const factorSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string', enum: ['totp'] },
    name: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    activated_at: { type: ['string', 'null'], format: 'date-time' },
    last_used_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export const totpEnrollmentSchema = {
  type: 'object',
  properties: {
    secret: { type: 'string', description: 'Base32 secret; shown only now' },
    manual_entry_key: { type: 'string', description: 'The secret in groups of four, for typing by hand' },
    otpauth_uri: { type: 'string' },
    qr_svg: { type: 'string', description: 'QR code of otpauth_uri as an SVG document' },
    qr_data_url: { type: 'string', description: 'QR code of otpauth_uri as a PNG data URL' },
    expires_at: { type: 'string', format: 'date-time', description: 'Confirm with a code before this, or start again' },
  },
} as const;

export const backupCodesSchema = {
  type: 'array',
  items: { type: 'string' },
  description: 'Ten single-use backup codes, shown only now',
} as const;

/** The answer to a correct password that needs a second step: no tokens and no session. */
export const mfaChallengeResponseSchema = {
  type: 'object',
  required: ['mfa_required', 'mfa_token'],
  properties: {
    mfa_required: { type: 'boolean', enum: [true] },
    mfa_token: { type: 'string', description: 'Single use; complete with POST /auth/mfa/verify (or, when mfa_enrollment_required, /auth/mfa/enroll/totp or /auth/mfa/enroll/webauthn/options)' },
    expires_in: { type: 'integer' },
    factors: { type: 'array', items: { type: 'string', enum: ['totp', 'backup_code', 'webauthn'] } },
    mfa_enrollment_required: { type: 'boolean', description: 'The tenant requires MFA and the grace period is over: enroll a factor to sign in' },
  },
} as const;

/** The ordinary token response, plus the policy's enrollment reminder during a grace period. */
export const loginTokenResponseSchema = {
  ...tokenResponseSchema,
  required: ['access_token'],
  properties: {
    ...tokenResponseSchema.properties,
    mfa_enrollment_required: { type: 'boolean', description: 'The tenant requires MFA: enroll a factor before mfa_enrollment_deadline' },
    mfa_enrollment_deadline: { type: 'string', format: 'date-time' },
  },
} as const;

/** POST /auth/login: tokens, or an MFA challenge. */
export const loginResponseSchema = { oneOf: [mfaChallengeResponseSchema, loginTokenResponseSchema] } as const;

/** A step-up keeps the session and its refresh token: only a new access token (aal 2). */
export const stepUpResponseSchema = {
  type: 'object',
  properties: {
    access_token: tokenResponseSchema.properties.access_token,
    token_type: tokenResponseSchema.properties.token_type,
    expires_in: tokenResponseSchema.properties.expires_in,
    user: tokenResponseSchema.properties.user,
  },
} as const;

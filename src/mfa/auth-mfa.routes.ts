import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenResponse } from '../auth/auth.service.ts';
import { setRefreshCookies } from '../auth/refresh-cookie.ts';
import type { Gatehouse } from '../context.ts';
import { AppError } from '../errors/app-error.ts';
import { auditContext, authenticate, requireTenant } from '../http/request-context.ts';
import { bearerSecurity, errorResponses } from '../http/schemas.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import { completeMfaChallenge, consumeMfaChallenge, readMfaChallenge } from './mfa-challenge.ts';
import {
  backupCodesSchema,
  exactlyOneFactor,
  factorInputProperties,
  loginTokenResponseSchema,
  mfaTokenField,
  stepUpResponseSchema,
  totpCodeField,
  totpEnrollmentSchema,
} from './mfa.schemas.ts';
import { stepUp } from './step-up.service.ts';
import { challengePasskeyEnrollment, challengeTotpEnrollment, confirmChallengePasskeyEnrollment, confirmChallengeTotpEnrollment } from './enroll-sign-in.ts';
import { verifyFactor, type FactorInput } from './verify-factor.ts';
import { secondFactorOptions } from '../webauthn/index.ts';
import { assertionOptionsSchema, creationOptionsSchema, credentialNameField, registrationResponseSchema } from '../webauthn/webauthn.schema.ts';

/** What enrolling at sign-in answers, whichever the factor: the token response (aal 2) and the backup codes, once. */
const enrolledResponseSchema = { ...loginTokenResponseSchema, properties: { ...loginTokenResponseSchema.properties, backup_codes: backupCodesSchema } } as const;

const delivery = {
  token_delivery: { type: 'string', enum: ['body', 'cookie'], description: '`cookie` puts the refresh token in an httpOnly cookie' },
} as const;

/** The second step of sign-in (and enrollment when the tenant requires MFA), and step-up of a signed-in session. */
export async function authMfaRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const tags = ['mfa'];
  const client = (req: FastifyRequest) => ({ ip: req.ip, userAgent: req.headers['user-agent'] ?? null });
  const deliver = (request: FastifyRequest, reply: FastifyReply, body: TokenResponse, mode: string | undefined) =>
    mode === 'cookie' ? setRefreshCookies(request, reply, body, effectiveSettings(request.tenant!).refresh_token_ttl) : body;

  app.post<{ Body: FactorInput & { mfa_token: string; token_delivery?: string } }>(
    '/auth/mfa/verify',
    {
      schema: {
        tags,
        summary:
          'Complete a sign-in that answered mfa_required: the mfa_token with a code from the authenticator app or a backup code. ' +
          'Wrong codes count against the per-user limit (429); an expired, used or foreign mfa_token is refused (MFA_TOKEN_EXPIRED / MFA_TOKEN_INVALID)',
        body: {
          type: 'object',
          required: ['mfa_token'],
          additionalProperties: false,
          properties: { mfa_token: mfaTokenField, ...factorInputProperties, ...delivery },
          ...exactlyOneFactor,
        },
        response: { 200: loginTokenResponseSchema, ...errorResponses(401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const { mfa_token, token_delivery, ...input } = request.body;
      const ctx = auditContext(request);
      const challenge = await readMfaChallenge(gh, tenant, mfa_token, 'login');
      const factor = await verifyFactor(gh, tenant, challenge.userId, input as FactorInput, ctx, 'login');
      await consumeMfaChallenge(gh, tenant, mfa_token);
      const body = await completeMfaChallenge(gh, tenant, challenge, factor.amr, factor.method, ctx, client(request));
      return deliver(request, reply, body, token_delivery);
    },
  );

  app.post<{ Body: { mfa_token: string } }>(
    '/auth/mfa/webauthn/options',
    {
      schema: {
        tags,
        summary:
          'Options for navigator.credentials.get() to answer an mfa_required sign-in with a passkey or security key ' +
          '(then POST /auth/mfa/verify with {mfa_token, webauthn: {challenge_id, response}}); 404 when the user has none',
        body: { type: 'object', required: ['mfa_token'], additionalProperties: false, properties: { mfa_token: mfaTokenField } },
        response: { 200: assertionOptionsSchema, ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const tenant = await requireTenant(gh, request);
      const challenge = await readMfaChallenge(gh, tenant, request.body.mfa_token, 'login');
      const options = await secondFactorOptions(gh, tenant, challenge.userId);
      if (!options) throw new AppError('WEBAUTHN_CREDENTIAL_NOT_FOUND');
      return options;
    },
  );

  app.post(
    '/auth/step-up/webauthn/options',
    {
      schema: {
        tags,
        security: bearerSecurity,
        summary: 'Options for navigator.credentials.get() to step up with a passkey (then POST /auth/step-up with {webauthn})',
        response: { 200: assertionOptionsSchema, ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const claims = await authenticate(gh, request);
      const options = await secondFactorOptions(gh, request.tenant!, claims.sub);
      if (!options) throw new AppError('WEBAUTHN_CREDENTIAL_NOT_FOUND');
      return options;
    },
  );

  app.post<{ Body: { mfa_token: string } }>(
    '/auth/mfa/enroll/totp',
    {
      schema: {
        tags,
        summary:
          'When sign-in answered mfa_enrollment_required (tenant MFA policy, grace period over): start setting up an authenticator app with the mfa_token',
        body: { type: 'object', required: ['mfa_token'], additionalProperties: false, properties: { mfa_token: mfaTokenField } },
        response: { 200: totpEnrollmentSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const tenant = await requireTenant(gh, request);
      return challengeTotpEnrollment(gh, tenant, request.body.mfa_token, auditContext(request), 'start');
    },
  );

  app.post<{ Body: { mfa_token: string; code: string; token_delivery?: string } }>(
    '/auth/mfa/enroll/totp/verify',
    {
      schema: {
        tags,
        summary: 'Confirm the authenticator app set up with the mfa_token: signs in (aal 2) and returns the backup codes, once',
        body: {
          type: 'object',
          required: ['mfa_token', 'code'],
          additionalProperties: false,
          properties: { mfa_token: mfaTokenField, code: totpCodeField, ...delivery },
        },
        response: { 200: enrolledResponseSchema, ...errorResponses(401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const { mfa_token, code, token_delivery } = request.body;
      const enrolled = await confirmChallengeTotpEnrollment(gh, tenant, mfa_token, code, auditContext(request), client(request));
      return { ...deliver(request, reply, enrolled.tokens, token_delivery), ...(enrolled.backup_codes ? { backup_codes: enrolled.backup_codes } : {}) };
    },
  );

  app.post<{ Body: { mfa_token: string } }>(
    '/auth/mfa/enroll/webauthn/options',
    {
      schema: {
        tags,
        summary:
          'When sign-in answered mfa_enrollment_required: start registering a passkey or security key instead of an authenticator app. ' +
          'Options for navigator.credentials.create(), as /me/mfa/webauthn/registration/options gives; they answer this mfa_token only',
        body: { type: 'object', required: ['mfa_token'], additionalProperties: false, properties: { mfa_token: mfaTokenField } },
        response: { 200: { type: 'object', properties: { options: creationOptionsSchema } }, ...errorResponses(401, 403, 409) },
      },
    },
    async (request) => {
      const tenant = await requireTenant(gh, request);
      return { options: await challengePasskeyEnrollment(gh, tenant, request.body.mfa_token, auditContext(request), 'start') };
    },
  );

  app.post<{ Body: { mfa_token: string; response: RegistrationResponseJSON; name?: string; token_delivery?: string } }>(
    '/auth/mfa/enroll/webauthn/verify',
    {
      schema: {
        tags,
        summary:
          'Finish the passkey set up with the mfa_token (the credential.toJSON() response): signs in (aal 2, amr + hwk or swk) and returns ' +
          'the backup codes, once. A refused response counts against the per-user MFA limit (429) and needs new options',
        body: {
          type: 'object',
          required: ['mfa_token', 'response'],
          additionalProperties: false,
          properties: { mfa_token: mfaTokenField, response: registrationResponseSchema, name: credentialNameField, ...delivery },
        },
        response: { 200: enrolledResponseSchema, ...errorResponses(401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const { mfa_token, response, name, token_delivery } = request.body;
      const enrolled = await confirmChallengePasskeyEnrollment(gh, tenant, mfa_token, { response, name }, auditContext(request), client(request));
      return { ...deliver(request, reply, enrolled.tokens, token_delivery), ...(enrolled.backup_codes ? { backup_codes: enrolled.backup_codes } : {}) };
    },
  );

  app.post<{ Body: FactorInput }>(
    '/auth/step-up',
    {
      schema: {
        tags,
        security: bearerSecurity,
        summary:
          'Raise the current session to aal2 with a second factor (code or backup code): sensitive operations need this within the ' +
          "tenant's mfa_step_up_max_age. Returns a new access token (aal 2); the refresh token stays",
        body: { type: 'object', additionalProperties: false, properties: factorInputProperties, ...exactlyOneFactor },
        response: { 200: stepUpResponseSchema, ...errorResponses(401, 403, 429) },
      },
    },
    async (request) => {
      const claims = await authenticate(gh, request);
      return stepUp(gh, request.tenant!, claims, request.body, auditContext(request));
    },
  );
}

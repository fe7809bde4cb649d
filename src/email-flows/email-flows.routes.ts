import type { FastifyInstance, FastifyRequest } from 'fastify';
import { setRefreshCookies } from '../auth/refresh-cookie.ts';
import type { Gatehouse } from '../context.ts';
import { loginResponseSchema } from '../mfa/mfa.schemas.ts';
import { AppError } from '../errors/app-error.ts';
import { auditContext, authenticate, noContent, requireTenant } from '../http/request-context.ts';
import { bearerSecurity, emailField, errorResponses, passwordField } from '../http/schemas.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import { confirmEmailChange, requestEmailChange } from './email-change.ts';
import { resendVerification, verifyEmail } from './email-verification.ts';
import { requestPasswordReset, resetPassword } from './password-reset.ts';
import { startPasswordless, verifyPasswordless, type PasswordlessMethod } from './passwordless.ts';

/** The one answer of every request that may or may not send a mail. */
export const ACCEPTED = { status: 'accepted' } as const;
export const acceptedSchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['accepted'] } },
  description: 'Always the same, whether or not the address has an account',
} as const;

export const tokenField = { type: 'string', minLength: 1, maxLength: 200 } as const;

export const acceptLanguage = (request: FastifyRequest) => {
  const h = request.headers['accept-language'];
  return typeof h === 'string' ? h : undefined;
};

export async function emailFlowRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  app.post<{ Body: { email: string } }>(
    '/auth/password/forgot',
    {
      schema: {
        tags: ['auth'],
        summary: 'Mail a password-reset link; answers 202 whether or not the address has an account',
        body: { type: 'object', required: ['email'], additionalProperties: false, properties: { email: emailField } },
        response: { 202: acceptedSchema, ...errorResponses(403, 404, 429) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      await requestPasswordReset(gh, tenant, request.body.email, auditContext(request), acceptLanguage(request));
      return reply.code(202).send(ACCEPTED);
    },
  );

  app.post<{ Body: { token: string; password: string } }>(
    '/auth/password/reset',
    {
      schema: {
        tags: ['auth'],
        summary: 'Set a new password with a mailed reset token; every session is signed out',
        body: {
          type: 'object',
          required: ['token', 'password'],
          additionalProperties: false,
          properties: { token: tokenField, password: passwordField },
        },
        response: { 204: { type: 'null' }, ...errorResponses(403, 404, 410) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      await resetPassword(gh, tenant, request.body, auditContext(request));
      return noContent(reply);
    },
  );

  app.post<{ Body: { token: string } }>(
    '/auth/verify-email',
    {
      schema: {
        tags: ['auth'],
        summary: 'Confirm an email address with the mailed token (presenting it again after it worked is harmless)',
        body: { type: 'object', required: ['token'], additionalProperties: false, properties: { token: tokenField } },
        response: { 204: { type: 'null' }, ...errorResponses(403, 404, 410) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      await verifyEmail(gh, tenant, request.body.token, auditContext(request));
      return noContent(reply);
    },
  );

  app.post<{ Body: { email: string } }>(
    '/auth/verify-email/resend',
    {
      schema: {
        tags: ['auth'],
        summary: 'Mail a new verification link; answers 202 whether or not the address has an (unverified) account',
        body: { type: 'object', required: ['email'], additionalProperties: false, properties: { email: emailField } },
        response: { 202: acceptedSchema, ...errorResponses(403, 404, 429) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      await resendVerification(gh, tenant, request.body.email, auditContext(request), acceptLanguage(request));
      return reply.code(202).send(ACCEPTED);
    },
  );

  app.post<{ Body: { email: string; method: PasswordlessMethod } }>(
    '/auth/passwordless/start',
    {
      schema: {
        tags: ['auth'],
        summary: 'Mail a sign-in link or 6-digit code (when the tenant enables passwordless); 202 for every address',
        body: {
          type: 'object',
          required: ['email', 'method'],
          additionalProperties: false,
          properties: { email: emailField, method: { type: 'string', enum: ['link', 'code'] } },
        },
        response: { 202: acceptedSchema, ...errorResponses(403, 404, 429) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      await startPasswordless(gh, tenant, request.body, auditContext(request), acceptLanguage(request));
      return reply.code(202).send(ACCEPTED);
    },
  );

  app.post<{ Body: { token?: string; email?: string; code?: string; token_delivery?: string } }>(
    '/auth/passwordless/verify',
    {
      schema: {
        tags: ['auth'],
        summary:
          'Sign in with a mailed link token, or an email and its 6-digit code (5 wrong codes burn it). A user with MFA gets ' +
          '{mfa_required, mfa_token, factors} instead, completed at POST /auth/mfa/verify',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            token: tokenField,
            email: emailField,
            code: { type: 'string', pattern: '^[0-9]{6}$' },
            token_delivery: { type: 'string', enum: ['body', 'cookie'] },
          },
        },
        response: { 200: loginResponseSchema, ...errorResponses(401, 403, 404, 410, 429) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const { token, email, code, token_delivery } = request.body;
      if (token ? email !== undefined || code !== undefined : email === undefined || code === undefined) {
        throw new AppError('VALIDATION_ERROR', {
          message: 'Send either {token} or {email, code}.',
          details: [{ field: token ? 'token' : 'code', message: 'send either token, or email and code' }],
        });
      }
      const client = { ip: request.ip, userAgent: request.headers['user-agent'] ?? null };
      const body = await verifyPasswordless(gh, tenant, { token, email, code }, auditContext(request), client);
      if ('mfa_required' in body) return body;
      return token_delivery === 'cookie' ? setRefreshCookies(request, reply, body, effectiveSettings(tenant).refresh_token_ttl) : body;
    },
  );

  app.post<{ Body: { new_email: string; current_password: string } }>(
    '/me/email',
    {
      schema: {
        tags: ['me'],
        security: bearerSecurity,
        summary: 'Change your email address: needs the current password; a confirmation link goes to the new address',
        body: {
          type: 'object',
          required: ['new_email', 'current_password'],
          additionalProperties: false,
          properties: { new_email: emailField, current_password: passwordField },
        },
        response: { 202: acceptedSchema, ...errorResponses(401, 403) },
      },
    },
    async (request, reply) => {
      const claims = await authenticate(gh, request, 'profile:write');
      await requestEmailChange(
        gh,
        request.tenant!,
        claims.sub,
        { newEmail: request.body.new_email, currentPassword: request.body.current_password },
        auditContext(request),
        acceptLanguage(request),
      );
      return reply.code(202).send(ACCEPTED);
    },
  );

  app.post<{ Body: { token: string } }>(
    '/auth/email-change/confirm',
    {
      schema: {
        tags: ['auth'],
        summary: 'Confirm a new email address with the link mailed to it; the old address is notified',
        body: { type: 'object', required: ['token'], additionalProperties: false, properties: { token: tokenField } },
        response: { 204: { type: 'null' }, ...errorResponses(403, 404, 409, 410) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      await confirmEmailChange(gh, tenant, request.body.token, auditContext(request));
      return noContent(reply);
    },
  );
}

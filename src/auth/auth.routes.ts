import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { AppError } from '../errors/app-error.ts';
import { auditContext, authenticate, noContent, requireTenant } from '../http/request-context.ts';
import { bearerSecurity, emailField, errorResponses, passwordField, tokenResponseSchema } from '../http/schemas.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import { login, logout, logoutAll, refresh, register, type TokenResponse } from './auth.service.ts';
import { clearRefreshCookies, refreshTokenFromCookie, setRefreshCookies } from './refresh-cookie.ts';
import { loginResponseSchema } from '../mfa/mfa.schemas.ts';
import { ACCEPTED, acceptedSchema, acceptLanguage } from '../email-flows/email-flows.routes.ts';
import { registerPendingVerification } from '../email-flows/email-verification.ts';

const delivery = {
  token_delivery: {
    type: 'string',
    enum: ['body', 'cookie'],
    description: '`cookie` puts the refresh token in an httpOnly cookie and returns a csrf_token instead',
  },
} as const;

export async function authRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const client = (req: { ip: string; headers: Record<string, unknown> }) => ({
    ip: req.ip,
    userAgent: (req.headers['user-agent'] as string | undefined) ?? null,
  });
  const deliver = (
    request: Parameters<typeof setRefreshCookies>[0],
    reply: Parameters<typeof setRefreshCookies>[1],
    body: TokenResponse,
    mode: string | undefined,
  ) => (mode === 'cookie' ? setRefreshCookies(request, reply, body, effectiveSettings(request.tenant!).refresh_token_ttl) : body);

  app.post<{ Body: { email: string; password: string; name?: string; token_delivery?: string } }>(
    '/auth/register',
    {
      schema: {
        tags: ['auth'],
        summary:
          'Create an account (when the tenant allows open registration) and sign in. When the tenant requires MFA with no grace ' +
          'period, the answer is an enrollment-only {mfa_required, mfa_enrollment_required, mfa_token} instead of tokens',
        description:
          'With email_verification "optional": 201, signed in, a verification link mailed (409 EMAIL_TAKEN for a taken address). ' +
          'With "required": 202 for every address, new or taken; a new address gets a verification link, an existing one a notice.',
        body: {
          type: 'object',
          required: ['email', 'password'],
          additionalProperties: false,
          properties: { email: emailField, password: passwordField, name: { type: 'string', minLength: 1, maxLength: 200 }, ...delivery },
        },
        response: { 201: loginResponseSchema, 202: acceptedSchema, ...errorResponses(403, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const { token_delivery, ...input } = request.body;
      if (effectiveSettings(tenant).email_verification === 'required') {
        await registerPendingVerification(gh, tenant, input, auditContext(request), acceptLanguage(request));
        return reply.code(202).send(ACCEPTED);
      }
      const body = await register(gh, tenant, input, auditContext(request), client(request), { acceptLanguage: acceptLanguage(request) });
      if ('mfa_token' in body) return reply.code(201).send(body);
      return reply.code(201).send(deliver(request, reply, body, token_delivery));
    },
  );

  app.post<{ Body: { email: string; password: string; token_delivery?: string } }>(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary:
          'Sign in with email and password. A user with MFA (or whom the tenant MFA policy makes enroll once the grace period is over) gets ' +
          '{mfa_required, mfa_token, factors} and no tokens: finish with POST /auth/mfa/verify (or /auth/mfa/enroll/totp when ' +
          'mfa_enrollment_required). During a grace period the token response carries mfa_enrollment_required and mfa_enrollment_deadline',
        body: {
          type: 'object',
          required: ['email', 'password'],
          additionalProperties: false,
          properties: { email: { type: 'string', minLength: 1, maxLength: 254 }, password: passwordField, ...delivery },
        },
        response: { 200: loginResponseSchema, ...errorResponses(401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const body = await login(gh, tenant, request.body, auditContext(request), client(request));
      if ('mfa_token' in body) return body;
      return deliver(request, reply, body, request.body.token_delivery);
    },
  );

  app.post<{ Body: { refresh_token?: string; token_delivery?: string } | undefined }>(
    '/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token (body or cookie) for new tokens; the presented one stops working',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { refresh_token: { type: 'string', minLength: 1, maxLength: 200 }, ...delivery },
        },
        response: { 200: tokenResponseSchema, ...errorResponses(401, 403, 404) },
      },
      // A browser's cookie refresh sends no body at all: validate that as an empty object, not a 400.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const fromBody = request.body?.refresh_token;
      const fromCookie = fromBody ? undefined : refreshTokenFromCookie(request);
      const presented = fromBody ?? fromCookie;
      if (!presented) throw new AppError('REFRESH_TOKEN_INVALID', { message: 'No refresh token in the body or cookie.' });
      try {
        const body = await refresh(gh, tenant, presented, auditContext(request));
        return deliver(request, reply, body, fromCookie ? 'cookie' : request.body?.token_delivery);
      } catch (err) {
        if (fromCookie) clearRefreshCookies(request, reply);
        throw err;
      }
    },
  );

  app.post(
    '/auth/logout',
    { schema: { tags: ['auth'], summary: 'End this session; its access token stops working at once', security: bearerSecurity, response: { 204: { type: 'null' }, ...errorResponses(401, 403) } } },
    async (request, reply) => {
      const claims = await authenticate(gh, request);
      await logout(gh, request.tenant!, claims, auditContext(request));
      clearRefreshCookies(request, reply);
      return noContent(reply);
    },
  );

  app.post(
    '/auth/logout-all',
    { schema: { tags: ['auth'], summary: 'End every session of the signed-in user', security: bearerSecurity, response: { 204: { type: 'null' }, ...errorResponses(401, 403) } } },
    async (request, reply) => {
      const claims = await authenticate(gh, request);
      await logoutAll(gh, request.tenant!, claims, auditContext(request));
      clearRefreshCookies(request, reply);
      return noContent(reply);
    },
  );
}

import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { auditContext, requireTenant } from '../http/request-context.ts';
import { errorResponses, passwordField } from '../http/schemas.ts';
import { rateLimited } from '../protection/login-protection.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import { evaluatePassword } from './password-policy.ts';

const CHECKS_PER_MINUTE = 60;

/** Lets a sign-up or change-password form show the tenant's verdict before anything is submitted. */
export async function passwordCheckRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  app.post<{ Body: { password: string; email?: string; name?: string } }>(
    '/auth/password/check',
    {
      schema: {
        tags: ['auth'],
        summary: "Check a candidate password against the tenant's policy (creates nothing)",
        body: {
          type: 'object',
          required: ['password'],
          additionalProperties: false,
          properties: { password: passwordField, email: { type: 'string', maxLength: 254 }, name: { type: 'string', maxLength: 200 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              ok: { type: 'boolean' },
              score: { type: 'integer', minimum: 0, maximum: 4 },
              min_score: { type: 'integer' },
              violations: { type: 'array', items: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } },
              warning: { type: ['string', 'null'] },
              suggestions: { type: 'array', items: { type: 'string' } },
            },
          },
          ...errorResponses(404, 429),
        },
      },
    },
    async (request) => {
      const tenant = await requireTenant(gh, request);
      const ip = auditContext(request).ip ?? 'unknown';
      const budget = await gh.throttle.take('password-check', `${tenant.id}:${ip}`, CHECKS_PER_MINUTE, 60);
      if (!budget.ok) throw rateLimited(budget.retryAfter, CHECKS_PER_MINUTE, 60, 'RATE_LIMITED.wait');
      const settings = effectiveSettings(tenant);
      const { email, name, password } = request.body;
      const r = evaluatePassword(password, settings, { email, name, tenantName: tenant.name, tenantSlug: tenant.slug });
      return { ...r, min_score: settings.password_min_score };
    },
  );
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { recordAudit } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withPlatformTx, withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { emailField, errorResponses, passwordField, publicUserSchema, uuidField } from '../http/schemas.ts';
import { toPublicUser } from '../identity/user.model.ts';
import { insertUserChecked, preparePassword } from '../identity/user.service.ts';
import { rotateSigningKey } from '../keys/signing-keys.ts';
import { ROLES, type Role } from '../rbac/roles.ts';
import { createTenant, deleteTenant, findTenant, listTenants, updateTenant, type CreateTenantInput, type UpdateTenantInput } from '../tenancy/tenant.service.ts';
import { effectiveLimits, effectiveSettings, PLANS, RATE_LIMIT_GROUPS, TENANT_STATUSES, type TenantSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { createPlatformCredential, requirePlatform as requirePlatformCredential } from './platform-credentials.ts';

const settingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    access_token_ttl: { type: 'integer', minimum: 60, maximum: 86_400 },
    refresh_token_ttl: { type: 'integer', minimum: 300, maximum: 365 * 86_400 },
    session_idle_ttl: { type: 'integer', minimum: 300, maximum: 365 * 86_400 },
    session_absolute_ttl: { type: 'integer', minimum: 300, maximum: 365 * 86_400 },
    max_sessions_per_user: { type: 'integer', minimum: 1, maximum: 1000 },
    refresh_reuse_grace_seconds: { type: 'integer', minimum: 0, maximum: 120 },
    registration: { type: 'string', enum: ['open', 'invite_only', 'closed'] },
    password_min_length: { type: 'integer', minimum: 8, maximum: 1024 },
    password_max_length: { type: 'integer', minimum: 8, maximum: 1024 },
    signing_alg: { type: 'string', enum: ['ES256', 'RS256'] },
    login_max_failures_per_email: { type: 'integer', minimum: 1, maximum: 1000 },
    login_max_failures_per_ip: { type: 'integer', minimum: 1, maximum: 100_000 },
    login_failure_window: { type: 'integer', minimum: 1, maximum: 86_400 },
    login_delays: { type: 'array', minItems: 1, maxItems: 10, items: { type: 'integer', minimum: 1, maximum: 86_400 } },
    lockout_threshold: { type: 'integer', minimum: 0, maximum: 10_000, description: '0 turns account lockout off' },
    lockout_window: { type: 'integer', minimum: 60, maximum: 30 * 86_400 },
    lockout_duration: { type: 'integer', minimum: 1, maximum: 30 * 86_400 },
    register_max_per_ip_per_hour: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    password_min_score: { type: 'integer', minimum: 0, maximum: 4 },
    password_block_common: { type: 'boolean' },
    password_block_personal_info: { type: 'boolean' },
    password_history: { type: 'integer', minimum: 0, maximum: 24 },
    risk_alert_threshold: { type: 'number', minimum: 0, maximum: 1 },
    risk_block_threshold: { type: 'number', minimum: 0, maximum: 1, description: '0 = never block' },
    rate_limits: {
      type: 'object',
      additionalProperties: false,
      description: 'Request budgets per route group: auth (sign-in routes, per IP), api and admin (per user and IP)',
      properties: Object.fromEntries(
        RATE_LIMIT_GROUPS.map((g) => [
          g,
          {
            type: 'object',
            required: ['points', 'window'],
            additionalProperties: false,
            properties: {
              points: { type: 'integer', minimum: 0, maximum: 10_000_000, description: '0 turns the limit off' },
              window: { type: 'integer', minimum: 1, maximum: 86_400 },
            },
          },
        ]),
      ),
    },
    webauthn_rp_id: {
      type: ['string', 'null'],
      maxLength: 253,
      pattern: '^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$',
      description: 'Passkey relying party id (a host name, e.g. example.com); null = the host of the tenant issuer',
    },
    webauthn_origins: {
      type: 'array',
      maxItems: 20,
      uniqueItems: true,
      items: { type: 'string', maxLength: 300, pattern: '^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?$' },
      description: 'Origins passkey ceremonies may come from; empty = the origin of the tenant issuer',
    },
    mfa_policy: { type: 'string', enum: ['optional', 'required_for_admins', 'required'] },
    mfa_grace_period: { type: 'integer', minimum: 0, maximum: 365 * 86_400, description: 'seconds; 0 = enroll before the first session' },
    mfa_step_up_max_age: { type: 'integer', minimum: 60, maximum: 86_400 },
    mfa_admin_step_up: { type: 'boolean' },
    mfa_max_attempts: { type: 'integer', minimum: 1, maximum: 1000 },
    mfa_attempt_window: { type: 'integer', minimum: 60, maximum: 86_400 },
    email_verification: { type: 'string', enum: ['optional', 'required'] },
    passwordless: { type: 'boolean' },
    password_reset_max_per_hour: { type: 'integer', minimum: 1, maximum: 1000 },
    mail_requests_per_ip_per_hour: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    invitation_ttl: { type: 'integer', minimum: 300, maximum: 30 * 86_400 },
    mail_from_name: { type: ['string', 'null'], minLength: 1, maxLength: 100, pattern: '^[^\\r\\n<>\"]+$' },
    mail_from_address: { type: ['string', 'null'], format: 'email', maxLength: 254 },
  },
} as const;

const limitsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { max_users: { type: ['integer', 'null'], minimum: 1, maximum: 1_000_000_000 } },
} as const;

const tenantSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    slug: { type: 'string' },
    name: { type: 'string' },
    issuer: { type: 'string' },
    plan: { type: 'string' },
    status: { type: 'string' },
    limits: { type: 'object', additionalProperties: true },
    features: { type: 'object', additionalProperties: true },
    branding: { type: 'object', additionalProperties: true },
    settings: { type: 'object', additionalProperties: true },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    admin: publicUserSchema,
  },
} as const;

const mutableTenantProps = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  plan: { type: 'string', enum: [...PLANS] },
  limits: limitsSchema,
  features: { type: 'object', additionalProperties: { type: 'boolean' }, maxProperties: 100 },
  branding: { type: 'object', additionalProperties: { type: 'string', maxLength: 2000 }, maxProperties: 50 },
  settings: settingsSchema,
} as const;

/** Effective limits and settings (defaults merged), as clients want to read them. */
function present(t: ResolvedTenant) {
  return { ...t, limits: effectiveLimits(t), settings: effectiveSettings(t) };
}

export async function platformRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const security = [{ platformAuth: [] }];
  const tags = ['platform'];

  const requirePlatform = (request: FastifyRequest) => requirePlatformCredential(gh.db, request);

  const tenantParam = { type: 'object', properties: { tenant: { type: 'string', minLength: 1, maxLength: 63 } } } as const;

  app.post<{ Body: CreateTenantInput }>(
    '/tenants',
    {
      schema: {
        tags,
        security,
        summary: 'Create a tenant, optionally with its first admin, in one transaction',
        body: {
          type: 'object',
          required: ['slug', 'name'],
          additionalProperties: false,
          properties: {
            slug: { type: 'string', minLength: 1, maxLength: 63 },
            ...mutableTenantProps,
            admin: {
              type: 'object',
              required: ['email', 'password'],
              additionalProperties: false,
              properties: { email: emailField, password: passwordField, name: { type: 'string', minLength: 1, maxLength: 200 } },
            },
          },
        },
        response: { 201: tenantSchema, ...errorResponses(401, 409) },
      },
    },
    async (request, reply) => {
      const ctx = await requirePlatform(request);
      const { tenant, admin } = await createTenant(gh, request.body, ctx);
      return reply.code(201).send({ ...present(tenant), ...(admin ? { admin: toPublicUser(admin) } : {}) });
    },
  );

  app.get<{ Querystring: { cursor?: string; limit?: number; status?: (typeof TENANT_STATUSES)[number] } }>(
    '/tenants',
    {
      schema: {
        tags,
        security,
        summary: 'List tenants (cursor pagination by slug)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cursor: { type: 'string', maxLength: 63 },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            status: { type: 'string', enum: [...TENANT_STATUSES] },
          },
        },
        response: {
          200: { type: 'object', properties: { tenants: { type: 'array', items: tenantSchema }, next_cursor: { type: ['string', 'null'] } } },
          ...errorResponses(401),
        },
      },
    },
    async (request) => {
      await requirePlatform(request);
      const r = await listTenants(gh, { after: request.query.cursor, limit: request.query.limit ?? 100, status: request.query.status });
      return { tenants: r.tenants.map(present), next_cursor: r.next_cursor };
    },
  );

  app.get<{ Params: { tenant: string } }>(
    '/tenants/:tenant',
    { schema: { tags, security, summary: 'One tenant, by id or slug', params: tenantParam, response: { 200: tenantSchema, ...errorResponses(401, 404) } } },
    async (request) => {
      await requirePlatform(request);
      return present(await findTenant(gh, request.params.tenant));
    },
  );

  app.patch<{ Params: { tenant: string }; Body: UpdateTenantInput }>(
    '/tenants/:tenant',
    {
      schema: {
        tags,
        security,
        summary: 'Update name, plan, status, limits, features, branding or settings (objects merge key by key)',
        params: tenantParam,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { ...mutableTenantProps, status: { type: 'string', enum: [...TENANT_STATUSES] } },
        },
        response: { 200: tenantSchema, ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const ctx = await requirePlatform(request);
      const t = await findTenant(gh, request.params.tenant);
      return present(await updateTenant(gh, t.id, request.body, ctx));
    },
  );

  app.delete<{ Params: { tenant: string } }>(
    '/tenants/:tenant',
    {
      schema: {
        tags,
        security,
        summary: 'Delete a tenant (soft: it stops resolving, its slug stays reserved, its audit trail is kept)',
        params: tenantParam,
        response: { 204: { type: 'null' }, ...errorResponses(401, 404) },
      },
    },
    async (request, reply) => {
      const ctx = await requirePlatform(request);
      const t = await findTenant(gh, request.params.tenant);
      await deleteTenant(gh, t.id, ctx);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { tenant: string }; Body: { email: string; password?: string; name?: string; role?: Role; verified?: boolean } }>(
    '/tenants/:tenant/users',
    {
      schema: {
        tags,
        security,
        summary: 'Create a user in a tenant (operators and the CLI)',
        params: tenantParam,
        body: {
          type: 'object',
          required: ['email'],
          additionalProperties: false,
          properties: {
            email: emailField,
            password: passwordField,
            name: { type: 'string', minLength: 1, maxLength: 200 },
            role: { type: 'string', enum: [...ROLES] },
            verified: { type: 'boolean' },
          },
        },
        response: { 201: publicUserSchema, ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const ctx = await requirePlatform(request);
      const tenant = await findTenant(gh, request.params.tenant);
      const b = request.body;
      const passwordHash = await preparePassword(gh, tenant, b.password, b);
      const user = await withTenantTx(gh.db, tenant.id, (tx) =>
        insertUserChecked(tx, tenant, { email: b.email, name: b.name, role: b.role, emailVerified: b.verified, passwordHash }, { ctx, action: 'user.created' }),
      );
      return reply.code(201).send(toPublicUser(user));
    },
  );

  app.post<{ Params: { tenant: string } }>(
    '/tenants/:tenant/keys/rotate',
    {
      schema: {
        tags,
        security,
        summary: "Add a new signing key; the previous one verifies tokens until they have expired",
        params: tenantParam,
        response: {
          200: { type: 'object', properties: { tenant: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string' }, retired: { type: 'array', items: { type: 'string' } } } },
          ...errorResponses(401, 404),
        },
      },
    },
    async (request) => {
      const ctx = await requirePlatform(request);
      const tenant = await findTenant(gh, request.params.tenant);
      const settings: TenantSettings = effectiveSettings(tenant);
      const r = await withTenantTx(gh.db, tenant.id, async (tx) => {
        const r = await rotateSigningKey(tx, gh.sealer, settings.signing_alg, settings.access_token_ttl + 60);
        await recordAudit(tx, ctx, { action: 'keys.rotated', risk: 'medium', details: { kid: r.kid, retired: r.retired } });
        return r;
      });
      gh.keys.invalidate(tenant.id);
      return { tenant: tenant.slug, alg: settings.signing_alg, ...r };
    },
  );

  app.post<{ Body: { name: string } }>(
    '/credentials',
    {
      schema: {
        tags,
        security,
        summary: 'Create a platform API credential (its secret is shown once)',
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: 100 } } },
        response: { 201: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, secret: { type: 'string' } } }, ...errorResponses(401) },
      },
    },
    async (request, reply) => {
      await requirePlatform(request);
      const r = await withPlatformTx(gh.db, (tx) => createPlatformCredential(tx, request.body.name, 'api'));
      return reply.code(201).send({ id: r.credential.id, name: r.credential.name, secret: r.secret });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/credentials/:id',
    {
      schema: { tags, security, summary: 'Revoke a platform credential', params: { type: 'object', properties: { id: uuidField } }, response: { 204: { type: 'null' }, ...errorResponses(401, 404) } },
    },
    async (request, reply) => {
      await requirePlatform(request);
      const r = await gh.db.query('UPDATE platform_credentials SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [request.params.id]);
      if (r.rowCount === 0) throw new AppError('NOT_FOUND');
      return reply.code(204).send();
    },
  );
}

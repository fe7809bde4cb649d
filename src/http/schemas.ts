/** JSON schemas shared by routes: they validate input, serialise output (undeclared fields never leak) and feed OpenAPI. */
export const emailField = { type: 'string', format: 'email', minLength: 3, maxLength: 254 } as const;
export const passwordField = { type: 'string', minLength: 1, maxLength: 4096 } as const;
export const uuidField = { type: 'string', format: 'uuid' } as const;
const nullableString = (max: number) => ({ type: ['string', 'null'], maxLength: max }) as const;

export const publicUserSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    email: { type: 'string' },
    email_verified: { type: 'boolean' },
    name: nullableString(200),
    given_name: nullableString(100),
    family_name: nullableString(100),
    locale: nullableString(35),
    timezone: nullableString(64),
    status: { type: 'string', enum: ['active', 'disabled', 'locked'] },
    role: { type: 'string', enum: ['admin', 'manager', 'user', 'viewer'] },
    last_login_at: { type: ['string', 'null'], format: 'date-time' },
    locked_until: { type: ['string', 'null'], format: 'date-time' },
    login_count: { type: 'integer' },
    created_by: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

export const profileFields = {
  name: nullableString(200),
  given_name: nullableString(100),
  family_name: nullableString(100),
  locale: { type: ['string', 'null'], pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$', maxLength: 35 },
  timezone: { type: ['string', 'null'], pattern: '^[A-Za-z0-9_+\\-/]+$', maxLength: 64 },
} as const;

export const tokenResponseSchema = {
  type: 'object',
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: { type: 'integer' },
    refresh_token: { type: 'string' },
    csrf_token: { type: 'string' },
    user: publicUserSchema,
  },
} as const;

export const errorResponseSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        category: { type: 'string', enum: ['authentication', 'session', 'rate_limiting', 'system'] },
        message: { type: 'string' },
        requestId: { type: 'string' },
        retry_after: { type: 'integer', description: 'Seconds to wait (rate limits, lockouts)' },
        details: {
          type: 'array',
          items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' }, code: { type: 'string' } } },
        },
      },
    },
  },
} as const;

export const sessionSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    last_active_at: { type: 'string', format: 'date-time' },
    idle_expires_at: { type: 'string', format: 'date-time' },
    absolute_expires_at: { type: 'string', format: 'date-time' },
    ip: { type: ['string', 'null'] },
    user_agent: { type: ['string', 'null'] },
    amr: { type: 'array', items: { type: 'string' } },
    aal: { type: 'integer' },
    current: { type: 'boolean' },
  },
} as const;

/** Error statuses every route may answer with, for the OpenAPI document. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries([400, 500, ...statuses].map((s) => [s, errorResponseSchema]));

export const bearerSecurity = [{ bearerAuth: [] }];

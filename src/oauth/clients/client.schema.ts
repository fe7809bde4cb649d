import { AUTH_METHODS, CLIENT_TYPES, GRANT_TYPES } from './client.model.ts';

const uriList = { type: 'array', maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 2000 } } as const;
const ttl = (max: number) => ({ type: 'integer', minimum: 60, maximum: max }) as const;
const jwks = {
  type: 'object',
  required: ['keys'],
  additionalProperties: false,
  properties: { keys: { type: 'array', minItems: 1, maxItems: 10, items: { type: 'object', required: ['kty'], additionalProperties: true } } },
} as const;

const mutable = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  redirect_uris: uriList,
  post_logout_redirect_uris: uriList,
  scope: { type: 'string', maxLength: 2000, description: 'Space-separated scopes the client may ask for' },
  first_party: { type: 'boolean', description: 'Trusted: its users are not asked for consent' },
  access_token_ttl: ttl(86_400),
  refresh_token_ttl: ttl(365 * 86_400),
  id_token_ttl: ttl(86_400),
  jwks,
  jwks_uri: { type: ['string', 'null'], maxLength: 2000, description: 'private_key_jwt: https URL of the client’s public keys (instead of jwks)' },
  backchannel_logout_uri: {
    type: ['string', 'null'],
    minLength: 1,
    maxLength: 2000,
    description: 'OIDC Back-Channel Logout: https URL (http on loopback) that receives a Logout Token when a session the client signed in through ends',
  },
  backchannel_logout_session_required: { type: 'boolean', description: 'The client needs sid in Logout Tokens (always sent); default true' },
} as const;

export const createClientBody = {
  type: 'object',
  required: ['name', 'type'],
  additionalProperties: false,
  properties: {
    ...mutable,
    type: { type: 'string', enum: [...CLIENT_TYPES] },
    grant_types: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...GRANT_TYPES] } },
    token_endpoint_auth_method: { type: 'string', enum: [...AUTH_METHODS] },
  },
} as const;

export const patchClientBody = { type: 'object', additionalProperties: false, minProperties: 1, properties: mutable } as const;

export const clientSchema = {
  type: 'object',
  properties: {
    client_id: { type: 'string' },
    client_secret: { type: 'string', description: 'Shown only when created or rotated' },
    name: { type: 'string' },
    type: { type: 'string', enum: [...CLIENT_TYPES] },
    token_endpoint_auth_method: { type: 'string' },
    redirect_uris: { type: 'array', items: { type: 'string' } },
    post_logout_redirect_uris: { type: 'array', items: { type: 'string' } },
    grant_types: { type: 'array', items: { type: 'string' } },
    scope: { type: 'string' },
    first_party: { type: 'boolean' },
    access_token_ttl: { type: ['integer', 'null'] },
    refresh_token_ttl: { type: ['integer', 'null'] },
    id_token_ttl: { type: ['integer', 'null'] },
    jwks: { type: ['object', 'null'], additionalProperties: true },
    jwks_uri: { type: ['string', 'null'] },
    backchannel_logout_uri: { type: ['string', 'null'] },
    backchannel_logout_session_required: { type: 'boolean' },
    has_secret: { type: 'boolean' },
    previous_secret_expires_at: { type: ['string', 'null'], format: 'date-time' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

export const clientIdParams = { type: 'object', properties: { client_id: { type: 'string', minLength: 1, maxLength: 100 } } } as const;

export const rotateSecretBody = {
  type: 'object',
  additionalProperties: false,
  properties: { overlap_seconds: { type: 'integer', minimum: 0, maximum: 30 * 86_400, default: 86_400, description: 'How long the previous secret keeps working' } },
} as const;

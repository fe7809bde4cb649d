import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { requireTenant } from '../http/request-context.ts';
import { LOCALES } from '../i18n/locale.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { ASSERTION_ALGS } from './clients/client-auth.ts';
import { AUTH_METHODS, STANDARD_SCOPES } from './clients/client.model.ts';
import { SUPPORTED_GRANT_TYPES } from './token/token.routes.ts';

/** OpenID Provider Metadata (OIDC Discovery §3, RFC 8414): only what the endpoints really do. */
export function providerMetadata(tenant: ResolvedTenant) {
  const iss = tenant.issuer;
  return {
    issuer: iss,
    authorization_endpoint: `${iss}/oauth/authorize`,
    token_endpoint: `${iss}/oauth/token`,
    userinfo_endpoint: `${iss}/oauth/userinfo`,
    jwks_uri: `${iss}/.well-known/jwks.json`,
    introspection_endpoint: `${iss}/oauth/introspect`,
    revocation_endpoint: `${iss}/oauth/revoke`,
    end_session_endpoint: `${iss}/oauth/end_session`,
    scopes_supported: [...STANDARD_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: SUPPORTED_GRANT_TYPES,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [effectiveSettings(tenant).signing_alg],
    token_endpoint_auth_methods_supported: [...AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
    introspection_endpoint_auth_methods_supported: [...AUTH_METHODS].filter((m) => m !== 'none'),
    introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
    revocation_endpoint_auth_methods_supported: [...AUTH_METHODS],
    revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
    code_challenge_methods_supported: ['S256'],
    prompt_values_supported: ['none', 'login', 'consent'],
    // acr_values=urn:gatehouse:aal2 makes an aal1 session pass a second factor first (when the user has one).
    acr_values_supported: ['urn:gatehouse:aal1', 'urn:gatehouse:aal2'],
    ui_locales_supported: [...LOCALES],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'sid', 'at_hash', 'email', 'email_verified', 'name', 'given_name', 'family_name', 'locale', 'zoneinfo', 'updated_at'],
    claim_types_supported: ['normal'],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    authorization_response_iss_parameter_supported: true,
    frontchannel_logout_supported: false,
    // OIDC Back-Channel Logout 1.0: Logout Tokens always carry sid (the ID token's).
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
  };
}

export async function discoveryRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  app.get(
    '/.well-known/openid-configuration',
    {
      schema: {
        tags: ['oauth'],
        summary: 'OpenID Provider configuration of the tenant (its own issuer)',
        response: { 200: { type: 'object', additionalProperties: true, description: 'OpenID Provider Metadata (OIDC Discovery 1.0 §3)' } },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      reply.header('cache-control', 'public, max-age=300');
      return providerMetadata(tenant);
    },
  );
}

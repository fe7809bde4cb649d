import type { FastifyReply } from 'fastify';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import type { OAuthError } from '../oauth-error.ts';

/** Sends the browser back to the client's (validated) redirect URI with the response parameters, plus iss (RFC 9207). */
export function redirectToClient(reply: FastifyReply, tenant: ResolvedTenant, redirectUri: string, params: Record<string, string | null | undefined>) {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) url.searchParams.set(k, v);
  url.searchParams.set('iss', tenant.issuer);
  return reply.code(303).header('cache-control', 'no-store').redirect(url.href, 303);
}

export function redirectError(reply: FastifyReply, tenant: ResolvedTenant, redirectUri: string, state: string | null | undefined, err: OAuthError) {
  const body = err.toJSON();
  return redirectToClient(reply, tenant, redirectUri, { error: body.error, error_description: body.error_description, state });
}

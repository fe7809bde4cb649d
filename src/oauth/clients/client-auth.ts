import type { FastifyRequest } from 'fastify';
import { createLocalJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { Gatehouse } from '../../context.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import { InvalidClient, InvalidRequest } from '../oauth-error.ts';
import { JwksFetchError } from './client-jwks.ts';
import type { AuthMethod, ClientRow } from './client.model.ts';
import { findClientCached } from './client-cache.ts';
import { verifyClientSecret } from './client-secret.ts';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const ASSERTION_ALGS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];
/** An assertion may not claim to live longer than this (its jti is remembered that long). */
const MAX_ASSERTION_LIFETIME = 600;

interface Presented {
  method: AuthMethod;
  clientId: string;
  secret?: string;
  assertion?: string;
}

/** RFC 6749 §2.3.1: the Basic credentials are form-urlencoded before base64. */
function decodeBasic(header: string): { id: string; secret: string } {
  const raw = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const i = raw.indexOf(':');
  if (i < 0) throw InvalidClient('The Basic credentials are malformed.', 'Basic');
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      throw InvalidClient('The Basic credentials are malformed.', 'Basic');
    }
  };
  return { id: dec(raw.slice(0, i)), secret: dec(raw.slice(i + 1)) };
}

/** Which one authentication method the request uses; more than one is an error (RFC 6749 §2.3). */
function presented(request: FastifyRequest, body: Record<string, string>): Presented {
  const auth = request.headers.authorization;
  const basic = auth && /^basic /i.test(auth) ? decodeBasic(auth) : undefined;
  const methods = [basic, body.client_secret, body.client_assertion].filter((x) => x !== undefined);
  if (methods.length > 1) throw InvalidRequest('Use exactly one client authentication method.');
  if (basic) {
    if (body.client_id !== undefined && body.client_id !== basic.id) throw InvalidRequest('client_id does not match the Basic credentials.');
    return { method: 'client_secret_basic', clientId: basic.id, secret: basic.secret };
  }
  if (body.client_assertion !== undefined) {
    if (body.client_assertion_type !== JWT_BEARER_ASSERTION) throw InvalidRequest(`client_assertion_type must be ${JWT_BEARER_ASSERTION}.`);
    let sub: unknown;
    try {
      sub = JSON.parse(Buffer.from(body.client_assertion.split('.')[1] ?? '', 'base64url').toString('utf8')).sub;
    } catch {
      throw InvalidClient('The client assertion is malformed.');
    }
    if (typeof sub !== 'string' || (body.client_id !== undefined && body.client_id !== sub)) throw InvalidClient('The client assertion does not name the client.');
    return { method: 'private_key_jwt', clientId: sub, assertion: body.client_assertion };
  }
  if (body.client_id === undefined) throw InvalidClient('No client authentication.');
  if (body.client_secret !== undefined) return { method: 'client_secret_post', clientId: body.client_id, secret: body.client_secret };
  return { method: 'none', clientId: body.client_id };
}

/**
 * Authenticates the client at the token, introspection and revocation endpoints with the method it registered:
 * client_secret_basic, client_secret_post, private_key_jwt (keys registered inline; iss = sub = client_id, aud the
 * issuer or this endpoint, exp required, jti single use) or none (public clients, which then rely on PKCE).
 */
export async function authenticateClient(gh: Gatehouse, tenant: ResolvedTenant, request: FastifyRequest, body: Record<string, string>, endpoint: string): Promise<ClientRow> {
  const p = presented(request, body);
  const scheme = p.method === 'client_secret_basic' ? 'Basic' : 'none';
  const client = await findClientCached(gh, tenant.id, p.clientId);
  if (!client) throw InvalidClient('Client authentication failed.', scheme);
  if (client.token_endpoint_auth_method !== p.method) throw InvalidClient(`This client authenticates with ${client.token_endpoint_auth_method}.`, scheme);
  switch (p.method) {
    case 'none':
      return client;
    case 'client_secret_basic':
    case 'client_secret_post':
      if (!verifyClientSecret(client, p.secret!)) throw InvalidClient('Client authentication failed.', scheme);
      return client;
    case 'private_key_jwt':
      await verifyAssertion(gh, tenant, client, p.assertion!, endpoint);
      return client;
  }
}

async function verifyAssertion(gh: Gatehouse, tenant: ResolvedTenant, client: ClientRow, assertion: string, endpoint: string) {
  if (!client.jwks && !client.jwks_uri) throw InvalidClient('The client has no registered keys.');
  const checks = { issuer: client.client_id, subject: client.client_id, audience: [tenant.issuer, endpoint], algorithms: ASSERTION_ALGS, requiredClaims: ['exp', 'jti'], clockTolerance: 5 };
  let payload;
  try {
    // A remote set fetches again on an unknown kid (the client rotated), at most every 30 s.
    const keys = client.jwks ? createLocalJWKSet(client.jwks as never) : gh.clientJwks.keys(tenant.id, client);
    ({ payload } = await jwtVerify(assertion, keys, checks));
  } catch (err) {
    if (err instanceof JwksFetchError || err instanceof joseErrors.JWKSTimeout) throw InvalidClient('The client’s keys could not be fetched from its jwks_uri.');
    const why = err instanceof joseErrors.JWTExpired ? 'has expired' : err instanceof joseErrors.JWTClaimValidationFailed ? `has a wrong ${err.claim} claim` : 'is invalid';
    throw InvalidClient(`The client assertion ${why}.`);
  }
  const now = Math.floor(Date.now() / 1000);
  const lifetime = payload.exp! - now;
  if (lifetime > MAX_ASSERTION_LIFETIME) throw InvalidClient('The client assertion lives too long.');
  if (typeof payload.jti !== 'string' || payload.jti.length > 200) throw InvalidClient('The client assertion has no usable jti.');
  const fresh = await gh.kv.setIfAbsent(`oauth:jti:${tenant.id}:${client.client_id}:${payload.jti}`, '1', Math.max(lifetime, 0) + 60);
  if (!fresh) throw InvalidClient('The client assertion was already used.');
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { AppError } from '../errors/app-error.ts';
import type { Permission } from '../rbac/roles.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { claimedTenantId, verifyAccessToken, type AccessClaims } from '../tokens/access-token.ts';
import { decodeJws, type DecodedJws } from '../keys/jws-verify.ts';
import { isDenied } from '../tokens/denylist.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { tokenTimer, type Metrics } from '../observability/metrics.ts';
import { findSession } from '../session/session.queries.ts';

declare module 'fastify' {
  interface FastifyRequest {
    tenant: ResolvedTenant | null;
    auth: AccessClaims | null;
  }
  interface FastifyContextConfig {
    /** Tenant routes mounted at the root (subdomain / header / token claim) rather than under /t/{slug}. */
    rootMount?: boolean;
  }
}

const verifyTimers = new WeakMap<Metrics, ReturnType<typeof tokenTimer>>();
function cacheTimer(m: Metrics) {
  const t = tokenTimer(m, 'verify');
  verifyTimers.set(m, t);
  return t;
}

const BEARER = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/;
const decodedBearers = new WeakMap<FastifyRequest, DecodedJws | null>();

/**
 * The request's Bearer token decoded, nothing verified: the rate limiter, tenant resolution and authentication all
 * read it, so it is decoded once per request. Null when there is none or it is not a well-formed JWS.
 */
export function bearerJws(request: FastifyRequest): DecodedJws | null {
  let jws = decodedBearers.get(request);
  if (jws === undefined) {
    const m = BEARER.exec(request.headers.authorization ?? '');
    jws = (m && decodeJws(m[1]!)) ?? null;
    decodedBearers.set(request, jws);
  }
  return jws;
}

/** Where the tenant comes from when no token decides: path prefix, then subdomain, then (if enabled) a header. */
async function tenantFromRequest(gh: Gatehouse, request: FastifyRequest): Promise<ResolvedTenant | null | undefined> {
  const params = request.params as { tenant?: string };
  if (params.tenant !== undefined) return (await gh.tenants.bySlug(params.tenant)) ?? null;
  const base = gh.config.baseDomain;
  if (base) {
    const host = request.hostname.toLowerCase();
    const suffix = '.' + base.replace(/:\d+$/, '');
    if (host.endsWith(suffix)) return (await gh.tenants.bySlug(host.slice(0, -suffix.length))) ?? null;
  }
  if (gh.config.tenantHeader) {
    const h = request.headers['x-tenant-id'];
    if (typeof h === 'string' && h) return (await gh.tenants.byId(h)) ?? (await gh.tenants.bySlug(h)) ?? null;
  }
  return undefined;
}

/**
 * The tenant whose rate limits apply, before any handler runs: the one the request names, else the one a Bearer
 * token claims (unverified: it only picks whose budget is spent, and the key still holds the client IP). Undefined
 * when there is none or it is not active; the handler then answers with its own error.
 */
export async function tenantForLimits(gh: Gatehouse, request: FastifyRequest): Promise<ResolvedTenant | undefined> {
  let t = await tenantFromRequest(gh, request);
  if (t === undefined) {
    const claimed = claimedTenantId(bearerJws(request) ?? undefined);
    if (claimed) t = await gh.tenants.byId(claimed);
  }
  return t && t.status === 'active' ? t : undefined;
}

function assertUsable(t: ResolvedTenant): ResolvedTenant {
  if (t.status === 'suspended') throw new AppError('TENANT_SUSPENDED');
  if (t.status === 'canceled') throw new AppError('TENANT_CANCELED');
  return t;
}

/** Resolves the tenant for an unauthenticated tenant route: 404 when unknown, 403 when suspended or canceled. */
export async function requireTenant(gh: Gatehouse, request: FastifyRequest): Promise<ResolvedTenant> {
  if (request.tenant) return request.tenant;
  const t = await tenantFromRequest(gh, request);
  if (!t) {
    throw new AppError('TENANT_NOT_FOUND', t === undefined ? { message: 'No tenant in the request: use /t/{slug}/...' } : {});
  }
  request.tenant = assertUsable(t);
  return request.tenant;
}

function bearer(request: FastifyRequest): DecodedJws {
  if (!request.headers.authorization) throw new AppError('UNAUTHENTICATED');
  const jws = bearerJws(request);
  if (!jws) throw new AppError('TOKEN_INVALID');
  return jws;
}

/**
 * Authenticates a Bearer access token. The tenant comes first from the token's claim (its signature then checked
 * with that tenant's keys only); a tenant named by path, subdomain or header must be the same one, else 403
 * TENANT_MISMATCH. Revoked tokens and sessions are refused at once.
 */
export async function authenticate(gh: Gatehouse, request: FastifyRequest, permission?: Permission): Promise<AccessClaims> {
  const token = bearer(request);
  const claimed = claimedTenantId(token);
  const tokenTenant = claimed ? await gh.tenants.byId(claimed) : undefined;
  if (!tokenTenant) throw new AppError('TOKEN_INVALID');
  const started = performance.now();
  const claims = await verifyAccessToken(gh.keys, token, tokenTenant);
  (verifyTimers.get(gh.metrics) ?? cacheTimer(gh.metrics)).observe((performance.now() - started) / 1000);
  const named = await tenantFromRequest(gh, request);
  if (named === null) throw new AppError('TENANT_NOT_FOUND');
  if (named && named.id !== tokenTenant.id) throw new AppError('TENANT_MISMATCH');
  request.tenant = assertUsable(tokenTenant);

  let denied: boolean;
  try {
    denied = await isDenied(gh.kv, claims.jti, claims.sid);
  } catch (err) {
    // The key-value store is down: fall back to the session row, which every revocation also updates.
    request.log.warn({ err }, 'denylist unavailable; checking the session in the database');
    const session = await withTenantTx(gh.db, tokenTenant.id, (tx) => findSession(tx, claims.sid));
    denied = !session || session.revoked_at !== null;
  }
  if (denied) throw new AppError('TOKEN_REVOKED');
  if (permission && !claims.permissions.includes(permission)) throw new AppError('FORBIDDEN');
  request.auth = claims;
  return claims;
}

export function auditContext(request: FastifyRequest): AuditContext {
  return {
    actorType: request.auth ? 'user' : 'anonymous',
    actorId: request.auth?.sub ?? null,
    ip: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
    requestId: request.id,
  };
}

export function noContent(reply: FastifyReply) {
  return reply.code(204).send();
}

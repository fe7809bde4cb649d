import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordAudit } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { auditContext, bearerJws, tenantForLimits } from '../http/request-context.ts';
import { effectiveSettings, type RateLimitGroup } from '../tenancy/tenant.model.ts';
import { rateLimited } from './login-protection.ts';

/** Token-bearing /auth/ routes are ordinary API calls; the rest of /auth/ takes credentials from anyone. */
const API_UNDER_AUTH = new Set(['/auth/refresh', '/auth/logout', '/auth/logout-all', '/auth/password/check']);

/** The route group a route's URL pattern belongs to (seed S000-69: /auth/ → auth, /admin/ → admin, else api). */
export function routeGroup(url: string): RateLimitGroup {
  const at = url.indexOf('/api/v1/');
  const path = at === -1 ? url : url.slice(at + 7);
  if (path.startsWith('/admin/')) return 'admin';
  if (path.startsWith('/auth/') && !API_UNDER_AUTH.has(path)) return 'auth';
  return 'api';
}

/** The user a Bearer token claims, unverified: only ever part of a bucket key next to the IP, never trusted. */
function claimedSubject(request: FastifyRequest): string | undefined {
  const sub = bearerJws(request)?.payload.sub;
  return typeof sub === 'string' ? sub.slice(0, 64) : undefined;
}

/**
 * Request budgets per route group, per tenant: sign-in routes per client IP, the API and admin groups per claimed
 * user and IP (two IPs of one user count apart, S000-69). Tenants override any group in `rate_limits`. Every
 * answer carries the RateLimit headers; a refusal is 429 RATE_LIMITED, counted in rate_limit_hits_total, and the
 * first refusal of each window is an audit event (one per exhausted window, so a flood cannot flood the trail).
 */
export function apiRateLimit(gh: Gatehouse) {
  return async function limitRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const url = request.routeOptions.url;
    if (!url) return;
    // Unknown or unusable tenants are the handler's to refuse, with its own error.
    const tenant = await tenantForLimits(gh, request);
    if (!tenant) return;
    const group = routeGroup(url);
    const tier = effectiveSettings(tenant).rate_limits[group];
    if (tier.points === 0) return;
    const who = group === 'auth' ? request.ip : `${claimedSubject(request) ?? '-'}:${request.ip}`;
    const r = await gh.throttle.take(`api-${group}`, `${tenant.id}:${who}`, tier.points, tier.window);
    if (r.ok) {
      reply.header('ratelimit-limit', tier.points);
      reply.header('ratelimit-remaining', tier.points - r.count);
      reply.header('ratelimit-reset', r.retryAfter);
      reply.header('ratelimit-policy', `${tier.points};w=${tier.window}`);
      return;
    }
    gh.metrics.rateLimitHits.inc({ tenant: tenant.slug, limit: group });
    if (r.count === tier.points + 1) {
      await withTenantTx(gh.db, tenant.id, (tx) =>
        recordAudit(tx, auditContext(request), {
          action: 'rate_limit.hit',
          risk: 'medium',
          details: { limit: group, route: `${request.method} ${url}`, wait_seconds: r.retryAfter },
        }),
      );
    }
    throw rateLimited(r.retryAfter, tier.points, tier.window, group === 'auth' ? 'RATE_LIMITED.login' : 'RATE_LIMITED.wait');
  };
}

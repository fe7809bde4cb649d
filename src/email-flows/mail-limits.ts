import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { rateLimited } from '../protection/login-protection.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';

/**
 * Mail-sending requests (reset, verification resend, passwordless start) per client IP: 429 with Retry-After. It
 * counts every request, whatever the address, so it reveals nothing about accounts. Login delays do not apply here:
 * a locked-out owner can still ask for a reset.
 */
export async function guardMailRequest(gh: Gatehouse, tenant: ResolvedTenant, ctx: AuditContext): Promise<void> {
  const s = effectiveSettings(tenant);
  const r = await gh.throttle.take('mail-ip', `${tenant.id}:${ctx.ip ?? 'unknown'}`, s.mail_requests_per_ip_per_hour, 3600);
  if (r.ok) return;
  gh.metrics.rateLimitHits.inc({ tenant: tenant.slug, limit: 'mail' });
  await withTenantTx(gh.db, tenant.id, (tx) =>
    recordAudit(tx, ctx, { action: 'rate_limit.hit', risk: 'medium', details: { limit: 'mail', wait_seconds: r.retryAfter } }),
  );
  throw rateLimited(r.retryAfter, s.mail_requests_per_ip_per_hour, 3600, 'RATE_LIMITED.wait');
}

/**
 * Mails of one kind per address per hour (`password_reset_max_per_hour`, default 3), counted for every address,
 * known or not. Over the budget the request still answers 202 like any other and sends nothing: the answer keeps a
 * single shape, and someone trying to flood an inbox gets no signal that the cap was reached.
 */
export async function withinMailBudget(gh: Gatehouse, tenant: ResolvedTenant, kind: string, email: string): Promise<boolean> {
  const s = effectiveSettings(tenant);
  return (await gh.throttle.take(`mail-${kind}`, `${tenant.id}:${email}`, s.password_reset_max_per_hour, 3600)).ok;
}

import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import type { KvStore } from '../kv/kv-store.ts';
import { createLimiterFactory } from '../protection/limiter-factory.ts';
import { rateLimited } from '../protection/login-protection.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';

/*
 * Wrong MFA codes per user (default 10 per 10 minutes), counted wherever a code is checked: login, step-up,
 * enrollment. Limiters live where the key-value store lives (Redis-shared when configured); thresholds are per
 * tenant, so the counting limiter itself never refuses and is compared here, as the login throttle does.
 */
const limiters = new WeakMap<KvStore, Map<number, RateLimiterAbstract>>();

function counter(kv: KvStore, window: number): RateLimiterAbstract {
  let byWindow = limiters.get(kv);
  if (!byWindow) limiters.set(kv, (byWindow = new Map()));
  let l = byWindow.get(window);
  if (!l) byWindow.set(window, (l = createLimiterFactory(kv)({ keyPrefix: `mfa-fail:${window}`, points: 1_000_000, duration: window })));
  return l;
}

const keyOf = (tenantId: string, userId: string) => `${tenantId}:${userId}`;

/** Refuses (429 RATE_LIMITED with Retry-After) a user who has used up their wrong codes; checked before any code. */
export async function assertMfaAttemptsLeft(gh: Gatehouse, tenant: ResolvedTenant, userId: string, ctx: AuditContext): Promise<void> {
  const s = effectiveSettings(tenant);
  const r = await counter(gh.kv, s.mfa_attempt_window).get(keyOf(tenant.id, userId));
  if (!r || r.consumedPoints < s.mfa_max_attempts) return;
  const wait = Math.max(1, Math.ceil(r.msBeforeNext / 1000));
  gh.metrics.rateLimitHits.inc({ tenant: tenant.slug, limit: 'mfa' });
  await withTenantTx(gh.db, tenant.id, (tx) =>
    recordAudit(tx, ctx, { action: 'rate_limit.hit', subjectId: userId, risk: 'medium', details: { limit: 'mfa', wait_seconds: wait } }),
  );
  throw rateLimited(wait, s.mfa_max_attempts, s.mfa_attempt_window, 'RATE_LIMITED.wait');
}

export async function countMfaFailure(gh: Gatehouse, tenant: ResolvedTenant, userId: string): Promise<void> {
  await counter(gh.kv, effectiveSettings(tenant).mfa_attempt_window).consume(keyOf(tenant.id, userId));
}

export async function resetMfaFailures(gh: Gatehouse, tenant: ResolvedTenant, userId: string): Promise<void> {
  await counter(gh.kv, effectiveSettings(tenant).mfa_attempt_window).delete(keyOf(tenant.id, userId));
}

import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import type { UserRow } from '../identity/user.model.ts';
import { effectiveSettings, type TenantSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import type { Identifier, ThrottlePolicy } from './login-throttle.ts';
import { raiseAlert } from '../security/alerts.ts';
import { notifyUser } from '../mail/outbox.ts';

/** Failed sign-ins for one account that raise a multiple_failures alert (when below the lockout threshold). */
const MULTIPLE_FAILURES_AT = 5;

export function throttlePolicy(s: TenantSettings): ThrottlePolicy {
  return { perEmail: s.login_max_failures_per_email, perIp: s.login_max_failures_per_ip, window: s.login_failure_window, delays: s.login_delays };
}

/** 429 RATE_LIMITED with Retry-After and the RateLimit headers; the message says how long to wait. */
export function rateLimited(waitSeconds: number, limit: number, window: number, messageKey: 'RATE_LIMITED.login' | 'RATE_LIMITED.wait') {
  return new AppError('RATE_LIMITED', {
    messageKey,
    params: { waitSeconds },
    headers: {
      'retry-after': String(waitSeconds),
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(waitSeconds),
      'ratelimit-policy': `${limit};w=${window}`,
    },
  });
}

async function recordLimitHit(gh: Gatehouse, tenant: ResolvedTenant, ctx: AuditContext, limit: string, details: Record<string, unknown>) {
  gh.metrics.rateLimitHits.inc({ tenant: tenant.slug, limit });
  await withTenantTx(gh.db, tenant.id, (tx) => recordAudit(tx, ctx, { action: 'rate_limit.hit', risk: 'medium', details: { limit, ...details } }));
}

/**
 * Before any credential is checked: refuses an email or IP that is waiting out a delay. Checked first so a blocked
 * attacker costs no password hash.
 */
export async function guardLogin(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  email: string,
  ctx: AuditContext,
): Promise<{ ids: Identifier[]; recentFailures: number }> {
  const s = effectiveSettings(tenant);
  const p = throttlePolicy(s);
  const ids = gh.throttle.identifiers(p, tenant.id, email, ctx.ip ?? 'unknown');
  // Both reads at once: the email's recent failures feed the risk score and say whether a success must reset them.
  const [wait, recentFailures] = await Promise.all([gh.throttle.blockedFor(ids), gh.throttle.failureCount(p, ids[0]!)]);
  if (wait > 0) {
    await recordLimitHit(gh, tenant, ctx, 'login', { email, wait_seconds: wait });
    throw rateLimited(wait, p.perEmail, p.window, 'RATE_LIMITED.login');
  }
  return { ids, recentFailures };
}

/**
 * After a wrong password: counts towards the delays and, for an existing account, towards its lockout. Locking is
 * a committed change with its audit event; the caller still answers INVALID_CREDENTIALS, so the lock tells nothing
 * to someone without the password.
 */
export async function onLoginFailure(gh: Gatehouse, tenant: ResolvedTenant, ids: Identifier[], user: UserRow | undefined, ctx: AuditContext) {
  const s = effectiveSettings(tenant);
  const imposed = await gh.throttle.failure(throttlePolicy(s), ids);
  if (imposed > 0) gh.metrics.rateLimitHits.inc({ tenant: tenant.slug, limit: 'login' });
  if (!user || s.lockout_threshold === 0 || user.status === 'locked') return;
  const n = await gh.throttle.accountFailure(`${tenant.id}:${user.id}`, s.lockout_window);
  if (n < s.lockout_threshold) {
    // Raised once per run of failures, before any lockout: exactly at the fifth.
    if (n === MULTIPLE_FAILURES_AT) {
      await withTenantTx(gh.db, tenant.id, (tx) =>
        raiseAlert(tx, { type: 'multiple_failures', userId: user.id, details: { failures: n, window_seconds: s.lockout_window, ip: ctx.ip ?? null } }, { sealer: gh.sealer, tenant }),
      );
    }
    return;
  }
  await withTenantTx(gh.db, tenant.id, async (tx) => {
    await tx.query(
      `UPDATE users SET status = 'locked', locked_until = now() + make_interval(secs => $2::int), updated_at = now()
       WHERE id = $1 AND status = 'active'`,
      [user.id, s.lockout_duration],
    );
    await recordAudit(tx, ctx, {
      action: 'account.locked',
      subjectId: user.id,
      risk: 'high',
      details: { failures: n, window_seconds: s.lockout_window, duration_seconds: s.lockout_duration },
    });
    await raiseAlert(tx, {
      type: 'account_locked',
      userId: user.id,
      details: { failures: n, window_seconds: s.lockout_window, duration_seconds: s.lockout_duration, ip: ctx.ip ?? null },
    }, { sealer: gh.sealer, tenant });
    // The owner hears of it by mail (committed with the lock; delivered by the mail worker).
    await notifyUser(tx, gh, tenant, user.id, 'account_locked', { minutes: Math.ceil(s.lockout_duration / 60) });
  });
  await gh.throttle.resetAccount(`${tenant.id}:${user.id}`, s.lockout_window);
  gh.users.invalidate(tenant.id, user.id);
}

/** After a correct password: a locked account that is still locked gets 403 ACCOUNT_LOCKED with the wait. */
export function assertNotLocked(user: UserRow): void {
  if (user.status !== 'locked' || !user.locked_until) return;
  const wait = Math.ceil((user.locked_until.getTime() - Date.now()) / 1000);
  if (wait > 0) throw new AppError('ACCOUNT_LOCKED', { messageKey: 'ACCOUNT_LOCKED.wait', params: { waitSeconds: wait }, headers: { 'retry-after': String(wait) } });
}

/**
 * After a successful sign-in whose email had `recentFailures` in the current window: resets the email's delays and
 * the account's lockout count. With none (the common case) there is nothing to reset, which saves the store three
 * writes per login; failures older than the window then still count towards the day's lockout, which errs safe.
 */
export async function onLoginSuccess(gh: Gatehouse, tenant: ResolvedTenant, ids: Identifier[], userId: string, recentFailures: number) {
  if (recentFailures === 0) return;
  const s = effectiveSettings(tenant);
  await Promise.all([gh.throttle.success(throttlePolicy(s), ids[0]!), gh.throttle.resetAccount(`${tenant.id}:${userId}`, s.lockout_window)]);
}

/** Registrations per client IP per hour (seed 002: 3). */
export async function guardRegistration(gh: Gatehouse, tenant: ResolvedTenant, ctx: AuditContext) {
  const s = effectiveSettings(tenant);
  const r = await gh.throttle.take('register-ip', `${tenant.id}:${ctx.ip ?? 'unknown'}`, s.register_max_per_ip_per_hour, 3600);
  if (r.ok) return;
  await recordLimitHit(gh, tenant, ctx, 'register', { wait_seconds: r.retryAfter });
  throw rateLimited(r.retryAfter, s.register_max_per_ip_per_hour, 3600, 'RATE_LIMITED.wait');
}

/** An admin's unlock also lifts the email's delay and forgets its failures, so the owner can sign in at once. */
export async function clearLoginThrottle(gh: Gatehouse, tenant: ResolvedTenant, user: Pick<UserRow, 'id' | 'email'>) {
  const s = effectiveSettings(tenant);
  const p = throttlePolicy(s);
  const [emailId] = gh.throttle.identifiers(p, tenant.id, user.email, 'unused');
  await Promise.all([gh.throttle.success(p, emailId!), gh.throttle.unblock(emailId!), gh.throttle.resetAccount(`${tenant.id}:${user.id}`, s.lockout_window)]);
}

import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LimiterFactory } from './limiter-factory.ts';

export interface ThrottlePolicy {
  /** Failures per identifier within `window` seconds that trip a delay. */
  perEmail: number;
  perIp: number;
  window: number;
  /** Successive delays in seconds; the last repeats. */
  delays: number[];
}

export interface Identifier {
  key: string;
  threshold: number;
}

/**
 * Progressive delays per identifier (seed 001): after `threshold` failures within the window, the identifier waits
 * delays[0]; each further trip within a day waits the next delay (1, 5, 15, 30 minutes by default). The (tenant,
 * email) and the IP are counted separately, so a stuffing run from many IPs trips the email, and one IP trying many
 * emails trips the IP. A success resets the email's counters.
 */
export function createLoginThrottle(limiter: LimiterFactory) {
  const cache = new Map<string, RateLimiterAbstract>();
  const get = (keyPrefix: string, points: number, duration: number) => {
    const id = `${keyPrefix}:${points}:${duration}`;
    let l = cache.get(id);
    if (!l) {
      l = limiter({ keyPrefix: `${keyPrefix}:${duration}`, points, duration });
      cache.set(id, l);
    }
    return l;
  };
  // Counting limiters never refuse by themselves: thresholds are per tenant, compared here.
  const failures = (p: ThrottlePolicy) => get('login-fail', 1_000_000, p.window);
  const trips = () => get('login-trip', 1_000_000, 86_400);
  const blocks = () => get('login-block', 1, 1);

  const identifiers = (p: ThrottlePolicy, tenantId: string, email: string, ip: string): Identifier[] => [
    { key: `e:${tenantId}:${email}`, threshold: p.perEmail },
    { key: `ip:${ip}`, threshold: p.perIp },
  ];

  return {
    identifiers,
    /** Seconds until the longest block on these identifiers ends; 0 when none is blocked. */
    async blockedFor(ids: Identifier[]): Promise<number> {
      const res = await Promise.all(ids.map((id) => blocks().get(id.key)));
      let ms = 0;
      for (const r of res) if (r && r.consumedPoints > 1) ms = Math.max(ms, r.msBeforeNext);
      return Math.ceil(ms / 1000);
    },
    /** Counts a failure; returns the delay (seconds) imposed now, 0 when no identifier tripped. */
    async failure(p: ThrottlePolicy, ids: Identifier[]): Promise<number> {
      let imposed = 0;
      await Promise.all(
        ids.map(async (id) => {
          const r = await failures(p).consume(id.key);
          if (r.consumedPoints < id.threshold) return;
          const n = (await trips().consume(id.key)).consumedPoints;
          const seconds = p.delays[Math.min(n, p.delays.length) - 1] ?? 60;
          await blocks().block(id.key, seconds);
          await failures(p).delete(id.key);
          imposed = Math.max(imposed, seconds);
        }),
      );
      return imposed;
    },
    async success(p: ThrottlePolicy, id: Identifier): Promise<void> {
      await Promise.all([failures(p).delete(id.key), trips().delete(id.key)]);
    },
    /** Failures counted for an identifier in the current window (a risk signal). */
    async failureCount(p: ThrottlePolicy, id: Identifier): Promise<number> {
      return (await failures(p).get(id.key))?.consumedPoints ?? 0;
    },
    async unblock(id: Identifier): Promise<void> {
      await blocks().delete(id.key);
    },
    /** Counts a failed password for an account (from any IP) within `window` seconds; returns the count. */
    async accountFailure(key: string, window: number): Promise<number> {
      return (await get('acct-fail', 1_000_000, window).consume(key)).consumedPoints;
    },
    async resetAccount(key: string, window: number): Promise<void> {
      await get('acct-fail', 1_000_000, window).delete(key);
    },
    /** A plain fixed-window budget (registrations per IP): false once `points` are spent. */
    async take(prefix: string, key: string, points: number, window: number): Promise<{ ok: boolean; retryAfter: number; count: number }> {
      const r = await get(prefix, 1_000_000_000, window).consume(key);
      return { ok: r.consumedPoints <= points, retryAfter: Math.ceil(r.msBeforeNext / 1000), count: r.consumedPoints };
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;

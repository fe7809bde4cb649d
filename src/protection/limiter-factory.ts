import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { KvStore } from '../kv/kv-store.ts';

export interface LimiterSpec {
  keyPrefix: string;
  points: number;
  /** Window in seconds. */
  duration: number;
}

/**
 * Limiters live where the key-value store lives: in Redis (shared by every node) when configured, else in memory.
 * A Redis limiter carries an in-memory insurance limiter: while Redis is unreachable each node keeps limiting on its
 * own, so limiting never fails open and never takes login down.
 */
export function createLimiterFactory(kv: KvStore) {
  return function createLimiter(spec: LimiterSpec): RateLimiterAbstract {
    const memory = new RateLimiterMemory({ keyPrefix: spec.keyPrefix, points: spec.points, duration: spec.duration });
    if (!kv.redis) return memory;
    return new RateLimiterRedis({
      storeClient: kv.redis,
      keyPrefix: `rl:${spec.keyPrefix}`,
      points: spec.points,
      duration: spec.duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  };
}

export type LimiterFactory = ReturnType<typeof createLimiterFactory>;

/**
 * A small key-value store with TTLs for denylists, one-time challenges and counters. Memory by default,
 * Redis when REDIS_URL is set; `kv-store.contract.ts` is run against both.
 */
export interface KvStore {
  readonly kind: 'memory' | 'redis';
  /** The Redis connection behind a Redis store, for libraries that need one (rate limiters). */
  readonly redis?: import('ioredis').Redis;
  get(key: string): Promise<string | null>;
  /** One round trip for several keys (the denylist check on every authenticated request). */
  getMany(keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Sets only when absent; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  /** Reads and deletes atomically: a one-time value can be taken once. */
  take(key: string): Promise<string | null>;
  delete(key: string): Promise<void>;
  /** Increments a counter; the TTL starts with the first increment. */
  increment(key: string, ttlSeconds: number): Promise<number>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

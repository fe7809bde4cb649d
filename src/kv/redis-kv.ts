import { Redis } from 'ioredis';
import type { KvStore } from './kv-store.ts';

const INCREMENT = `local v = redis.call('INCR', KEYS[1]) if v == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return v`;

export function createRedisKv(url: string, opts: { prefix?: string } = {}): KvStore {
  const prefix = opts.prefix ?? 'gh:';
  // Fail fast while Redis is down instead of queueing: callers fall back or report degraded.
  const redis = new Redis(url, {
    keyPrefix: prefix,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on('error', () => {});
  const ready = new Promise<void>((resolve) => {
    if (redis.status === 'ready') resolve();
    redis.once('ready', () => resolve());
    setTimeout(resolve, 2000).unref();
  });

  return {
    kind: 'redis',
    redis,
    async get(key) {
      await ready;
      return redis.get(key);
    },
    async getMany(keys) {
      await ready;
      if (keys.length === 0) return [];
      return redis.mget(keys);
    },
    async set(key, value, ttlSeconds) {
      await ready;
      await redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)));
    },
    async setIfAbsent(key, value, ttlSeconds) {
      await ready;
      return (await redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX')) === 'OK';
    },
    async take(key) {
      await ready;
      return redis.getdel(key);
    },
    async delete(key) {
      await ready;
      await redis.del(key);
    },
    async increment(key, ttlSeconds) {
      await ready;
      return Number(await redis.eval(INCREMENT, 1, key, Math.max(1, Math.ceil(ttlSeconds))));
    },
    async ping() {
      try {
        await ready;
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      redis.disconnect();
    },
  };
}

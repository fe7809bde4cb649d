import type { KvStore } from './kv-store.ts';

interface Entry {
  value: string;
  expiresAt: number;
}

export function createMemoryKv(now: () => number = Date.now): KvStore {
  const map = new Map<string, Entry>();
  const live = (key: string): Entry | undefined => {
    const e = map.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now()) {
      map.delete(key);
      return undefined;
    }
    return e;
  };
  const sweep = setInterval(() => {
    const t = now();
    for (const [k, e] of map) if (e.expiresAt <= t) map.delete(k);
  }, 60_000);
  sweep.unref();

  return {
    kind: 'memory',
    async get(key) {
      return live(key)?.value ?? null;
    },
    async getMany(keys) {
      return keys.map((k) => live(k)?.value ?? null);
    },
    async set(key, value, ttlSeconds) {
      map.set(key, { value, expiresAt: now() + ttlSeconds * 1000 });
    },
    async setIfAbsent(key, value, ttlSeconds) {
      if (live(key)) return false;
      map.set(key, { value, expiresAt: now() + ttlSeconds * 1000 });
      return true;
    },
    async take(key) {
      const e = live(key);
      map.delete(key);
      return e?.value ?? null;
    },
    async delete(key) {
      map.delete(key);
    },
    async increment(key, ttlSeconds) {
      const e = live(key);
      const next = (e ? Number(e.value) : 0) + 1;
      map.set(key, { value: String(next), expiresAt: e?.expiresAt ?? now() + ttlSeconds * 1000 });
      return next;
    },
    async ping() {
      return true;
    },
    async close() {
      clearInterval(sweep);
      map.clear();
    },
  };
}

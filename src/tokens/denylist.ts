import type { KvStore } from '../kv/kv-store.ts';

/**
 * Access tokens are stateless JWTs; logout must still stop them at once. A revoked token's jti, or its whole
 * session id, is kept in the key-value store until the token could have expired anyway.
 */
export const jtiKey = (jti: string) => `deny:jti:${jti}`;
export const sidKey = (sid: string) => `deny:sid:${sid}`;

/**
 * Denials that could not be written (the store was down) wait here and are retried every second until written or
 * moot. The revocation itself is already committed in the database, which is what the check falls back to while the
 * store is down; the retry makes sure the store has the denial once it is back, so a revoked token cannot come back.
 */
const pending = new WeakMap<KvStore, Map<string, number>>();
const retrying = new Set<KvStore>();

function retryLater(kv: KvStore, key: string, until: number) {
  let map = pending.get(kv);
  if (!map) pending.set(kv, (map = new Map()));
  map.set(key, until);
  if (retrying.has(kv)) return;
  retrying.add(kv);
  const timer = setInterval(async () => {
    const now = Date.now() / 1000;
    for (const [k, end] of map) {
      if (end <= now) {
        map.delete(k);
        continue;
      }
      try {
        await kv.set(k, '1', end - now);
        map.delete(k);
      } catch {
        return; // still down: try again next tick
      }
    }
    if (map.size === 0) {
      clearInterval(timer);
      retrying.delete(kv);
    }
  }, 1000);
  timer.unref();
}

async function deny(kv: KvStore, key: string, ttl: number): Promise<void> {
  try {
    await kv.set(key, '1', ttl);
  } catch {
    retryLater(kv, key, Date.now() / 1000 + ttl);
  }
}

export function pendingDenials(kv: KvStore): number {
  return pending.get(kv)?.size ?? 0;
}

export async function denyToken(kv: KvStore, jti: string, exp: number): Promise<void> {
  const ttl = exp - Math.floor(Date.now() / 1000) + 5;
  if (ttl > 0) await deny(kv, jtiKey(jti), ttl);
}

export async function denySessions(kv: KvStore, sids: string[], accessTtlSeconds: number): Promise<void> {
  await Promise.all(sids.map((sid) => deny(kv, sidKey(sid), accessTtlSeconds + 60)));
}

/** One round trip: is this token, or the session it belongs to, revoked? */
export async function isDenied(kv: KvStore, jti: string, sid: string): Promise<boolean> {
  const [a, b] = await kv.getMany([jtiKey(jti), sidKey(sid)]);
  return a !== null || b !== null;
}

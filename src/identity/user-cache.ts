import type { UserProfile, UserRow } from './user.model.ts';

/** A user as the cache keeps it: never the password hash, which only the password checks read (from the database). */
export type CachedUser = UserProfile;

/**
 * A read-through cache of user rows for the hottest authenticated read (GET /me). Every user write on this node
 * invalidates its entry before the response is sent. It is on only where this process is the sole writer
 * (the embedded database) unless configured; with a shared PostgreSQL its TTL defaults to 0 (off).
 */
export function createUserCache(ttlMs: number, max = 50_000) {
  const map = new Map<string, { user: CachedUser; at: number }>();
  const key = (tenantId: string, userId: string) => `${tenantId}:${userId}`;
  return {
    enabled: ttlMs > 0,
    get(tenantId: string, userId: string): CachedUser | undefined {
      if (ttlMs <= 0) return undefined;
      const k = key(tenantId, userId);
      const hit = map.get(k);
      if (!hit) return undefined;
      if (Date.now() - hit.at >= ttlMs) {
        map.delete(k);
        return undefined;
      }
      return hit.user;
    },
    /** Keeps the row (when the cache is on) without its password hash, and returns it as kept. */
    set({ password_hash: _hash, ...user }: UserRow): CachedUser {
      if (ttlMs <= 0) return user;
      if (map.size >= max) map.delete(map.keys().next().value!);
      map.set(key(user.tenant_id, user.id), { user, at: Date.now() });
      return user;
    },
    invalidate(tenantId: string, userId: string) {
      map.delete(key(tenantId, userId));
    },
  };
}

export type UserCache = ReturnType<typeof createUserCache>;

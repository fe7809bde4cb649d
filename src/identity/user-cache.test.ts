import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { UserRow } from './user.model.ts';
import { createUserCache } from './user-cache.ts';

const row = (): UserRow =>
  ({
    id: randomUUID(),
    tenant_id: randomUUID(),
    email: 'a@example.com',
    email_verified: true,
    password_hash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo',
    status: 'active',
    role: 'user',
  }) as unknown as UserRow;

describe('user cache', () => {
  it('keeps users without their password hash, whether on or off', () => {
    for (const ttl of [60_000, 0]) {
      const cache = createUserCache(ttl);
      const u = row();
      const kept = cache.set(u);
      expect('password_hash' in kept).toBe(false);
      expect(kept).toEqual(Object.fromEntries(Object.entries(u).filter(([k]) => k !== 'password_hash')));
      const hit = cache.get(u.tenant_id, u.id);
      if (ttl > 0) expect(hit && 'password_hash' in hit).toBe(false);
      else expect(hit).toBeUndefined();
    }
  });

  it('misses after the TTL and after invalidation; evicts the oldest beyond its size', () => {
    const cache = createUserCache(60_000, 2);
    const [a, b, c] = [row(), row(), row()];
    cache.set(a);
    cache.set(b);
    cache.invalidate(b.tenant_id, b.id);
    expect(cache.get(b.tenant_id, b.id)).toBeUndefined();
    cache.set(b);
    cache.set(c);
    expect(cache.get(a.tenant_id, a.id)).toBeUndefined();
    expect(cache.get(c.tenant_id, c.id)?.id).toBe(c.id);
    const expired = createUserCache(-1);
    expired.set(a);
    expect(expired.get(a.tenant_id, a.id)).toBeUndefined();
  });
});

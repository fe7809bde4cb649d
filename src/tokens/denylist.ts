import type { KvStore } from '../kv/kv-store.ts';

/**
 * Access tokens are stateless JWTs; logout must still stop them at once. A revoked token's jti, or its whole
 * session id, is kept in the key-value store until the token could have expired anyway.
 */
export const jtiKey = (jti: string) => `deny:jti:${jti}`;
export const sidKey = (sid: string) => `deny:sid:${sid}`;

export async function denyToken(kv: KvStore, jti: string, exp: number): Promise<void> {
  const ttl = exp - Math.floor(Date.now() / 1000) + 5;
  if (ttl > 0) await kv.set(jtiKey(jti), '1', ttl);
}

export async function denySessions(kv: KvStore, sids: string[], accessTtlSeconds: number): Promise<void> {
  await Promise.all(sids.map((sid) => kv.set(sidKey(sid), '1', accessTtlSeconds + 60)));
}

/** One round trip: is this token, or the session it belongs to, revoked? */
export async function isDenied(kv: KvStore, jti: string, sid: string): Promise<boolean> {
  const [a, b] = await kv.getMany([jtiKey(jti), sidKey(sid)]);
  return a !== null || b !== null;
}

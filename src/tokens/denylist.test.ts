import { describe, expect, it } from 'vitest';
import type { KvStore } from '../kv/kv-store.ts';
import { createMemoryKv } from '../kv/memory-kv.ts';
import { denySessions, denyToken, isDenied, pendingDenials } from './denylist.ts';

/** A memory store that can be switched off, like Redis going away. */
function flakyKv(): KvStore & { down: boolean } {
  const inner = createMemoryKv();
  const kv = { ...inner, down: false } as KvStore & { down: boolean };
  kv.set = async (k, v, ttl) => {
    if (kv.down) throw new Error('connection refused');
    return inner.set(k, v, ttl);
  };
  return kv;
}

describe('denylist while the store is down', () => {
  it('a revocation issued during an outage still reaches the store when it comes back', async () => {
    const kv = flakyKv();
    kv.down = true;
    const exp = Math.floor(Date.now() / 1000) + 600;
    await expect(denyToken(kv, 'jti-1', exp)).resolves.toBeUndefined();
    await expect(denySessions(kv, ['sid-1'], 900)).resolves.toBeUndefined();
    expect(pendingDenials(kv)).toBe(2);
    expect(await isDenied(kv, 'jti-1', 'sid-x')).toBe(false);
    kv.down = false;
    await new Promise((r) => setTimeout(r, 1300));
    expect(pendingDenials(kv)).toBe(0);
    expect(await isDenied(kv, 'jti-1', 'sid-x')).toBe(true);
    expect(await isDenied(kv, 'jti-x', 'sid-1')).toBe(true);
  });
});

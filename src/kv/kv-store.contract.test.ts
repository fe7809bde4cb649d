import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { kvStoreContract } from './kv-store.contract.ts';
import { createMemoryKv } from './memory-kv.ts';
import { createRedisKv } from './redis-kv.ts';

const REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL;

describe('KvStore contract: memory', () => {
  kvStoreContract(() => createMemoryKv());
});

describe.skipIf(!REDIS_URL)(`KvStore contract: redis${REDIS_URL ? '' : ' (skipped: set GATEHOUSE_TEST_REDIS_URL to run it)'}`, () => {
  kvStoreContract(() => createRedisKv(REDIS_URL!, { prefix: `ghc:${randomBytes(4).toString('hex')}:` }));
});

describe('memory KV with an injected clock', () => {
  it('expires exactly at the TTL, to the millisecond', async () => {
    let now = 1_000_000;
    const kv = createMemoryKv(() => now);
    await kv.set('k', 'v', 0.5);
    now += 499;
    expect(await kv.get('k')).toBe('v');
    now += 1;
    expect(await kv.get('k')).toBeNull();
    expect(await kv.increment('c', 10)).toBe(1);
    now += 9_999;
    expect(await kv.increment('c', 10)).toBe(2);
    now += 1;
    expect(await kv.increment('c', 10)).toBe(1);
    await kv.close();
  });
});

describe.skipIf(!REDIS_URL)('redis KV', () => {
  it('keeps two prefixes apart', async () => {
    const a = createRedisKv(REDIS_URL!, { prefix: `ghc:${randomBytes(4).toString('hex')}:` });
    const b = createRedisKv(REDIS_URL!, { prefix: `ghc:${randomBytes(4).toString('hex')}:` });
    try {
      await a.set('shared', 'from-a', 60);
      expect(await b.get('shared')).toBeNull();
      expect(await a.get('shared')).toBe('from-a');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('reports itself down, and fails fast, when the server is unreachable', async () => {
    const down = createRedisKv('redis://127.0.0.1:1');
    try {
      expect(await down.ping()).toBe(false);
      const started = Date.now();
      await expect(down.get('k')).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await down.close();
    }
  });
});

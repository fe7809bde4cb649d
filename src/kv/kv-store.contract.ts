import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvStore } from './kv-store.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The behaviour every KvStore must share (memory and Redis). TTLs are whole seconds here because Redis keeps
 * second precision for EX; each expiry test waits just past one second.
 */
export function kvStoreContract(open: () => KvStore | Promise<KvStore>) {
  let kv: KvStore;
  // A fresh namespace per run so a shared Redis never leaks state between runs.
  const ns = `contract:${randomBytes(4).toString('hex')}:`;
  const key = (k: string) => ns + k;

  beforeAll(async () => {
    kv = await open();
  });
  afterAll(async () => {
    await kv.close();
  });

  it('answers ping', async () => {
    expect(await kv.ping()).toBe(true);
  });

  describe('get / set / delete', () => {
    it('returns null for a missing key', async () => {
      expect(await kv.get(key('missing'))).toBeNull();
    });

    it('stores and reads back a value, byte for byte', async () => {
      const value = 'välue with spaces, "quotes", emoji 🔑 and a\nnewline';
      await kv.set(key('a'), value, 60);
      expect(await kv.get(key('a'))).toBe(value);
    });

    it('overwrites on set, restarting the TTL', async () => {
      await kv.set(key('ow'), 'one', 1);
      await kv.set(key('ow'), 'two', 60);
      await sleep(1200);
      expect(await kv.get(key('ow'))).toBe('two');
    });

    it('stores the empty string as a value, not as absence', async () => {
      await kv.set(key('empty'), '', 60);
      expect(await kv.get(key('empty'))).toBe('');
    });

    it('deletes, and deleting a missing key is fine', async () => {
      await kv.set(key('del'), 'x', 60);
      await kv.delete(key('del'));
      expect(await kv.get(key('del'))).toBeNull();
      await expect(kv.delete(key('never-set'))).resolves.toBeUndefined();
    });

    it('keeps keys apart', async () => {
      await kv.set(key('k1'), 'v1', 60);
      await kv.set(key('k2'), 'v2', 60);
      expect(await kv.get(key('k1'))).toBe('v1');
      expect(await kv.get(key('k2'))).toBe('v2');
    });
  });

  describe('TTL expiry', () => {
    it('a value is gone once its TTL has passed', async () => {
      await kv.set(key('ttl'), 'short', 1);
      expect(await kv.get(key('ttl'))).toBe('short');
      await sleep(1200);
      expect(await kv.get(key('ttl'))).toBeNull();
      expect(await kv.getMany([key('ttl')])).toEqual([null]);
      expect(await kv.take(key('ttl'))).toBeNull();
    });
  });

  describe('setIfAbsent', () => {
    it('sets only the first time', async () => {
      expect(await kv.setIfAbsent(key('nx'), 'first', 60)).toBe(true);
      expect(await kv.setIfAbsent(key('nx'), 'second', 60)).toBe(false);
      expect(await kv.get(key('nx'))).toBe('first');
    });

    it('does not set over a value written by set', async () => {
      await kv.set(key('nx-set'), 'there', 60);
      expect(await kv.setIfAbsent(key('nx-set'), 'other', 60)).toBe(false);
      expect(await kv.get(key('nx-set'))).toBe('there');
    });

    it('sets again once the earlier value has expired', async () => {
      expect(await kv.setIfAbsent(key('nx-ttl'), 'first', 1)).toBe(true);
      await sleep(1200);
      expect(await kv.setIfAbsent(key('nx-ttl'), 'again', 60)).toBe(true);
      expect(await kv.get(key('nx-ttl'))).toBe('again');
    });

    it('exactly one of many concurrent callers wins', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => kv.setIfAbsent(key('nx-race'), String(i), 60)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await kv.get(key('nx-race'))).toBe(String(results.indexOf(true)));
    });
  });

  describe('take', () => {
    it('returns a value once, then null', async () => {
      await kv.set(key('once'), 'challenge', 60);
      expect(await kv.take(key('once'))).toBe('challenge');
      expect(await kv.take(key('once'))).toBeNull();
      expect(await kv.get(key('once'))).toBeNull();
    });

    it('returns null for a missing key', async () => {
      expect(await kv.take(key('take-missing'))).toBeNull();
    });

    it('hands a value to exactly one of many concurrent takers', async () => {
      await kv.set(key('take-race'), 'prize', 60);
      const results = await Promise.all(Array.from({ length: 20 }, () => kv.take(key('take-race'))));
      expect(results.filter((r) => r !== null)).toEqual(['prize']);
    });
  });

  describe('increment', () => {
    it('counts from 1', async () => {
      expect(await kv.increment(key('ctr'), 60)).toBe(1);
      expect(await kv.increment(key('ctr'), 60)).toBe(2);
      expect(await kv.increment(key('ctr'), 60)).toBe(3);
      expect(await kv.get(key('ctr'))).toBe('3');
    });

    it('counts concurrent increments exactly', async () => {
      const results = await Promise.all(Array.from({ length: 25 }, () => kv.increment(key('ctr-race'), 60)));
      expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    });

    it('starts the TTL with the first increment: later increments do not extend it', async () => {
      expect(await kv.increment(key('window'), 1)).toBe(1);
      await sleep(500);
      expect(await kv.increment(key('window'), 60)).toBe(2);
      await sleep(700);
      // The window opened by the first increment has closed: counting restarts.
      expect(await kv.get(key('window'))).toBeNull();
      expect(await kv.increment(key('window'), 60)).toBe(1);
    });
  });

  describe('getMany', () => {
    it('returns values in key order, null for missing ones', async () => {
      await kv.set(key('m1'), 'one', 60);
      await kv.set(key('m3'), 'three', 60);
      expect(await kv.getMany([key('m1'), key('m2'), key('m3'), key('m1')])).toEqual(['one', null, 'three', 'one']);
    });

    it('returns an empty list for no keys', async () => {
      expect(await kv.getMany([])).toEqual([]);
    });

    it('returns all nulls when nothing exists', async () => {
      expect(await kv.getMany([key('x1'), key('x2')])).toEqual([null, null]);
    });
  });
}

import { describe, expect, it } from 'vitest';
import { createMemoryKv } from '../kv/memory-kv.ts';
import { createLimiterFactory } from './limiter-factory.ts';
import { createLoginThrottle, type ThrottlePolicy } from './login-throttle.ts';

const policy: ThrottlePolicy = { perEmail: 3, perIp: 5, window: 900, delays: [60, 300, 900, 1800] };

describe('login throttle', () => {
  it('trips the email after its threshold with the first delay, then the next delays, the last repeating', async () => {
    const th = createLoginThrottle(createLimiterFactory(createMemoryKv()));
    const seen: number[] = [];
    for (let trip = 0; trip < 5; trip++) {
      // A fresh IP each time: only the email counts here.
      const ids = th.identifiers(policy, 't1', 'a@x.io', `10.0.0.${trip}`);
      let imposed = 0;
      for (let i = 0; i < policy.perEmail; i++) imposed = await th.failure(policy, ids);
      seen.push(imposed);
      const wait = await th.blockedFor(ids);
      expect(wait).toBeGreaterThan(imposed - 2);
      expect(wait).toBeLessThanOrEqual(imposed);
    }
    expect(seen).toEqual([60, 300, 900, 1800, 1800]);
  });

  it('counts the IP separately across emails', async () => {
    const th = createLoginThrottle(createLimiterFactory(createMemoryKv()));
    for (let i = 0; i < policy.perIp - 1; i++) await th.failure(policy, th.identifiers(policy, 't1', `u${i}@x.io`, '192.0.2.1'));
    expect(await th.blockedFor(th.identifiers(policy, 't1', 'new@x.io', '192.0.2.1'))).toBe(0);
    await th.failure(policy, th.identifiers(policy, 't1', 'u99@x.io', '192.0.2.1'));
    expect(await th.blockedFor(th.identifiers(policy, 't1', 'new@x.io', '192.0.2.1'))).toBe(60);
    // Another IP for an untouched email is not blocked.
    expect(await th.blockedFor(th.identifiers(policy, 't1', 'new@x.io', '192.0.2.2'))).toBe(0);
  });

  it('a success resets the email counter, tenants are separate', async () => {
    const th = createLoginThrottle(createLimiterFactory(createMemoryKv()));
    const ids = th.identifiers(policy, 't1', 'a@x.io', '10.1.1.1');
    await th.failure(policy, ids);
    await th.failure(policy, ids);
    await th.success(policy, ids[0]!);
    await th.failure(policy, ids);
    await th.failure(policy, ids);
    expect(await th.blockedFor(ids)).toBe(0);
    const other = th.identifiers(policy, 't2', 'a@x.io', '10.1.1.2');
    expect(await th.blockedFor(other)).toBe(0);
  });
});

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decoyCredentials } from './decoy-credentials.ts';

describe('decoy credentials for emails without passkeys', () => {
  const key = randomBytes(32);
  const tenant = '6f1c7a52-0000-4000-8000-000000000001';

  it('are stable for one (key, tenant, email) and differ across emails, tenants and keys', () => {
    const a = decoyCredentials(key, tenant, 'nobody@x.test');
    expect(decoyCredentials(key, tenant, 'nobody@x.test')).toEqual(a);
    expect(decoyCredentials(key, tenant, 'someone@x.test')).not.toEqual(a);
    expect(decoyCredentials(key, '6f1c7a52-0000-4000-8000-000000000002', 'nobody@x.test')).not.toEqual(a);
    expect(decoyCredentials(randomBytes(32), tenant, 'nobody@x.test')).not.toEqual(a);
  });

  it('look like real credential descriptors: 1-2 ids of 16-64 bytes, base64url, with transports', () => {
    const lengths = new Set<number>();
    const counts = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const d = decoyCredentials(key, tenant, `user${i}@x.test`);
      counts.add(d.length);
      for (const c of d) {
        expect(c.id).toMatch(/^[A-Za-z0-9_-]+$/);
        lengths.add(Buffer.from(c.id, 'base64url').length);
        expect(c.transports.length).toBeGreaterThan(0);
      }
    }
    expect([...counts].sort()).toEqual([1, 2]);
    expect([...lengths].sort((x, y) => x - y)).toEqual([16, 20, 32, 48, 64]);
  });
});

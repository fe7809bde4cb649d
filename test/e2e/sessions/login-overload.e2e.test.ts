import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher, type PasswordHasher } from '../../../src/passwords/password-hasher.ts';
import { createUser, errorCode, type InjectResponse } from '../../helpers/auth-flows.ts';
import { backendName, buildTestApp, createTenant, login, type TestApp } from '../../helpers/test-app.ts';

/**
 * When password hashing is saturated, login answers 503 SERVER_BUSY with Retry-After instead of queueing without
 * bound, and answers an unknown email exactly like a known one (overload is no enumeration oracle).
 */
describe(`login under hashing overload (${backendName})`, () => {
  let t: TestApp;
  let original: PasswordHasher;

  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'acme');
    await createUser(t, 'acme', 'alice@example.com');
    original = t.gh.hasher;
  });
  afterAll(async () => {
    t.gh.hasher = original;
    await t.close();
  });

  const shape = (res: InjectResponse) => {
    const { requestId: _r, ...error } = res.json().error as Record<string, unknown>;
    return { status: res.statusCode, error, retryAfter: res.headers['retry-after'] };
  };

  it('503 SERVER_BUSY with Retry-After, the same for known and unknown emails; recovers afterwards', async () => {
    // One slot and a one-deep queue, filled by deliberately slow hashes.
    const limited = createPasswordHasher({ memoryCost: 65_536, timeCost: 3, parallelism: 1 }, { concurrency: 1, maxQueue: 1 });
    await limited.verifyDummy('warm-up');
    t.gh.hasher = limited;
    try {
      const hog = [limited.hash('hog-1'), limited.hash('hog-2')];
      const known = await login(t, 'acme', 'alice@example.com');
      const unknown = await login(t, 'acme', 'nobody@example.com');
      expect(known.statusCode, known.body).toBe(503);
      expect(errorCode(known)).toBe('SERVER_BUSY');
      expect(known.headers['retry-after']).toBe('1');
      expect(known.body).not.toContain('access_token');
      expect(shape(unknown)).toEqual(shape(known));
      await Promise.all(hog);
    } finally {
      t.gh.hasher = original;
    }
    expect((await login(t, 'acme', 'alice@example.com')).statusCode).toBe(200);
  });
});

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPasswordHasher, type PasswordHasher } from '../../../src/passwords/password-hasher.ts';
import { createUser, errorCode, type InjectResponse } from '../../helpers/auth-flows.ts';
import { backendName, buildTestApp, createTenant, login, type TestApp } from '../../helpers/test-app.ts';

// Pass-through argon2, except that hashing the HOG password waits for the test to open the gate: the limiter's
// slot and queue can then be held full deterministically, whatever the machine's speed.
const { HOG, gate } = vi.hoisted(() => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { HOG: '__hold-the-hashing-slot__', gate: { opened, open: () => open() } };
});
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const orig = await importOriginal<typeof import('@node-rs/argon2')>();
  return {
    ...orig,
    hash: async (...args: Parameters<typeof orig.hash>) => {
      if (args[0] === HOG) await gate.opened;
      return orig.hash(...args);
    },
  };
});

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
    // One slot and a one-deep queue, both held by hashes that wait for the gate.
    const limited = createPasswordHasher(original.params, { concurrency: 1, maxQueue: 1 });
    await limited.verifyDummy('warm-up');
    t.gh.hasher = limited;
    try {
      const hog = [limited.hash(HOG), limited.hash(HOG)];
      let hogsDone = false;
      void Promise.all(hog).then(() => (hogsDone = true));
      const known = await login(t, 'acme', 'alice@example.com');
      const unknown = await login(t, 'acme', 'nobody@example.com');
      expect(known.statusCode, known.body).toBe(503);
      expect(errorCode(known)).toBe('SERVER_BUSY');
      expect(known.headers['retry-after']).toBe('1');
      expect(known.body).not.toContain('access_token');
      expect(shape(unknown)).toEqual(shape(known));
      expect(hogsDone).toBe(false); // the limiter was held full by the gate, not by timing
      gate.open();
      await Promise.all(hog);
    } finally {
      t.gh.hasher = original;
    }
    expect((await login(t, 'acme', 'alice@example.com')).statusCode).toBe(200);
  });
});

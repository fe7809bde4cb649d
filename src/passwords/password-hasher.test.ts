import { Algorithm, hash as argon2Hash } from '@node-rs/argon2';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../errors/app-error.ts';
import { defaultHashConcurrency, createPasswordHasher } from './password-hasher.ts';

// Pass-through argon2 that counts calls and the work in flight, to see what the hasher really spends.
const argon = vi.hoisted(() => ({ hashCalls: 0, verifyCalls: 0, inFlight: 0, maxInFlight: 0 }));
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const orig = await importOriginal<typeof import('@node-rs/argon2')>();
  const tracked =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>, counter: 'hashCalls' | 'verifyCalls') =>
    async (...args: A): Promise<R> => {
      argon[counter]++;
      argon.inFlight++;
      argon.maxInFlight = Math.max(argon.maxInFlight, argon.inFlight);
      try {
        return await fn(...args);
      } finally {
        argon.inFlight--;
      }
    };
  return { ...orig, hash: tracked(orig.hash, 'hashCalls'), verify: tracked(orig.verify, 'verifyCalls') };
});

const PARAMS = { memoryCost: 8192, timeCost: 1, parallelism: 1 };
const PW = 'correct horse battery staple 42';

beforeEach(() => {
  argon.hashCalls = 0;
  argon.verifyCalls = 0;
  argon.maxInFlight = 0;
});

describe('password hasher', () => {
  it('hashes with argon2id and the configured parameters; verifies without asking for a rehash', async () => {
    const h = createPasswordHasher(PARAMS);
    const stored = await h.hash(PW);
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=8192,t=1,p=1\$/);
    expect(await h.verify(stored, PW)).toEqual({ ok: true, rehash: false });
    expect(await h.verify(stored, PW + ' ')).toEqual({ ok: false, rehash: false });
    expect(await h.verify(stored, '')).toEqual({ ok: false, rehash: false });
  });

  it('asks for a rehash when the stored argon2 parameters or variant differ (only after a correct password)', async () => {
    const h = createPasswordHasher(PARAMS);
    const other = await argon2Hash(PW, { algorithm: Algorithm.Argon2id, memoryCost: 9216, timeCost: 2, parallelism: 1 });
    expect(await h.verify(other, PW)).toEqual({ ok: true, rehash: true });
    expect(await h.verify(other, 'wrong')).toEqual({ ok: false, rehash: false });
    const argon2i = await argon2Hash(PW, { algorithm: Algorithm.Argon2i, ...PARAMS });
    expect(await h.verify(argon2i, PW)).toEqual({ ok: true, rehash: true });
    const raised = createPasswordHasher({ ...PARAMS, timeCost: 2 });
    expect(await raised.verify(await h.hash(PW), PW)).toEqual({ ok: true, rehash: true });
  });

  it('verifies imported bcrypt hashes ($2a$, $2b$, $2y$) and always asks to rehash them', async () => {
    const h = createPasswordHasher(PARAMS);
    const b = await bcryptHash(PW, 4);
    for (const prefix of ['$2a$', '$2b$', '$2y$']) {
      const stored = prefix + b.slice(4);
      expect(await h.verify(stored, PW)).toEqual({ ok: true, rehash: true });
      expect(await h.verify(stored, 'wrong')).toEqual({ ok: false, rehash: false });
    }
  });

  it('an unknown or malformed hash format verifies as ok:false (never throws, never matches)', async () => {
    const h = createPasswordHasher(PARAMS);
    const cases = [
      '',
      PW, // a plaintext "hash" equal to the password
      '$1$abc$deadbeef', // md5-crypt
      '$5$rounds=5000$salt$hash', // sha256-crypt
      '$6$salt$hash', // sha512-crypt
      '$2x$04$GzXqQSEFXZMUXLMbLAw4DuB/bsjDwyPyTrz.S8kGCxdXAaRAQiL0i', // 2x: not accepted
      '$2b$04$tooshort',
      '$2b$xx$GzXqQSEFXZMUXLMbLAw4DuB/bsjDwyPyTrz.S8kGCxdXAaRAQiL0i',
      '$argon2id$v=19$m=8192,t=1,p=1$garbage',
      '$argon2id$',
      '$argon2',
      '$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA',
      'pbkdf2_sha256$260000$salt$hash',
      '{SSHA}c29tZXRoaW5n',
    ];
    for (const stored of cases) {
      expect(await h.verify(stored, PW), JSON.stringify(stored)).toEqual({ ok: false, rehash: false });
    }
  });

  it('property: any string that is not an argon2 or bcrypt hash never verifies', async () => {
    const h = createPasswordHasher(PARAMS);
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 120 }).filter((s) => !s.startsWith('$argon2') && !/^\$2[aby]\$\d{2}\$/.test(s)),
        fc.string({ maxLength: 64 }),
        async (stored, password) => {
          expect(await h.verify(stored, password)).toEqual({ ok: false, rehash: false });
        },
      ),
      { numRuns: 300 },
    );
    // Even when the "hash" is the password itself.
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 64 }).filter((s) => !s.startsWith('$')), async (s) => {
        expect((await h.verify(s, s)).ok).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('verifyDummy performs a real argon2 verification with the same parameters', async () => {
    const h = createPasswordHasher(PARAMS);
    await h.verifyDummy('warm-up'); // computes the dummy hash once
    argon.hashCalls = 0;
    argon.verifyCalls = 0;
    for (let i = 0; i < 3; i++) await h.verifyDummy(`guess-${i}`);
    expect(argon.verifyCalls).toBe(3);
    expect(argon.hashCalls).toBe(0);
    // And it resolves the same way whatever the password (no early exit on any input).
    await expect(h.verifyDummy('')).resolves.toBeUndefined();
    await expect(h.verifyDummy('gatehouse-dummy-password')).resolves.toBeUndefined();
  });
});

describe('password hasher: bounded queue', () => {
  it('rejects with SERVER_BUSY (503, retry-after) once the queue is full', async () => {
    const h = createPasswordHasher(PARAMS, { concurrency: 1, maxQueue: 1 });
    const running = h.hash('one'); // takes the only slot
    const queued = h.hash('two'); // waits in the queue
    const rejected = h.hash('three'); // queue full
    await expect(rejected).rejects.toBeInstanceOf(AppError);
    const err = (await rejected.catch((e: unknown) => e)) as AppError;
    expect(err.code).toBe('SERVER_BUSY');
    expect(err.status).toBe(503);
    expect(err.headers).toEqual({ 'retry-after': '1' });
    // The admitted work completes.
    expect(await running).toMatch(/^\$argon2id\$/);
    expect(await queued).toMatch(/^\$argon2id\$/);
  });

  it('verify and verifyDummy share the same limiter (a flood of unknown-email logins is bounded too)', async () => {
    const h = createPasswordHasher(PARAMS, { concurrency: 1, maxQueue: 1 });
    await h.verifyDummy('warm-up');
    const stored = await h.hash(PW);
    const running = h.hash('one');
    const queued = h.hash('two');
    await expect(h.verify(stored, PW)).rejects.toMatchObject({ code: 'SERVER_BUSY' });
    await expect(h.verifyDummy('x')).rejects.toMatchObject({ code: 'SERVER_BUSY' });
    await Promise.all([running, queued]);
  });

  it('never runs more than `concurrency` at once, and drains every queued job', async () => {
    const h = createPasswordHasher(PARAMS, { concurrency: 2, maxQueue: 100 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => h.hash(`pw-${i}`)));
    expect(results).toHaveLength(10);
    expect(new Set(results).size).toBe(10);
    expect(argon.hashCalls).toBe(10);
    expect(argon.maxInFlight).toBe(2);
  });

  it('slots are released after failures and rejections: the hasher keeps working', async () => {
    const h = createPasswordHasher(PARAMS, { concurrency: 1, maxQueue: 1 });
    // A malformed argon2 hash makes the library throw inside the slot.
    expect(await h.verify('$argon2id$v=19$m=8192,t=1,p=1$broken', PW)).toEqual({ ok: false, rehash: false });
    const a = h.hash('a');
    const b = h.hash('b');
    await expect(h.hash('c')).rejects.toMatchObject({ code: 'SERVER_BUSY' });
    await Promise.all([a, b]);
    // Everything released: a full round again works, and busy again only when full again.
    const c = h.hash('c');
    const d = h.hash('d');
    await expect(h.hash('e')).rejects.toMatchObject({ code: 'SERVER_BUSY' });
    await Promise.all([c, d]);
    const stored = await h.hash(PW);
    expect((await h.verify(stored, PW)).ok).toBe(true);
  });
});

describe('default hashing concurrency', () => {
  it('one per CPU, leaving one thread of the pool for signatures', () => {
    expect(defaultHashConcurrency(2, 4)).toBe(2);
    expect(defaultHashConcurrency(16, 4)).toBe(3);
    expect(defaultHashConcurrency(16, 18)).toBe(16);
    expect(defaultHashConcurrency(1, 1)).toBe(1);
  });
});

import { Algorithm, hash as argon2Hash } from '@node-rs/argon2';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { createPasswordHasher, type PasswordHasher } from '../../../src/passwords/password-hasher.ts';
import { backendName, buildTestApp, createTenant, login, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

/**
 * Imported and outdated hashes are upgraded on the next successful login: bcrypt (migrated users) and argon2
 * with other parameters become argon2id with the server's current parameters.
 */
describe(`password rehash on login (${backendName})`, () => {
  let t: TestApp;
  let acme: Awaited<ReturnType<typeof createTenant>>;
  // The server's parameters (test-app.ts): m=8192 KiB, t=1, p=1.
  const CURRENT = /^\$argon2id\$v=19\$m=8192,t=1,p=1\$/;

  beforeAll(async () => {
    t = await buildTestApp();
    acme = await createTenant(t, 'acme');
  });
  afterAll(() => t.close());

  const insertUser = async (email: string, passwordHash: string) =>
    (
      await tenantQuery<{ id: string }>(t, acme.id, `INSERT INTO users (email, password_hash, email_verified) VALUES ($1, $2, true) RETURNING id`, [
        email,
        passwordHash,
      ])
    )[0]!.id;
  const storedHash = async (id: string) =>
    (await tenantQuery<{ password_hash: string }>(t, acme.id, 'SELECT password_hash FROM users WHERE id = $1', [id]))[0]!.password_hash;
  const rehashEvents = async (id: string) =>
    tenantQuery(t, acme.id, `SELECT 1 FROM audit_events WHERE action = 'password.rehashed' AND subject_id = $1`, [id]);

  it('an imported bcrypt hash logs in and is rehashed to argon2id; the next login does not rehash again', async () => {
    const bcrypt = await bcryptHash(STRONG_PASSWORD, 4);
    expect(bcrypt).toMatch(/^\$2[aby]\$04\$/);
    const id = await insertUser('imported@example.com', bcrypt);

    const wrong = await login(t, 'acme', 'imported@example.com', 'not the password');
    expect(wrong.statusCode).toBe(401);
    expect(errorCode(wrong)).toBe('INVALID_CREDENTIALS');
    expect(await storedHash(id)).toBe(bcrypt); // a failed login never touches the hash

    const s = await signIn(t, 'acme', 'imported@example.com');
    expect(s.sub).toBe(id);
    const upgraded = await storedHash(id);
    expect(upgraded).toMatch(CURRENT);
    expect(await rehashEvents(id)).toHaveLength(1);
    expect((await t.gh.hasher.verify(upgraded, STRONG_PASSWORD)).ok).toBe(true);

    await signIn(t, 'acme', 'imported@example.com');
    expect(await storedHash(id)).toBe(upgraded);
    expect(await rehashEvents(id)).toHaveLength(1);
    // The bcrypt hash no longer works as a credential of any kind.
    expect((await login(t, 'acme', 'imported@example.com', 'not the password')).statusCode).toBe(401);
  });

  it('bcrypt variants $2a$ and $2y$ are accepted too', async () => {
    const base = await bcryptHash(STRONG_PASSWORD, 4);
    for (const prefix of ['$2a$', '$2y$']) {
      const id = await insertUser(`bcrypt-${prefix.slice(1, 3)}@example.com`, prefix + base.slice(4));
      await signIn(t, 'acme', `bcrypt-${prefix.slice(1, 3)}@example.com`);
      expect(await storedHash(id)).toMatch(CURRENT);
    }
  });

  it('an argon2id hash with other parameters is rehashed to the current ones', async () => {
    const old = await argon2Hash(STRONG_PASSWORD, { algorithm: Algorithm.Argon2id, memoryCost: 9216, timeCost: 2, parallelism: 1 });
    expect(old).toMatch(/m=9216,t=2,p=1/);
    const id = await insertUser('old-params@example.com', old);
    await signIn(t, 'acme', 'old-params@example.com');
    expect(await storedHash(id)).toMatch(CURRENT);
    expect(await rehashEvents(id)).toHaveLength(1);
  });

  it('argon2i / argon2d hashes are upgraded to argon2id', async () => {
    for (const [name, algorithm] of [['i', Algorithm.Argon2i], ['d', Algorithm.Argon2d]] as const) {
      const old = await argon2Hash(STRONG_PASSWORD, { algorithm, memoryCost: 8192, timeCost: 1, parallelism: 1 });
      const id = await insertUser(`argon2${name}@example.com`, old);
      await signIn(t, 'acme', `argon2${name}@example.com`);
      expect(await storedHash(id)).toMatch(CURRENT);
    }
  });

  it('a hash with the current parameters is left alone', async () => {
    const current = await t.gh.hasher.hash(STRONG_PASSWORD);
    const id = await insertUser('current@example.com', current);
    await signIn(t, 'acme', 'current@example.com');
    expect(await storedHash(id)).toBe(current);
    expect(await rehashEvents(id)).toHaveLength(0);
  });

  it('changing the server argon2 parameters rehashes existing users on their next login', async () => {
    const original: PasswordHasher = t.gh.hasher;
    const id = await insertUser('upgrade@example.com', await original.hash(STRONG_PASSWORD));
    await signIn(t, 'acme', 'upgrade@example.com');
    expect(await storedHash(id)).toMatch(CURRENT);

    // The operator raises the cost (as a restart with new GATEHOUSE_ARGON2_* would).
    t.gh.hasher = createPasswordHasher({ memoryCost: 9216, timeCost: 2, parallelism: 1 });
    try {
      await signIn(t, 'acme', 'upgrade@example.com');
      const raised = await storedHash(id);
      expect(raised).toMatch(/^\$argon2id\$v=19\$m=9216,t=2,p=1\$/);
      expect(await rehashEvents(id)).toHaveLength(1);
      await signIn(t, 'acme', 'upgrade@example.com');
      expect(await storedHash(id)).toBe(raised);
    } finally {
      t.gh.hasher = original;
    }
  });

  it('an unknown hash format never logs in (and is not rehashed)', async () => {
    for (const [email, stored] of [
      ['plain@example.com', STRONG_PASSWORD],
      ['md5@example.com', '$1$abc$deadbeefdeadbeefdeadbe'],
      ['sha@example.com', '{SSHA}c29tZXRoaW5n'],
      ['empty@example.com', ''],
    ] as const) {
      const id = await insertUser(email, stored);
      const res = await login(t, 'acme', email, STRONG_PASSWORD);
      expect(res.statusCode, email).toBe(401);
      expect(errorCode(res)).toBe('INVALID_CREDENTIALS');
      expect(await storedHash(id)).toBe(stored);
    }
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createUser, type InjectResponse } from '../../helpers/auth-flows.ts';
import { backendName, buildTestApp, createTenant, login, type TestApp } from '../../helpers/test-app.ts';

/**
 * Login must not reveal whether an account exists: unknown email and known email + wrong password get the same
 * status and body (request id aside), and the unknown path still spends a password-hash verification.
 */
describe(`login enumeration resistance (${backendName})`, () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'acme');
    await createUser(t, 'acme', 'alice@example.com');
    await createUser(t, 'acme', 'nopass@example.com', { password: null }); // an account without a password
  });
  afterAll(() => t.close());
  afterEach(() => vi.restoreAllMocks());

  const comparable = (res: InjectResponse) => {
    const body = res.json() as { error: Record<string, unknown> };
    expect(typeof body.error.requestId).toBe('string');
    const { requestId: _r, ...error } = body.error;
    return {
      status: res.statusCode,
      body: { ...body, error },
      wwwAuthenticate: res.headers['www-authenticate'],
      contentType: res.headers['content-type'],
      setCookie: res.headers['set-cookie'],
      retryAfter: res.headers['retry-after'],
    };
  };

  it('unknown email and wrong password → same status and body (apart from requestId)', async () => {
    const known = await login(t, 'acme', 'alice@example.com', 'wrong password 123');
    const unknown = await login(t, 'acme', 'nobody@example.com', 'wrong password 123');
    const noPassword = await login(t, 'acme', 'nopass@example.com', 'wrong password 123');
    expect(known.statusCode).toBe(401);
    expect(comparable(unknown)).toEqual(comparable(known));
    expect(comparable(noPassword)).toEqual(comparable(known));
    expect(known.json().error.code).toBe('INVALID_CREDENTIALS');

    // With the same request id the bodies are byte-identical.
    const headers = { 'x-request-id': 'enum-probe-1' };
    const a = await login(t, 'acme', 'alice@example.com', 'wrong password 123', headers);
    const b = await login(t, 'acme', 'nobody@example.com', 'wrong password 123', headers);
    expect(a.body).toBe(b.body);
    expect(a.headers['content-length']).toBe(b.headers['content-length']);
  });

  it('email normalisation does not open a side channel (case / whitespace variants behave like the account)', async () => {
    const variant = await login(t, 'acme', '  ALICE@Example.COM ', 'wrong password 123');
    const unknown = await login(t, 'acme', '  NOBODY@Example.COM ', 'wrong password 123');
    expect(comparable(variant)).toEqual(comparable(unknown));
    expect((await login(t, 'acme', ' ALICE@example.com')).statusCode).toBe(200);
  });

  it('the unknown-email path still performs a password-hash verification', async () => {
    const verify = vi.spyOn(t.gh.hasher, 'verify');
    const dummy = vi.spyOn(t.gh.hasher, 'verifyDummy');

    await login(t, 'acme', 'nobody@example.com', 'guess-1-password');
    expect(dummy).toHaveBeenCalledTimes(1);
    expect(dummy).toHaveBeenCalledWith('guess-1-password');
    expect(verify).not.toHaveBeenCalled();
    // It was awaited to completion (a real verification, not a fire-and-forget).
    await expect(dummy.mock.results[0]!.value).resolves.toBeUndefined();

    dummy.mockClear();
    await login(t, 'acme', 'alice@example.com', 'guess-2-password');
    expect(verify).toHaveBeenCalledTimes(1);
    expect(dummy).not.toHaveBeenCalled();

    verify.mockClear();
    await login(t, 'acme', 'nopass@example.com', 'guess-3-password');
    expect(dummy).toHaveBeenCalledTimes(1);
    expect(verify).not.toHaveBeenCalled();
  });

  it('the unknown-email answer waits for the dummy verification (no early return)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const original = t.gh.hasher.verifyDummy.bind(t.gh.hasher);
    vi.spyOn(t.gh.hasher, 'verifyDummy').mockImplementation(async (pw) => {
      await gate;
      return original(pw);
    });
    let settled = false;
    const pending = login(t, 'acme', 'nobody@example.com', 'guess-4-password').then((r) => {
      settled = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    release();
    expect((await pending).statusCode).toBe(401);
  });

  it('both paths take comparable time (generous bound)', async () => {
    const time = async (email: string) => {
      const started = performance.now();
      await login(t, 'acme', email, 'timing-password-x');
      return performance.now() - started;
    };
    // Warm both paths (the dummy hash is computed once).
    await time('nobody@example.com');
    await time('alice@example.com');
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time('alice@example.com'));
      unknown.push(await time(`nobody${i}@example.com`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratio = median(unknown) / median(known);
    expect(ratio, `known ${median(known).toFixed(1)} ms, unknown ${median(unknown).toFixed(1)} ms`).toBeGreaterThan(0.3);
    expect(ratio).toBeLessThan(3.5);
  });
});

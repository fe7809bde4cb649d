import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createUser, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { usedTotpKey } from '../../../src/mfa/verify-factor.ts';
import { TOTP } from 'otpauth';
import { createMemoryKv } from '../../../src/kv/memory-kv.ts';
import { advance, codeAt, enrollTotp, freezeClock, mfa, oathtool, passwordStep, verifyMfa } from './mfa-helpers.ts';

/** A TOTP code is accepted once: not twice, not an older one after a newer one, not on another node. */
describe(`TOTP replay (${backendName})`, () => {
  let t: TestApp;
  let tenantId: string;
  const slug = 'totp-replay';

  beforeAll(async () => {
    t = await buildTestApp();
    tenantId = (await createTenant(t, slug)).id;
  });
  afterAll(() => t.close());
  afterEach(() => vi.useRealTimers());

  async function mfaUser(email: string) {
    const { id } = await createUser(t, slug, email);
    const s = await signIn(t, slug, email);
    return { id, access: s.access, ...(await enrollTotp(t, slug, s.access)) };
  }

  it('the code that confirmed enrollment cannot sign in; a code used to sign in cannot sign in again or step up', async () => {
    freezeClock();
    let enrollCode = '';
    const { id } = await createUser(t, slug, 'ada@totp-replay.test');
    const s = await signIn(t, slug, 'ada@totp-replay.test');
    const u = await enrollTotp(t, slug, s.access, (secret) => (enrollCode = oathtool(secret, new Date())));
    expect(id).toBeTruthy();

    const first = await passwordStep(t, slug, 'ada@totp-replay.test', STRONG_PASSWORD);
    expectError(await verifyMfa(t, slug, { mfa_token: first, code: enrollCode }), 401, 'MFA_CODE_INVALID');

    advance(30);
    const code = oathtool(u.secret, new Date());
    const ok = await verifyMfa(t, slug, { mfa_token: first, code });
    expect(ok.statusCode, ok.body).toBe(200);

    const second = await passwordStep(t, slug, 'ada@totp-replay.test', STRONG_PASSWORD);
    expectError(await verifyMfa(t, slug, { mfa_token: second, code }), 401, 'MFA_CODE_INVALID');
    expectError(
      await t.app.inject({ method: 'POST', url: mfa(slug).stepUp, headers: bearer(ok.json().access_token), payload: { code } }),
      401,
      'MFA_CODE_INVALID',
    );
    // The previous step's code is still inside the ±1 window, but older than one already used: refused too.
    expectError(await verifyMfa(t, slug, { mfa_token: second, code: codeAt(u.secret, -1) }), 401, 'MFA_CODE_INVALID');
    // The next step's code works.
    const next = await verifyMfa(t, slug, { mfa_token: second, code: codeAt(u.secret, 1) });
    expect(next.statusCode, next.body).toBe(200);
  });

  it('accepts codes one step either side of now, and nothing further', async () => {
    freezeClock();
    const u = await mfaUser('bo@totp-replay.test');
    advance(90);
    const token = await passwordStep(t, slug, 'bo@totp-replay.test', STRONG_PASSWORD);
    expectError(await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret, -2) }), 401, 'MFA_CODE_INVALID');
    expectError(await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret, 2) }), 401, 'MFA_CODE_INVALID');
    const ok = await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret, -1) });
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('a step claimed by another node (in the shared key-value store) is refused here, before the database sees it', async () => {
    freezeClock();
    const u = await mfaUser('cy@totp-replay.test');
    advance(30);
    const step = TOTP.counter({ period: 30, timestamp: Date.now() });
    // What another node's acceptance leaves behind.
    expect(await t.gh.kv.setIfAbsent(usedTotpKey(tenantId, u.id, step), '1', 120)).toBe(true);
    const token = await passwordStep(t, slug, 'cy@totp-replay.test', STRONG_PASSWORD);
    expectError(await verifyMfa(t, slug, { mfa_token: token, code: codeAt(u.secret) }), 401, 'MFA_CODE_INVALID');
    const [row] = await tenantQuery<{ last_used_step: string }>(t, tenantId, 'SELECT last_used_step FROM mfa_factors WHERE user_id = $1', [u.id]);
    expect(Number(row!.last_used_step)).toBe(step - 1);
  });

  it('two concurrent sign-ins with the same code: exactly one session', async () => {
    freezeClock();
    const u = await mfaUser('di@totp-replay.test');
    advance(30);
    const [a, b] = await Promise.all([
      passwordStep(t, slug, 'di@totp-replay.test', STRONG_PASSWORD),
      passwordStep(t, slug, 'di@totp-replay.test', STRONG_PASSWORD),
    ]);
    const code = codeAt(u.secret);
    const results = await Promise.all([verifyMfa(t, slug, { mfa_token: a, code }), verifyMfa(t, slug, { mfa_token: b, code })]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
  });

  it('with the key-value store unreachable, a code is still accepted once (the database keeps the last step)', async () => {
    const kv = createMemoryKv();
    const broken = { ...kv, setIfAbsent: async () => Promise.reject(new Error('connection refused')) };
    const t2 = await buildTestApp({}, { kv: broken });
    try {
      await createTenant(t2, slug);
      await createUser(t2, slug, 'eve@totp-replay.test');
      const s = await signIn(t2, slug, 'eve@totp-replay.test');
      freezeClock();
      const u = await enrollTotp(t2, slug, s.access);
      advance(30);
      const code = codeAt(u.secret);
      const token = await passwordStep(t2, slug, 'eve@totp-replay.test', STRONG_PASSWORD);
      expect((await verifyMfa(t2, slug, { mfa_token: token, code })).statusCode).toBe(200);
      const again = await passwordStep(t2, slug, 'eve@totp-replay.test', STRONG_PASSWORD);
      expectError(await verifyMfa(t2, slug, { mfa_token: again, code }), 401, 'MFA_CODE_INVALID');
    } finally {
      vi.useRealTimers();
      await t2.close();
    }
  });
});

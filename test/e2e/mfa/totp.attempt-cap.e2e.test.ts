import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, createUser, signIn } from '../../helpers/auth-flows.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { codeAt, enrollTotp, mfa, passwordStep, verifyMfa } from './mfa-helpers.ts';

/** Wrong codes per user are limited (default 10 per 10 minutes) wherever a code is checked. */
describe(`MFA attempt cap (${backendName})`, () => {
  let t: TestApp;
  let admin: string;
  const slug = 'mfa-cap';

  beforeAll(async () => {
    t = await buildTestApp();
    const created = await createTenant(t, slug);
    admin = (await signIn(t, slug, created.adminEmail)).access;
  });
  afterAll(() => t.close());

  const wrongFor = (secret: string) => {
    const near = new Set([codeAt(secret, -1), codeAt(secret), codeAt(secret, 1)]);
    for (let i = 0; ; i++) {
      const c = String(i).padStart(6, '0');
      if (!near.has(c)) return c;
    }
  };

  it('after 10 wrong codes even the right code gets 429 RATE_LIMITED with Retry-After, across tokens and step-up', async () => {
    const { id } = await createUser(t, slug, 'max@mfa-cap.test');
    const s = await signIn(t, slug, 'max@mfa-cap.test');
    const u = await enrollTotp(t, slug, s.access);
    const wrong = wrongFor(u.secret);
    const token = await passwordStep(t, slug, 'max@mfa-cap.test', STRONG_PASSWORD);
    for (let i = 0; i < 6; i++) expectError(await verifyMfa(t, slug, { mfa_token: token, code: wrong }), 401, 'MFA_CODE_INVALID');
    // A fresh token does not reset the count: it is the user's.
    const token2 = await passwordStep(t, slug, 'max@mfa-cap.test', STRONG_PASSWORD);
    for (let i = 0; i < 3; i++) expectError(await verifyMfa(t, slug, { mfa_token: token2, backup_code: 'zzzz-zzzz-zzzz-zzzz' }), 401, 'MFA_CODE_INVALID');
    expectError(await t.app.inject({ method: 'POST', url: mfa(slug).stepUp, headers: bearer(s.access), payload: { code: wrong } }), 401, 'MFA_CODE_INVALID');

    const limited = await verifyMfa(t, slug, { mfa_token: token2, code: codeAt(u.secret, 1) });
    const err = expectError(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(500);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(600);
    expect(err.message).toMatch(/^Please wait \d+ minutes before trying again\.$/);
    expectError(
      await t.app.inject({ method: 'POST', url: mfa(slug).stepUp, headers: bearer(s.access), payload: { code: codeAt(u.secret, 1) } }),
      429,
      'RATE_LIMITED',
    );

    const failed = (await auditEvents(t, slug, admin, 'mfa.failed')).filter((e) => e.subject_id === id);
    expect(failed).toHaveLength(10);
    expect(failed.map((e) => e.details.reason)).toContain('wrong_code');
    expect(failed.map((e) => e.details.method)).toContain('backup_code');
    const hits = (await auditEvents(t, slug, admin, 'rate_limit.hit')).filter((e) => e.subject_id === id);
    expect(hits[0]).toMatchObject({ details: { limit: 'mfa' } });
  });

  it('is per user and per tenant setting', async () => {
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/platform/tenants/${slug}`,
      headers: bearer(t.platformToken),
      payload: { settings: { mfa_max_attempts: 2 } },
    });
    const a = await createUser(t, slug, 'ann@mfa-cap.test');
    await createUser(t, slug, 'bea@mfa-cap.test');
    const sa = await signIn(t, slug, 'ann@mfa-cap.test');
    const sb = await signIn(t, slug, 'bea@mfa-cap.test');
    const ua = await enrollTotp(t, slug, sa.access);
    const ub = await enrollTotp(t, slug, sb.access);
    const ta = await passwordStep(t, slug, 'ann@mfa-cap.test', STRONG_PASSWORD);
    for (let i = 0; i < 2; i++) expectError(await verifyMfa(t, slug, { mfa_token: ta, code: wrongFor(ua.secret) }), 401, 'MFA_CODE_INVALID');
    expectError(await verifyMfa(t, slug, { mfa_token: ta, code: codeAt(ua.secret, 1) }), 429, 'RATE_LIMITED');
    // Bea is not affected.
    const tb = await passwordStep(t, slug, 'bea@mfa-cap.test', STRONG_PASSWORD);
    expect((await verifyMfa(t, slug, { mfa_token: tb, code: codeAt(ub.secret, 1) })).statusCode).toBe(200);
    expect(a.id).toBeTruthy();
  });
});

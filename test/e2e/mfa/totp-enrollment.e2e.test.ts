import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEvents, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, register, type TestApp } from '../../helpers/test-app.ts';
import { advance, codeAt, freezeClock, mfa, oathtool } from './mfa-helpers.ts';

describe(`TOTP enrollment (${backendName})`, () => {
  let t: TestApp;
  let tenantId: string;
  let admin: string;
  const slug = 'totp-enroll';
  const url = mfa(slug);

  beforeAll(async () => {
    t = await buildTestApp();
    const created = await createTenant(t, slug);
    tenantId = created.id;
    admin = (await signIn(t, slug, created.adminEmail)).access;
  });
  afterAll(() => t.close());
  afterEach(() => vi.useRealTimers());

  async function newUser(email: string) {
    expect((await register(t, slug, email)).statusCode).toBe(201);
    return signIn(t, slug, email);
  }

  it('returns the secret, otpauth URI, QR codes (SVG and PNG) and a readable key; oathtool codes activate it', async () => {
    const u = await newUser('alice@totp-enroll.test');
    const start = await t.app.inject({ method: 'POST', url: url.totp, headers: bearer(u.access) });
    expect(start.statusCode, start.body).toBe(200);
    const e = start.json();
    expect(e.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(e.manual_entry_key).toBe(e.secret.match(/.{4}/g).join(' '));
    const uri = new URL(e.otpauth_uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/TOTP-ENROLL:alice@totp-enroll.test');
    expect(Object.fromEntries(uri.searchParams)).toEqual({ issuer: 'TOTP-ENROLL', secret: e.secret, algorithm: 'SHA1', digits: '6', period: '30' });
    expect(e.qr_svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect(e.qr_data_url).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    expect(Date.parse(e.expires_at) - Date.now()).toBeGreaterThan(590_000);

    // Not a factor until confirmed.
    expect((await t.app.inject({ method: 'GET', url: url.me, headers: bearer(u.access) })).json()).toEqual({
      mfa_enabled: false,
      factors: [],
      passkeys: 0,
      backup_codes_remaining: 0,
    });

    const done = await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(u.access), payload: { code: oathtool(e.secret) } });
    expect(done.statusCode, done.body).toBe(200);
    const codes = done.json().backup_codes as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[2-9a-hjkmnp-z]{4}(-[2-9a-hjkmnp-z]{4}){3}$/);
    expect(done.json().factor).toMatchObject({ type: 'totp', name: 'Authenticator app' });

    const state = await t.app.inject({ method: 'GET', url: url.me, headers: bearer(u.access) });
    expect(state.json()).toMatchObject({ mfa_enabled: true, backup_codes_remaining: 10, factors: [{ type: 'totp' }] });
    // The secret is never returned again.
    expect(state.body).not.toContain(e.secret);
  });

  it('stores the secret sealed with the master key, bound to tenant and user, and the backup codes only as hashes', async () => {
    const u = await newUser('sealed@totp-enroll.test');
    const start = (await t.app.inject({ method: 'POST', url: url.totp, headers: bearer(u.access) })).json();
    const done = await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(u.access), payload: { code: codeAt(start.secret) } });
    const [row] = await tenantQuery<{ secret_enc: string }>(t, tenantId, 'SELECT secret_enc FROM mfa_factors WHERE user_id = $1', [u.sub]);
    expect(row!.secret_enc).not.toContain(start.secret);
    expect(t.gh.sealer.open(row!.secret_enc, `totp:${tenantId}:${u.sub}`)).toBe(start.secret);
    expect(() => t.gh.sealer.open(row!.secret_enc, `totp:${tenantId}:${'0'.repeat(8)}-0000-0000-0000-000000000000`)).toThrow();
    const hashes = await tenantQuery<{ code_hash: string }>(t, tenantId, 'SELECT code_hash FROM mfa_backup_codes WHERE user_id = $1', [u.sub]);
    expect(hashes).toHaveLength(10);
    const stored = hashes.map((h) => h.code_hash).join(' ');
    for (const c of done.json().backup_codes as string[]) {
      expect(stored).not.toContain(c);
      expect(stored).not.toContain(c.replaceAll('-', ''));
    }
  });

  it('a wrong code does not activate; confirming twice finds nothing pending', async () => {
    const u = await newUser('bob@totp-enroll.test');
    const { secret } = (await t.app.inject({ method: 'POST', url: url.totp, headers: bearer(u.access) })).json();
    const wrong = String((Number(codeAt(secret)) + 1) % 1_000_000).padStart(6, '0');
    expectError(await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(u.access), payload: { code: wrong } }), 401, 'MFA_CODE_INVALID');
    expect((await t.app.inject({ method: 'GET', url: url.me, headers: bearer(u.access) })).json().mfa_enabled).toBe(false);
    expectError(await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(u.access), payload: { code: '12345' } }), 400, 'VALIDATION_ERROR');

    const ok = await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(u.access), payload: { code: codeAt(secret) } });
    expect(ok.statusCode, ok.body).toBe(200);
    expectError(
      await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(u.access), payload: { code: codeAt(secret, 1) } }),
      404,
      'MFA_ENROLLMENT_NOT_FOUND',
    );
  });

  it('a pending enrollment expires after 10 minutes; starting again replaces the secret', async () => {
    const u = await newUser('carol@totp-enroll.test');
    freezeClock();
    const first = (await t.app.inject({ method: 'POST', url: url.totp, headers: bearer(u.access) })).json();
    advance(601);
    expectError(
      await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(u.access), payload: { code: codeAt(first.secret) } }),
      404,
      'MFA_ENROLLMENT_NOT_FOUND',
    );
    const second = (await t.app.inject({ method: 'POST', url: url.totp, headers: bearer(u.access) })).json();
    expect(second.secret).not.toBe(first.secret);
    // The first secret's codes are worthless now.
    expectError(
      await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(u.access), payload: { code: codeAt(first.secret) } }),
      401,
      'MFA_CODE_INVALID',
    );
    const ok = await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(u.access), payload: { code: codeAt(second.secret) } });
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('a second authenticator needs a step-up, then answers MFA_ALREADY_ENROLLED; the first factor only issues backup codes', async () => {
    const u = await newUser('dave@totp-enroll.test');
    freezeClock();
    const { secret } = (await t.app.inject({ method: 'POST', url: url.totp, headers: bearer(u.access) })).json();
    await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(u.access), payload: { code: codeAt(secret) } });
    expectError(await t.app.inject({ method: 'POST', url: url.totp, headers: bearer(u.access) }), 403, 'STEP_UP_REQUIRED');
    advance(30);
    const up = await t.app.inject({ method: 'POST', url: url.stepUp, headers: bearer(u.access), payload: { code: codeAt(secret) } });
    expect(up.statusCode, up.body).toBe(200);
    expectError(await t.app.inject({ method: 'POST', url: url.totp, headers: bearer(u.access) }), 409, 'MFA_ALREADY_ENROLLED');
  });

  it('records enrollment_started, enrolled and failed events', async () => {
    const u = await newUser('erin@totp-enroll.test');
    const { secret } = (await t.app.inject({ method: 'POST', url: url.totp, headers: bearer(u.access) })).json();
    await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(u.access), payload: { code: '000000' === codeAt(secret) ? '111111' : '000000' } });
    await t.app.inject({ method: 'POST', url: url.totpVerify, headers: bearer(u.access), payload: { code: codeAt(secret) } });
    const events = (await auditEvents(t, slug, admin, 'mfa.*')).filter((e) => e.subject_id === u.sub);
    expect(events.map((e) => e.action)).toEqual(['mfa.enrolled', 'mfa.failed', 'mfa.enrollment_started']);
    expect(events[0]).toMatchObject({ actor_id: u.sub, risk: 'medium', details: { type: 'totp', backup_codes_issued: 10 } });
    expect(events[1]).toMatchObject({ details: { reason: 'wrong_code', purpose: 'enrollment' } });
    expect(JSON.stringify(events)).not.toContain(secret);
  });
});

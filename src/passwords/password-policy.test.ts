import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../tenancy/tenant.model.ts';
import { commonPasswords } from './common-passwords.ts';
import { evaluatePassword } from './password-policy.ts';

const codes = (password: string, ctx = {}, settings = DEFAULT_SETTINGS) => evaluatePassword(password, settings, ctx).violations.map((v) => v.code);

describe('password policy (NIST SP 800-63B)', () => {
  it('ships well over the top 100,000 common and breached passwords that the length rule alone would let through', () => {
    expect(commonPasswords().size).toBeGreaterThan(150_000);
  });

  it('rejects common passwords from the shipped list, whatever their case', () => {
    const sample = [...commonPasswords()].filter((_, i) => i % 997 === 0).slice(0, 150);
    expect(sample.length).toBe(150);
    for (const p of sample) expect(codes(p), p).toContain('PASSWORD_COMMON');
    for (const p of ['password123', 'Password1', 'iloveyou2', 'qwertyuiop', 'PASSWORD!']) expect(codes(p), p).toContain('PASSWORD_COMMON');
  });

  it('accepts strong passwords with no composition rules', () => {
    for (const p of ['correct horse battery staple 42', 'violet lantern under frozen rivers', 'Ж3лёный-чайник-на-окне', 'tuba ninja mesa 1987 quiet'])
      expect(evaluatePassword(p, DEFAULT_SETTINGS, { email: 'someone@example.com' }).ok, p).toBe(true);
  });

  it('lists every failed rule with a stable code', () => {
    expect(codes('short')).toEqual(expect.arrayContaining(['PASSWORD_TOO_SHORT', 'PASSWORD_TOO_WEAK']));
    expect(codes('x'.repeat(1025))).toEqual(['PASSWORD_TOO_LONG']);
    expect(codes('maria.silva.2024', { email: 'maria.silva@acme.io', name: 'Maria Silva' })).toContain('PASSWORD_CONTAINS_PERSONAL_INFO');
    expect(codes('globex rocks forever and ever', { tenantName: 'Globex' })).toEqual(['PASSWORD_CONTAINS_PERSONAL_INFO']);
    expect(codes('aaaaaaaaaa')).toContain('PASSWORD_TOO_WEAK');
  });

  it('counts length in code points and honours tenant settings', () => {
    expect(codes('🔑🔑🔑🔑🔑🔑🔑', {}, { ...DEFAULT_SETTINGS, password_min_score: 0, password_block_common: false })).toEqual(['PASSWORD_TOO_SHORT']);
    const lax = { ...DEFAULT_SETTINGS, password_min_score: 0, password_block_common: false, password_block_personal_info: false };
    expect(codes('password123', { email: 'password@x.io' }, lax)).toEqual([]);
    expect(codes('correct horse battery staple 42', {}, { ...DEFAULT_SETTINGS, password_min_length: 40 })).toEqual(['PASSWORD_TOO_SHORT']);
  });
});

import { Secret } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { hashBackupCode, newBackupCodes, normalizeBackupCode } from './backup-codes.ts';
import { matchTotp, newTotpSecret, totpCode } from './totp.ts';

// RFC 6238 Appendix B, SHA-1 key "12345678901234567890": the 8-digit values' last six digits.
const RFC_KEY = Secret.fromLatin1('12345678901234567890').base32;
const RFC_VECTORS: [number, string][] = [
  [59, '287082'],
  [1111111109, '081804'],
  [1111111111, '050471'],
  [1234567890, '005924'],
  [2000000000, '279037'],
  [20000000000, '353130'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(RFC_VECTORS)('at T=%i the code is %s, and it matches that step', (t, code) => {
    expect(totpCode(RFC_KEY, t * 1000)).toBe(code);
    expect(matchTotp(RFC_KEY, code, t * 1000)).toBe(Math.floor(t / 30));
  });

  it('accepts one step of drift either way, not two', () => {
    const now = 1_700_000_015_000;
    const step = Math.floor(now / 30_000);
    expect(matchTotp(RFC_KEY, totpCode(RFC_KEY, now - 30_000), now)).toBe(step - 1);
    expect(matchTotp(RFC_KEY, totpCode(RFC_KEY, now + 30_000), now)).toBe(step + 1);
    expect(matchTotp(RFC_KEY, totpCode(RFC_KEY, now - 60_000), now)).toBeNull();
    expect(matchTotp(RFC_KEY, totpCode(RFC_KEY, now + 60_000), now)).toBeNull();
  });

  it('refuses anything but six digits', () => {
    const code = totpCode(RFC_KEY, 59_000);
    for (const bad of [` ${code}`, `${code}0`, code.slice(1), '', 'abcdef', '28708２']) expect(matchTotp(RFC_KEY, bad, 59_000)).toBeNull();
  });

  it('makes 160-bit base32 secrets, all different', () => {
    const secrets = new Set(Array.from({ length: 50 }, newTotpSecret));
    expect(secrets.size).toBe(50);
    for (const s of secrets) expect(s).toMatch(/^[A-Z2-7]{32}$/);
  });
});

describe('backup codes', () => {
  it('are ten distinct readable codes without ambiguous characters', () => {
    const codes = newBackupCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[2-9a-hjkmnp-z]{4}-[2-9a-hjkmnp-z]{4}-[2-9a-hjkmnp-z]{4}-[2-9a-hjkmnp-z]{4}$/);
  });

  it('hash the same however typed, and differently per user', () => {
    expect(normalizeBackupCode(' AB2C-d3ef gh4j-KMN5 ')).toBe('ab2cd3efgh4jkmn5');
    expect(hashBackupCode('u1', 'ab2c-d3ef-gh4j-kmn5')).toBe(hashBackupCode('u1', 'AB2CD3EFGH4JKMN5'));
    expect(hashBackupCode('u1', 'ab2c-d3ef-gh4j-kmn5')).not.toBe(hashBackupCode('u2', 'ab2c-d3ef-gh4j-kmn5'));
  });
});

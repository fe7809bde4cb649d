import { execFileSync } from 'node:child_process';
import { expect, vi } from 'vitest';
import { totpCode } from '../../../src/mfa/totp.ts';
import { bearer, type TestApp } from '../../helpers/test-app.ts';

/**
 * MFA flows over the HTTP API, shared by the suites in test/e2e/mfa. Codes come from `oathtool` (Debian's
 * independent RFC 6238 implementation) where a test is about compatibility, else from otpauth at a chosen time.
 */

/** `oathtool --totp -b SECRET`, optionally at another time than now. */
export function oathtool(secret: string, at?: Date): string {
  const args = ['--totp', '-b', secret, ...(at ? ['--now', at.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')] : [])];
  return execFileSync('oathtool', args, { encoding: 'utf8' }).trim();
}

/** The code `steps` time steps from now (0 = current). */
export const codeAt = (secret: string, steps = 0) => totpCode(secret, Date.now() + steps * 30_000);

/** Freezes Date (only Date: timers, argon2 and the database run on real time) 1 s into the next time step. */
export function freezeClock(): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  const now = Date.now();
  // Forward, never back: tokens issued a moment ago must not be "not yet valid".
  vi.setSystemTime(now - (now % 30_000) + 31_000);
}

export function advance(seconds: number): void {
  vi.setSystemTime(Date.now() + seconds * 1000);
}

export function mfa(slug: string) {
  return {
    me: `/t/${slug}/api/v1/me/mfa`,
    totp: `/t/${slug}/api/v1/me/mfa/totp`,
    totpVerify: `/t/${slug}/api/v1/me/mfa/totp/verify`,
    backupCodes: `/t/${slug}/api/v1/me/mfa/backup-codes`,
    verify: `/t/${slug}/api/v1/auth/mfa/verify`,
    stepUp: `/t/${slug}/api/v1/auth/step-up`,
    enroll: `/t/${slug}/api/v1/auth/mfa/enroll/totp`,
    enrollVerify: `/t/${slug}/api/v1/auth/mfa/enroll/totp/verify`,
  };
}

export interface Enrolled {
  secret: string;
  backupCodes: string[];
}

/** Enrolls an authenticator app for the bearer of `access` and confirms it with the current code. */
export async function enrollTotp(t: TestApp, slug: string, access: string, code: (secret: string) => string = (s) => codeAt(s)): Promise<Enrolled> {
  const start = await t.app.inject({ method: 'POST', url: mfa(slug).totp, headers: bearer(access) });
  expect(start.statusCode, start.body).toBe(200);
  const secret = start.json().secret as string;
  const done = await t.app.inject({ method: 'POST', url: mfa(slug).totpVerify, headers: bearer(access), payload: { code: code(secret) } });
  expect(done.statusCode, done.body).toBe(200);
  return { secret, backupCodes: done.json().backup_codes ?? [] };
}

/** Password step of a login that must answer mfa_required; returns the mfa_token. */
export async function passwordStep(t: TestApp, slug: string, email: string, password: string): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/login`, payload: { email, password } });
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json();
  expect(body.mfa_required, res.body).toBe(true);
  return body.mfa_token as string;
}

export function verifyMfa(t: TestApp, slug: string, payload: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: mfa(slug).verify, payload });
}

import { describe, expect, it } from 'vitest';
import { enrollmentOutcome, mfaPolicyApplies } from './mfa-policy.ts';

const now = Date.parse('2026-01-10T12:00:00Z');
const day = 86_400;

describe('MFA policy', () => {
  it('applies to everyone, to admins only, or to nobody', () => {
    expect(mfaPolicyApplies({ mfa_policy: 'optional' }, 'admin')).toBe(false);
    expect(mfaPolicyApplies({ mfa_policy: 'required_for_admins' }, 'admin')).toBe(true);
    expect(mfaPolicyApplies({ mfa_policy: 'required_for_admins' }, 'manager')).toBe(false);
    expect(mfaPolicyApplies({ mfa_policy: 'required' }, 'viewer')).toBe(true);
  });

  it.each([
    ['a user with a factor', 'required', 7 * day, ['totp'], null, { kind: 'none' }],
    ['optional policy', 'optional', 7 * day, [], null, { kind: 'none' }],
    ['first sign-in under the policy starts the grace', 'required', 7 * day, [], null, { kind: 'grace', deadline: new Date(now + 7 * day * 1000), startGrace: true }],
    ['inside the grace', 'required', 7 * day, [], new Date(now - 6 * day * 1000), { kind: 'grace', deadline: new Date(now + day * 1000), startGrace: false }],
    ['grace over', 'required', 7 * day, [], new Date(now - 7 * day * 1000), { kind: 'enroll' }],
    ['no grace at all', 'required', 0, [], null, { kind: 'enroll' }],
  ] as const)('%s', (_name, policy, grace, factors, started, expected) => {
    expect(
      enrollmentOutcome({ mfa_policy: policy, mfa_grace_period: grace }, 'user', { factors: [...factors], grace_started_at: started }, now),
    ).toEqual(expected);
  });
});

import { AppError, type FieldIssue } from '../errors/app-error.ts';
import type { TenantSettings } from '../tenancy/tenant.model.ts';

export interface PolicyViolation {
  code: 'PASSWORD_TOO_SHORT' | 'PASSWORD_TOO_LONG';
  message: string;
}

/** NIST SP 800-63B: length counted in Unicode code points, no composition rules. */
export function checkPassword(password: string, settings: Pick<TenantSettings, 'password_min_length' | 'password_max_length'>): PolicyViolation[] {
  const length = [...password.normalize('NFKC')].length;
  const out: PolicyViolation[] = [];
  if (length < settings.password_min_length) {
    out.push({ code: 'PASSWORD_TOO_SHORT', message: `must be at least ${settings.password_min_length} characters` });
  }
  if (length > settings.password_max_length) {
    out.push({ code: 'PASSWORD_TOO_LONG', message: `must be at most ${settings.password_max_length} characters` });
  }
  return out;
}

export function assertPasswordPolicy(password: string, settings: TenantSettings, field = 'password'): void {
  const violations = checkPassword(password, settings);
  if (violations.length === 0) return;
  const details: FieldIssue[] = violations.map((v) => ({ field, code: v.code, message: v.message }));
  throw new AppError('PASSWORD_POLICY', {
    message: 'The password does not meet the policy: ' + violations.map((v) => v.message).join('; '),
    details,
  });
}

import { AppError, type FieldIssue } from '../errors/app-error.ts';
import type { TenantSettings } from '../tenancy/tenant.model.ts';
import { isCommonPassword } from './common-passwords.ts';
import { passwordScore } from './password-strength.ts';

export type PolicyCode =
  | 'PASSWORD_TOO_SHORT'
  | 'PASSWORD_TOO_LONG'
  | 'PASSWORD_COMMON'
  | 'PASSWORD_CONTAINS_PERSONAL_INFO'
  | 'PASSWORD_TOO_WEAK'
  | 'PASSWORD_REUSED';

export interface PolicyViolation {
  code: PolicyCode;
  message: string;
}

/** Words a password must not be built on: the person's email and names, the tenant's name and slug. */
export interface PolicyContext {
  email?: string | null | undefined;
  name?: string | null | undefined;
  tenantName?: string | undefined;
  tenantSlug?: string | undefined;
}

export interface PolicyResult {
  ok: boolean;
  score: number;
  violations: PolicyViolation[];
  warning: string | null;
  suggestions: string[];
}

type PolicySettings = Pick<
  TenantSettings,
  'password_min_length' | 'password_max_length' | 'password_min_score' | 'password_block_common' | 'password_block_personal_info'
>;

function contextWords(ctx: PolicyContext): string[] {
  const words = new Set<string>();
  const add = (v: string | null | undefined) => {
    for (const w of (v ?? '').toLowerCase().split(/[^\p{L}\p{N}]+/u)) if ([...w].length >= 4) words.add(w);
  };
  add(ctx.email?.split('@')[0]);
  add(ctx.email?.split('@')[1]?.split('.')[0]);
  add(ctx.name);
  add(ctx.tenantName);
  add(ctx.tenantSlug);
  return [...words];
}

/**
 * NIST SP 800-63B: a length range counted in code points, no composition rules, and refusal of passwords that are
 * common or breached (offline list), built on the person's own details, or guessable (zxcvbn-ts score). Every
 * failed rule is reported, each with a stable code.
 */
export function evaluatePassword(password: string, settings: PolicySettings, ctx: PolicyContext = {}): PolicyResult {
  const normalized = password.normalize('NFKC');
  const length = [...normalized].length;
  const violations: PolicyViolation[] = [];
  if (length < settings.password_min_length) {
    violations.push({ code: 'PASSWORD_TOO_SHORT', message: `must be at least ${settings.password_min_length} characters` });
  }
  if (length > settings.password_max_length) {
    violations.push({ code: 'PASSWORD_TOO_LONG', message: `must be at most ${settings.password_max_length} characters` });
    return { ok: false, score: 0, violations, warning: null, suggestions: [] };
  }
  if (settings.password_block_common && isCommonPassword(normalized)) {
    violations.push({ code: 'PASSWORD_COMMON', message: 'is too common: it appears in lists of breached passwords' });
  }
  const words = contextWords(ctx);
  const lower = normalized.toLowerCase();
  if (settings.password_block_personal_info && words.some((w) => lower.includes(w))) {
    violations.push({ code: 'PASSWORD_CONTAINS_PERSONAL_INFO', message: 'must not contain your email, your name or the organisation name' });
  }
  const strength = passwordScore(normalized, words);
  if (strength.score < settings.password_min_score) {
    violations.push({ code: 'PASSWORD_TOO_WEAK', message: `is too easy to guess (strength ${strength.score} of 4, ${settings.password_min_score} needed)` });
  }
  return { ok: violations.length === 0, score: strength.score, violations, warning: strength.warning, suggestions: strength.suggestions };
}

export function policyError(violations: PolicyViolation[], field = 'password'): AppError {
  const details: FieldIssue[] = violations.map((v) => ({ field, code: v.code, message: v.message }));
  return new AppError('PASSWORD_POLICY', {
    message: 'The password does not meet the policy: ' + violations.map((v) => v.message).join('; '),
    details,
  });
}

export function assertPasswordPolicy(password: string, settings: PolicySettings, ctx: PolicyContext = {}, field = 'password'): void {
  const r = evaluatePassword(password, settings, ctx);
  if (!r.ok) throw policyError(r.violations, field);
}

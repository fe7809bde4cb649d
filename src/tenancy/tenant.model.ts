import { AppError } from '../errors/app-error.ts';

export const PLANS = ['basic', 'pro', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];
export const TENANT_STATUSES = ['active', 'suspended', 'canceled'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** Per-tenant settings; stored sparse in `tenants.settings`, read merged over these defaults. */
export interface TenantSettings {
  access_token_ttl: number;
  refresh_token_ttl: number;
  session_idle_ttl: number;
  session_absolute_ttl: number;
  max_sessions_per_user: number;
  /** Seconds during which an already-rotated refresh token may be presented again (concurrent tabs). 0 = strict. */
  refresh_reuse_grace_seconds: number;
  registration: 'open' | 'invite_only' | 'closed';
  password_min_length: number;
  password_max_length: number;
  signing_alg: 'ES256' | 'RS256';
  /** Failed logins per (tenant, email) within `login_failure_window` that trip a delay (seed 001). */
  login_max_failures_per_email: number;
  /** Failed logins per client IP within the window that trip a delay. */
  login_max_failures_per_ip: number;
  login_failure_window: number;
  /** Successive delays in seconds once tripped; the last repeats. */
  login_delays: number[];
  /** Failed logins for one account, from any IP, within `lockout_window` that lock it for `lockout_duration`. */
  lockout_threshold: number;
  lockout_window: number;
  lockout_duration: number;
  /** Registrations per client IP per hour. */
  register_max_per_ip_per_hour: number;
  /** zxcvbn-ts score (0-4) a new password needs. */
  password_min_score: number;
  /** Refuse passwords on the shipped list of common and breached passwords. */
  password_block_common: boolean;
  /** Refuse passwords containing the email, names or tenant name. */
  password_block_personal_info: boolean;
  /** A new password may not be any of the last N (0 = no history). */
  password_history: number;
  /** Login risk score (0..1) from which a sign-in is recorded as suspicious (seed conflict C20: 0.7). */
  risk_alert_threshold: number;
  /** Score from which a sign-in is refused (403 LOGIN_BLOCKED); 0 = never. Step-up instead arrives with MFA. */
  risk_block_threshold: number;
  /** Request budgets per route group and client (seed conflict C3); a tenant may override any group. */
  rate_limits: RateLimitTiers;
  /** WebAuthn relying party id (a host name); null = the host of the tenant's issuer. */
  webauthn_rp_id: string | null;
  /** Origins passkey ceremonies may come from; empty = the origin of the tenant's issuer. */
  webauthn_origins: string[];
  /** Who must use MFA: nobody (`optional`), users with the admin role, or everyone. */
  mfa_policy: 'optional' | 'required_for_admins' | 'required';
  /** Seconds a user the policy applies to may still sign in without MFA, from the first sign-in that told them to enroll. */
  mfa_grace_period: number;
  /** How recent (seconds) a second-factor authentication must be for sensitive operations (step-up). */
  mfa_step_up_max_age: number;
  /** Admin mutations (users, roles, sessions, MFA resets, security alerts and webhook) also need a recent second factor. */
  mfa_admin_step_up: boolean;
  /** Wrong MFA codes per user within `mfa_attempt_window` seconds before 429 RATE_LIMITED. */
  mfa_max_attempts: number;
  mfa_attempt_window: number;
  /** Email verification (issue 5): 'required' refuses password sign-in until the address is verified. */
  email_verification: 'optional' | 'required';
  /** Sign-in by magic link or 6-digit code sent by mail. */
  passwordless: boolean;
  /** Password-reset mails per address per hour; beyond it requests are accepted but send nothing. */
  password_reset_max_per_hour: number;
  /** Reset, verification and sign-in mails requested per client IP per hour (429 beyond). */
  mail_requests_per_ip_per_hour: number;
  /** How long an invitation link stays valid, in seconds. */
  invitation_ttl: number;
  /** Sender overrides for this tenant's mail (else MAIL_FROM). */
  mail_from_name: string | null;
  mail_from_address: string | null;
}

export const RATE_LIMIT_GROUPS = ['auth', 'api', 'admin'] as const;
export type RateLimitGroup = (typeof RATE_LIMIT_GROUPS)[number];
/** `points` requests per `window` seconds; 0 points turns the group's limit off. */
export type RateLimitTiers = Record<RateLimitGroup, { points: number; window: number }>;

export const DEFAULT_SETTINGS: TenantSettings = {
  access_token_ttl: 900,
  // Seeds' conflict C6: 24 h idle, 7 days absolute; a refresh token never outlives its session.
  refresh_token_ttl: 7 * 86_400,
  session_idle_ttl: 86_400,
  session_absolute_ttl: 7 * 86_400,
  max_sessions_per_user: 5,
  refresh_reuse_grace_seconds: 0,
  registration: 'open',
  password_min_length: 8,
  password_max_length: 1024,
  signing_alg: 'ES256',
  // Seeds' conflicts C1/C2/C4: progressive delays 1, 5, 15, 30 min; lock at 10 failures a day for 30 min.
  login_max_failures_per_email: 5,
  login_max_failures_per_ip: 20,
  login_failure_window: 900,
  login_delays: [60, 300, 900, 1800],
  lockout_threshold: 10,
  lockout_window: 86_400,
  lockout_duration: 1800,
  register_max_per_ip_per_hour: 3,
  password_min_score: 3,
  password_block_common: true,
  password_block_personal_info: true,
  password_history: 5,
  risk_alert_threshold: 0.7,
  risk_block_threshold: 0,
  // Seeds C2/C3: sign-in routes 10 per 15 min per IP; api 100 and admin 200 per minute per user and IP.
  rate_limits: { auth: { points: 10, window: 900 }, api: { points: 100, window: 60 }, admin: { points: 200, window: 60 } },
  webauthn_rp_id: null,
  webauthn_origins: [],
  mfa_policy: 'optional',
  mfa_grace_period: 7 * 86_400,
  mfa_step_up_max_age: 900,
  mfa_admin_step_up: false,
  mfa_max_attempts: 10,
  mfa_attempt_window: 600,
  email_verification: 'optional',
  passwordless: false,
  password_reset_max_per_hour: 3,
  mail_requests_per_ip_per_hour: 30,
  invitation_ttl: 7 * 86_400,
  mail_from_name: null,
  mail_from_address: null,
};

export interface TenantLimits {
  /** null = unlimited */
  max_users: number | null;
}

export const PLAN_LIMITS: Record<Plan, TenantLimits> = {
  basic: { max_users: 1_000 },
  pro: { max_users: 100_000 },
  enterprise: { max_users: null },
};

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  plan: Plan;
  status: TenantStatus;
  /** Overrides over the plan's limits. */
  limits: Partial<TenantLimits>;
  features: Record<string, boolean>;
  branding: Record<string, string>;
  settings: Partial<TenantSettings>;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

export function effectiveSettings(t: Pick<Tenant, 'settings'>): TenantSettings {
  const s = { ...DEFAULT_SETTINGS, ...t.settings };
  // A tenant's override names only the groups it changes.
  if (t.settings.rate_limits) s.rate_limits = { ...DEFAULT_SETTINGS.rate_limits, ...t.settings.rate_limits };
  return s;
}

export function effectiveLimits(t: Pick<Tenant, 'plan' | 'limits'>): TenantLimits {
  return { ...PLAN_LIMITS[t.plan], ...t.limits };
}

export const RESERVED_SLUGS = new Set([
  'api', 'www', 'admin', 'app', 'docs', 'auth', 'login', 'logout', 'oauth', 'oidc', 'static', 'assets', 'status',
  'health', 'ready', 'metrics', 'platform', 'console', 'dashboard', 'mail', 'smtp', 'support', 'help', 'blog',
  'well-known', 'gatehouse', 'system', 'root', 'null', 'undefined', 'default', 'internal', 'public', 'cdn', 'dev',
  'test', 'staging', 'billing', 'account', 'accounts', 'signup', 'register', 'sso', 'id', 'identity', 'jwks',
]);

const SLUG = /^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/;

export function assertValidSlug(slug: string): void {
  if (!SLUG.test(slug) || slug.includes('--')) {
    throw new AppError('TENANT_SLUG_INVALID', {
      message: 'A tenant slug is 3-63 lowercase letters, digits or single hyphens, not starting or ending with a hyphen.',
    });
  }
  if (RESERVED_SLUGS.has(slug)) throw new AppError('TENANT_SLUG_INVALID', { message: `"${slug}" is a reserved name.` });
}

export function tenantIssuer(publicUrl: string, baseDomain: string | undefined, slug: string): string {
  if (baseDomain) return `${new URL(publicUrl).protocol}//${slug}.${baseDomain}`;
  return `${publicUrl}/t/${slug}`;
}

import type { Role } from '../rbac/roles.ts';

export type UserStatus = 'active' | 'disabled' | 'locked';

export interface UserRow {
  id: string;
  tenant_id: string;
  email: string;
  email_verified: boolean;
  password_hash: string | null;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  locale: string | null;
  timezone: string | null;
  status: UserStatus;
  /** Set while a lockout lasts (status 'locked'). */
  locked_until: Date | null;
  role: Role;
  last_login_at: Date | null;
  login_count: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export type PublicUser = Omit<UserRow, 'tenant_id' | 'password_hash'>;
/** A user row for everything but a password check: what the user cache keeps. */
export type UserProfile = Omit<UserRow, 'password_hash'>;

export function toPublicUser(u: UserProfile & { password_hash?: string | null }): PublicUser {
  const { tenant_id: _t, password_hash: _p, ...rest } = u;
  return rest;
}

/** Emails are unique per tenant after this: Unicode NFKC, trimmed, lowercased. */
export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}

/** Profile fields a user may change about themselves. */
export const PROFILE_FIELDS = ['name', 'given_name', 'family_name', 'locale', 'timezone'] as const;
export type ProfilePatch = Partial<Record<(typeof PROFILE_FIELDS)[number], string | null>>;

import type { AuditContext } from '../audit/audit.ts';
import { recordAudit } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import type { TenantDb } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { assertPasswordPolicy } from '../passwords/password-policy.ts';
import type { Role } from '../rbac/roles.ts';
import { effectiveLimits, effectiveSettings, type Tenant } from '../tenancy/tenant.model.ts';
import { insertUser } from './user.queries.ts';
import { normalizeEmail, type UserRow } from './user.model.ts';

export interface CreateUserInput {
  email: string;
  password?: string | undefined;
  name?: string | null | undefined;
  role?: Role | undefined;
  emailVerified?: boolean | undefined;
  createdBy?: string | null | undefined;
}

/** Hashes outside the transaction: argon2 takes tens of milliseconds and must not hold a connection or lock. */
export async function preparePassword(
  gh: Gatehouse,
  tenant: Pick<Tenant, 'settings' | 'name' | 'slug'>,
  password: string | undefined,
  person: { email: string; name?: string | null | undefined },
) {
  if (password === undefined) return null;
  assertPasswordPolicy(password, effectiveSettings(tenant), { ...person, tenantName: tenant.name, tenantSlug: tenant.slug });
  return gh.hasher.hash(password);
}

/**
 * Inserts a user inside the caller's tenant transaction, enforcing the tenant's user limit (serialised per tenant
 * so concurrent sign-ups cannot overshoot it) and email uniqueness, and records the audit event.
 */
export async function insertUserChecked(
  tx: TenantDb,
  tenant: Pick<Tenant, 'plan' | 'limits'>,
  input: CreateUserInput & { passwordHash: string | null },
  audit: { ctx: AuditContext; action: 'user.registered' | 'user.created' },
): Promise<UserRow> {
  const { max_users } = effectiveLimits(tenant);
  if (max_users !== null) {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`users:${tx.tenantId}`]);
    const n = (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT 1 FROM users LIMIT $1) s', [max_users])).rows[0]!.n;
    if (n >= max_users) throw new AppError('USER_LIMIT_EXCEEDED');
  }
  const user = await insertUser(tx, {
    email: normalizeEmail(input.email),
    passwordHash: input.passwordHash,
    name: input.name ?? null,
    role: input.role ?? 'user',
    emailVerified: input.emailVerified ?? false,
    createdBy: input.createdBy ?? null,
  });
  if (!user) throw new AppError('EMAIL_TAKEN');
  await recordAudit(tx, audit.ctx, {
    action: audit.action,
    subjectId: user.id,
    // Who registers is the new user; a creation is by the caller (user or platform).
    ...(audit.action === 'user.registered' ? { actorId: user.id, actorType: 'user' as const } : {}),
    details: { email: user.email, role: user.role },
  });
  return user;
}

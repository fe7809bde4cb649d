import { recordAudit, type AuditContext } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { enterTenant, withPlatformTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { insertUserChecked, preparePassword } from '../identity/user.service.ts';
import type { UserRow } from '../identity/user.model.ts';
import { insertSigningKey } from '../keys/signing-keys.ts';
import {
  assertValidSlug,
  DEFAULT_SETTINGS,
  type Plan,
  type Tenant,
  type TenantLimits,
  type TenantSettings,
  type TenantStatus,
} from './tenant.model.ts';
import type { ResolvedTenant } from './tenant-directory.ts';

export interface CreateTenantInput {
  slug: string;
  name: string;
  plan?: Plan | undefined;
  limits?: Partial<TenantLimits> | undefined;
  features?: Record<string, boolean> | undefined;
  branding?: Record<string, string> | undefined;
  settings?: Partial<TenantSettings> | undefined;
  admin?: { email: string; password: string; name?: string | undefined } | undefined;
}

const TENANT_COLUMNS = `id, slug, name, plan, status, limits, features, branding, settings, created_at, updated_at, deleted_at`;

/** Creates a tenant, its first signing key, its first admin and the audit records in one transaction. */
export async function createTenant(
  gh: Gatehouse,
  input: CreateTenantInput,
  ctx: AuditContext,
): Promise<{ tenant: ResolvedTenant; admin: UserRow | null }> {
  assertValidSlug(input.slug);
  const settings = input.settings ?? {};
  const passwordHash = input.admin
    ? await preparePassword(gh, { settings, name: input.name, slug: input.slug }, input.admin.password, input.admin)
    : null;
  const alg = settings.signing_alg ?? DEFAULT_SETTINGS.signing_alg;
  const result = await withPlatformTx(gh.db, async (ptx) => {
    const inserted = await ptx.query<Tenant>(
      `INSERT INTO tenants (slug, name, plan, limits, features, branding, settings)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (slug) DO NOTHING RETURNING ${TENANT_COLUMNS}`,
      [
        input.slug,
        input.name,
        input.plan ?? 'basic',
        JSON.stringify(input.limits ?? {}),
        JSON.stringify(input.features ?? {}),
        JSON.stringify(input.branding ?? {}),
        JSON.stringify(settings),
      ],
    );
    const tenant = inserted.rows[0];
    if (!tenant) throw new AppError('TENANT_SLUG_TAKEN');
    const tx = await enterTenant(ptx, tenant.id);
    await insertSigningKey(tx, gh.sealer, alg);
    await recordAudit(tx, ctx, { action: 'tenant.created', details: { slug: tenant.slug, plan: tenant.plan } });
    const admin = input.admin
      ? await insertUserChecked(
          tx,
          tenant,
          { ...input.admin, passwordHash, role: 'admin', emailVerified: true },
          { ctx, action: 'user.created' },
        )
      : null;
    return { tenant, admin };
  });
  // A lookup of the slug before it existed may have cached "no such tenant".
  gh.tenants.invalidate(result.tenant);
  return { tenant: gh.tenants.resolve(result.tenant), admin: result.admin };
}

export interface UpdateTenantInput {
  name?: string;
  plan?: Plan;
  status?: TenantStatus;
  limits?: Partial<TenantLimits>;
  features?: Record<string, boolean>;
  branding?: Record<string, string>;
  settings?: Partial<TenantSettings>;
}

/** Updates a tenant; limits, features, branding and settings are merged key by key. */
export async function updateTenant(gh: Gatehouse, id: string, patch: UpdateTenantInput, ctx: AuditContext): Promise<ResolvedTenant> {
  const tenant = await withPlatformTx(gh.db, async (ptx) => {
    const r = await ptx.query<Tenant>(
      `UPDATE tenants SET
         name = coalesce($2, name), plan = coalesce($3, plan), status = coalesce($4, status),
         limits = limits || coalesce($5::jsonb, '{}'), features = features || coalesce($6::jsonb, '{}'),
         branding = branding || coalesce($7::jsonb, '{}'), settings = settings || coalesce($8::jsonb, '{}'),
         updated_at = now()
       WHERE id = $1 AND deleted_at IS NULL RETURNING ${TENANT_COLUMNS}`,
      [
        id,
        patch.name ?? null,
        patch.plan ?? null,
        patch.status ?? null,
        patch.limits ? JSON.stringify(patch.limits) : null,
        patch.features ? JSON.stringify(patch.features) : null,
        patch.branding ? JSON.stringify(patch.branding) : null,
        patch.settings ? JSON.stringify(patch.settings) : null,
      ],
    );
    const t = r.rows[0];
    if (!t) throw new AppError('TENANT_NOT_FOUND');
    const tx = await enterTenant(ptx, t.id);
    await recordAudit(tx, ctx, { action: 'tenant.updated', details: { changes: patch }, risk: patch.status ? 'medium' : 'low' });
    return t;
  });
  gh.tenants.invalidate(tenant);
  return gh.tenants.resolve(tenant);
}

/** Soft delete: the row stays (its slug stays taken, its audit trail kept) but the tenant no longer resolves. */
export async function deleteTenant(gh: Gatehouse, id: string, ctx: AuditContext): Promise<void> {
  const tenant = await withPlatformTx(gh.db, async (ptx) => {
    const r = await ptx.query<Tenant>(
      `UPDATE tenants SET deleted_at = now(), status = 'canceled', updated_at = now()
       WHERE id = $1 AND deleted_at IS NULL RETURNING ${TENANT_COLUMNS}`,
      [id],
    );
    const t = r.rows[0];
    if (!t) throw new AppError('TENANT_NOT_FOUND');
    const tx = await enterTenant(ptx, t.id);
    await recordAudit(tx, ctx, { action: 'tenant.deleted', risk: 'high' });
    return t;
  });
  gh.tenants.invalidate(tenant);
}

export async function listTenants(gh: Gatehouse, q: { after?: string; limit: number; status?: TenantStatus }) {
  const r = await gh.db.query<Tenant>(
    `SELECT ${TENANT_COLUMNS} FROM tenants WHERE deleted_at IS NULL AND ($1::text IS NULL OR slug > $1)
       AND ($2::text IS NULL OR status = $2) ORDER BY slug LIMIT $3`,
    [q.after ?? null, q.status ?? null, q.limit + 1],
  );
  const rows = r.rows.slice(0, q.limit).map((t) => gh.tenants.resolve(t));
  return { tenants: rows, next_cursor: r.rows.length > q.limit ? rows[rows.length - 1]!.slug : null };
}

export async function findTenant(gh: Gatehouse, idOrSlug: string): Promise<ResolvedTenant> {
  const t = (await gh.tenants.byId(idOrSlug)) ?? (await gh.tenants.bySlug(idOrSlug));
  if (!t) throw new AppError('TENANT_NOT_FOUND');
  return t;
}

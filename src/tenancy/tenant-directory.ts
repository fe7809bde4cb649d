import type { Database } from '../db/database.ts';
import { isUuid } from '../db/tenant-tx.ts';
import { tenantIssuer, type Tenant } from './tenant.model.ts';

export interface ResolvedTenant extends Tenant {
  issuer: string;
}

const TENANT_COLUMNS = `id, slug, name, plan, status, limits, features, branding, settings, created_at, updated_at, deleted_at`;

/**
 * Looks tenants up by slug or id with a short in-memory cache. Start-up loads nothing: memory grows with the
 * tenants in use, not the tenants that exist. Platform updates on this node invalidate at once; other nodes
 * see them within `ttlMs`.
 */
export function createTenantDirectory(db: Database, opts: { publicUrl: string; baseDomain?: string | undefined; ttlMs?: number; max?: number }) {
  const ttlMs = opts.ttlMs ?? 10_000;
  const max = opts.max ?? 10_000;
  const bySlug = new Map<string, { value: Promise<ResolvedTenant | undefined>; at: number }>();
  const slugById = new Map<string, string>();
  const loadingById = new Map<string, Promise<ResolvedTenant | undefined>>();

  const resolve = (t: Tenant): ResolvedTenant => ({ ...t, issuer: tenantIssuer(opts.publicUrl, opts.baseDomain, t.slug) });

  async function load(where: 'slug' | 'id', value: string): Promise<ResolvedTenant | undefined> {
    const r = await db.query<Tenant>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE ${where} = $1 AND deleted_at IS NULL`, [value]);
    const t = r.rows[0];
    return t ? resolve(t) : undefined;
  }

  function remember(slug: string, value: Promise<ResolvedTenant | undefined>) {
    if (bySlug.size >= max) bySlug.delete(bySlug.keys().next().value!);
    bySlug.set(slug, { value, at: Date.now() });
    value.then((t) => t && slugById.set(t.id, t.slug)).catch(() => bySlug.delete(slug));
  }

  return {
    async bySlug(slug: string): Promise<ResolvedTenant | undefined> {
      if (!/^[a-z0-9-]{1,63}$/.test(slug)) return undefined;
      const hit = bySlug.get(slug);
      if (hit && Date.now() - hit.at < ttlMs) return hit.value;
      const value = load('slug', slug);
      remember(slug, value);
      return value;
    },
    async byId(id: string): Promise<ResolvedTenant | undefined> {
      if (!isUuid(id)) return undefined;
      const slug = slugById.get(id);
      if (slug) {
        const hit = bySlug.get(slug);
        if (hit && Date.now() - hit.at < ttlMs) return hit.value;
      }
      // Concurrent misses for one id share a single query (every request of a tenant misses together on expiry).
      let loading = loadingById.get(id);
      if (!loading) {
        loading = load('id', id).finally(() => loadingById.delete(id));
        loadingById.set(id, loading);
      }
      const t = await loading;
      if (t) remember(t.slug, Promise.resolve(t));
      return t;
    },
    invalidate(t: { id: string; slug: string }) {
      bySlug.delete(t.slug);
      slugById.delete(t.id);
    },
    resolve,
  };
}

export type TenantDirectory = ReturnType<typeof createTenantDirectory>;

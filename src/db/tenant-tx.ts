import { createBatchGroup } from './batch-group.ts';
import type { Database, Queryable, QueryResult } from './database.ts';

/** The role tenant work runs as: it owns nothing and cannot bypass row-level security. */
export const APP_ROLE = 'gatehouse_app';

declare const tenantBrand: unique symbol;
declare const platformBrand: unique symbol;

/** A transaction bound to one tenant; RLS limits every statement in it to that tenant's rows. */
export type TenantDb = Queryable & { readonly tenantId: string; readonly [tenantBrand]: true };
/** A transaction outside any tenant, for platform administration only (creating tenants, credentials). */
export type PlatformDb = Queryable & { readonly [platformBrand]: true };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** Runs fn in one transaction as the app role with `app.tenant_id` set, so a query without a tenant filter still sees only this tenant. */
export function withTenantTx<T>(db: Database, tenantId: string, fn: (tx: TenantDb) => Promise<T>): Promise<T> {
  // The id is inlined (after a strict UUID check) so binding costs no extra round trip.
  return db.transaction((tx) => fn(asTenantDb(tx, tenantId)), tenantPreamble(tenantId));
}

/**
 * One round trip for a whole tenant-bound transaction: the preamble and `statements` (built with `sql`, values
 * inlined) run as one implicit transaction, all or nothing. For hot paths (login, /me) where each extra round trip
 * or PGlite call is measurable. Returns the statements' results, in order.
 */
export async function tenantBatch(db: Database, tenantId: string, ...statements: string[]): Promise<QueryResult<Record<string, unknown>>[]> {
  if (!isUuid(tenantId)) throw new TypeError('tenant id must be a UUID');
  // Concurrent batches go together (batch-group.ts): one call at a time on the embedded database, which runs one
  // anyway; a few at a time on PostgreSQL, whose server works on one while this process prepares the next.
  return groupOf(db).submit(tenantId, statements);
}

async function runTenantBatch(db: Database, preamble: string, statements: string[]): Promise<QueryResult<Record<string, unknown>>[]> {
  const results = await db.batch(`${preamble};\n${statements.join(';\n')}`);
  return results.slice(2);
}

const groups = new WeakMap<Database, ReturnType<typeof createBatchGroup>>();

/**
 * Measured (oidc-refresh on the local PostgreSQL, 16 chains): one group in flight 0.72 of oidc-provider's throughput,
 * two 0.82, four 0.81–0.88, none (every batch on its own connection) 0.56. Each node keeps at most this many, so a cluster
 * of nodes still spreads its work over the server's cores. Two groups that lock the same rows in opposite orders
 * (the same user signing in twice at once, in both) can deadlock: PostgreSQL aborts one, and its units run again one
 * by one, like any failed group.
 */
const POSTGRES_GROUPS_IN_FLIGHT = 4;

function groupOf(db: Database) {
  let g = groups.get(db);
  if (!g) {
    g = createBatchGroup((tenantId, statements) => runTenantBatch(db, tenantPreamble(tenantId), statements), {
      maxInFlight: db.kind === 'pglite' ? 1 : POSTGRES_GROUPS_IN_FLIGHT,
    });
    groups.set(db, g);
  }
  return g;
}

function tenantPreamble(tenantId: string): string {
  if (!isUuid(tenantId)) throw new TypeError('tenant id must be a UUID');
  return `SET LOCAL ROLE ${APP_ROLE}; SELECT set_config('app.tenant_id', '${tenantId.toLowerCase()}', true)`;
}

function asTenantDb(tx: Queryable, tenantId: string): TenantDb {
  return Object.assign(tx, { tenantId }) as unknown as TenantDb;
}

/**
 * Inside a platform transaction, drops to the app role bound to one tenant for the rest of it: how a tenant is
 * created together with its first admin, keys and audit record in one commit.
 */
export async function enterTenant(tx: PlatformDb, tenantId: string): Promise<TenantDb> {
  await tx.exec(tenantPreamble(tenantId));
  return asTenantDb(tx, tenantId);
}

/** The explicit platform-wide path: runs as the connecting (owner) role, without tenant binding. */
export function withPlatformTx<T>(db: Database, fn: (tx: PlatformDb) => Promise<T>): Promise<T> {
  return db.transaction((tx) => fn(tx as PlatformDb));
}

import { expect } from 'vitest';
import type { Database, Queryable } from '../../../src/db/database.ts';
import { APP_ROLE, withPlatformTx, withTenantTx } from '../../../src/db/tenant-tx.ts';

/** The tables the application stores per tenant today; discovery must find at least these. */
export const KNOWN_TENANT_TABLES = ['audit_events', 'refresh_tokens', 'sessions', 'signing_keys', 'users'];

/** Every table with a tenant_id column: a table added later is covered without touching the tests. */
export async function tenantTables(db: Database): Promise<string[]> {
  const r = await db.query<{ table_name: string }>(
    `SELECT c.table_name FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
     ORDER BY c.table_name`,
  );
  return r.rows.map((x) => x.table_name);
}

const ident = (name: string) => '"' + name.replaceAll('"', '""') + '"';

/** Row counts per tenant, read as the owner (outside RLS). */
export async function countsByTenant(db: Database, table: string): Promise<Map<string, number>> {
  const r = await withPlatformTx(db, (tx) =>
    tx.query<{ tenant_id: string; n: number }>(`SELECT tenant_id, count(*)::int AS n FROM ${ident(table)} GROUP BY tenant_id`),
  );
  return new Map(r.rows.map((x) => [x.tenant_id, x.n]));
}

async function insertableColumns(db: Database, table: string): Promise<string[]> {
  const r = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 AND is_identity = 'NO' AND is_generated = 'NEVER'
     ORDER BY ordinal_position`,
    [table],
  );
  return r.rows.map((x) => x.column_name);
}

/** Runs fn inside a savepoint and returns the error it raised (rolled back), or undefined. */
async function attempt(tx: Queryable, fn: () => Promise<unknown>): Promise<Error | undefined> {
  await tx.exec('SAVEPOINT rls_attempt');
  try {
    await fn();
    await tx.exec('RELEASE SAVEPOINT rls_attempt');
    return undefined;
  } catch (err) {
    await tx.exec('ROLLBACK TO SAVEPOINT rls_attempt');
    return err as Error;
  }
}

const RLS_VIOLATION = /row-level security/i;
const PERMISSION_DENIED = /permission denied/i;
class Rollback extends Error {}

/** Runs fn in a tenant transaction that is always rolled back, so destructive probes leave the data as it was. */
async function inRolledBackTenantTx(db: Database, tenantId: string, fn: (tx: Queryable) => Promise<void>) {
  await expect(
    withTenantTx(db, tenantId, async (tx) => {
      await fn(tx);
      throw new Rollback('rollback');
    }),
  ).rejects.toBeInstanceOf(Rollback);
}

async function appRoleMay(db: Database, table: string, privilege: string): Promise<boolean> {
  const r = await db.query<{ ok: boolean }>(`SELECT has_table_privilege($1, $2, $3) AS ok`, [APP_ROLE, table, privilege]);
  return r.rows[0]!.ok;
}

/**
 * The database-level guarantees, for every tenant table, given data of tenants A and B in each:
 * reads, writes, updates and deletes inside A's transaction touch only A's rows; rows for B are refused;
 * without a tenant binding the app role sees and writes nothing.
 */
export async function assertTenantIsolation(db: Database, a: string, b: string): Promise<void> {
  const tables = await tenantTables(db);
  expect(tables).toEqual(expect.arrayContaining(KNOWN_TENANT_TABLES));

  for (const table of tables) {
    const t = ident(table);
    const before = await countsByTenant(db, table);
    const nA = before.get(a) ?? 0;
    const nB = before.get(b) ?? 0;
    expect(nA, `the fixture has no rows of tenant A in ${table}: extend it so the table is exercised`).toBeGreaterThan(0);
    expect(nB, `the fixture has no rows of tenant B in ${table}: extend it so the table is exercised`).toBeGreaterThan(0);

    // Unfiltered reads see only A's rows; an explicit filter on B finds nothing.
    await withTenantTx(db, a, async (tx) => {
      const all = await tx.query<{ tenant_id: string }>(`SELECT * FROM ${t}`);
      expect(all.rows.length, `${table}: SELECT * in A's transaction`).toBe(nA);
      expect(new Set(all.rows.map((r) => r.tenant_id)), table).toEqual(new Set([a]));
      const other = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE tenant_id = $1`, [b]);
      expect(other.rows[0]!.n, `${table}: B's rows named explicitly`).toBe(0);
    });

    // Inserting a row for B inside A's transaction is refused by the policy, while the same row for A passes it.
    const cols = await insertableColumns(db, table);
    const list = cols.map(ident).join(', ');
    const select = cols.map((c) => (c === 'tenant_id' ? '$1::uuid' : ident(c))).join(', ');
    const copyAs = `INSERT INTO ${t} (${list}) SELECT ${select} FROM ${t} LIMIT 1`;
    await inRolledBackTenantTx(db, a, async (tx) => {
      const forB = await attempt(tx, () => tx.query(copyAs, [b]));
      expect(forB?.message, `${table}: INSERT with tenant_id = B inside A's transaction`).toMatch(RLS_VIOLATION);
      // The same statement for A gets past the policy (it may then hit a uniqueness rule: copies share keys).
      const forA = await attempt(tx, () => tx.query(copyAs, [a]));
      expect(forA?.message ?? '', `${table}: the control insert for A`).not.toMatch(RLS_VIOLATION);
      expect(forA?.message ?? '', `${table}: the control insert for A`).not.toMatch(PERMISSION_DENIED);
    });

    if (await appRoleMay(db, table, 'UPDATE')) {
      // UPDATE without a filter touches exactly A's rows, and cannot move a row to B.
      await inRolledBackTenantTx(db, a, async (tx) => {
        const r = await tx.query<{ tenant_id: string }>(`UPDATE ${t} SET tenant_id = tenant_id RETURNING tenant_id`);
        expect(r.rowCount, `${table}: unfiltered UPDATE`).toBe(nA);
        expect(new Set(r.rows.map((x) => x.tenant_id))).toEqual(new Set([a]));
        const move = await attempt(tx, () => tx.query(`UPDATE ${t} SET tenant_id = $1::uuid`, [b]));
        expect(move?.message, `${table}: moving A's rows to B`).toMatch(RLS_VIOLATION);
      });
    } else {
      await inRolledBackTenantTx(db, a, async (tx) => {
        const err = await attempt(tx, () => tx.query(`UPDATE ${t} SET tenant_id = tenant_id`));
        expect(err?.message, `${table}: UPDATE by the app role`).toMatch(PERMISSION_DENIED);
      });
    }

    if (await appRoleMay(db, table, 'DELETE')) {
      // DELETE without a filter removes exactly A's rows; B's are all still there afterwards (checked as owner).
      await inRolledBackTenantTx(db, a, async (tx) => {
        const r = await tx.query<{ tenant_id: string }>(`DELETE FROM ${t} RETURNING tenant_id`);
        expect(r.rowCount, `${table}: unfiltered DELETE`).toBe(nA);
        expect(new Set(r.rows.map((x) => x.tenant_id))).toEqual(new Set([a]));
        await tx.exec('RESET ROLE');
        const left = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t} WHERE tenant_id = $1`, [b]);
        expect(left.rows[0]!.n, `${table}: B's rows after A's unfiltered DELETE`).toBe(nB);
      });
    } else {
      await inRolledBackTenantTx(db, a, async (tx) => {
        const err = await attempt(tx, () => tx.query(`DELETE FROM ${t}`));
        expect(err?.message, `${table}: DELETE by the app role`).toMatch(PERMISSION_DENIED);
      });
    }

    // Outside any tenant binding the app role sees nothing and can write nothing.
    await withPlatformTx(db, async (tx) => {
      await tx.exec(`SET LOCAL ROLE ${APP_ROLE}`);
      const none = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`);
      expect(none.rows[0]!.n, `${table}: app role without app.tenant_id`).toBe(0);
      for (const value of ['', '00000000-0000-4000-8000-000000000000']) {
        await tx.query(`SELECT set_config('app.tenant_id', $1, true)`, [value]);
        const r = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`);
        expect(r.rows[0]!.n, `${table}: app role with app.tenant_id = '${value}'`).toBe(0);
      }
      await tx.exec('RESET ROLE');
    });

    // Nothing above changed any data.
    expect(await countsByTenant(db, table)).toEqual(before);
  }

  // Without a binding, an insert of a whole row (tenant_id given explicitly) is refused too.
  await withPlatformTx(db, async (tx) => {
    await tx.exec(`SET LOCAL ROLE ${APP_ROLE}`);
    const err = await attempt(tx, () =>
      tx.query(`INSERT INTO users (tenant_id, email) VALUES ($1, 'nobody@unbound.test')`, [a]),
    );
    expect(err?.message).toMatch(RLS_VIOLATION);
    await tx.exec('RESET ROLE');
  });
}

/** The app role cannot get around the policies: catalogue facts checked on the live database. */
export async function assertNoBypass(db: Database): Promise<void> {
  const role = (
    await db.query<{ rolsuper: boolean; rolbypassrls: boolean; rolcanlogin: boolean; rolcreaterole: boolean }>(
      `SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole FROM pg_roles WHERE rolname = $1`,
      [APP_ROLE],
    )
  ).rows[0];
  expect(role, `role ${APP_ROLE} exists`).toBeDefined();
  expect(role).toEqual({ rolsuper: false, rolbypassrls: false, rolcanlogin: false, rolcreaterole: false });

  const tables = await tenantTables(db);
  expect(tables).toEqual(expect.arrayContaining(KNOWN_TENANT_TABLES));
  for (const table of tables) {
    const c = (
      await db.query<{ owner: string; rls: boolean; forced: boolean; app_is_member: boolean }>(
        `SELECT pg_get_userbyid(c.relowner) AS owner, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
                pg_has_role($2, c.relowner, 'MEMBER') AS app_is_member
         FROM pg_class c WHERE c.oid = to_regclass($1)`,
        [table, APP_ROLE],
      )
    ).rows[0]!;
    expect(c.owner, `${table} owner`).not.toBe(APP_ROLE);
    expect(c.app_is_member, `${APP_ROLE} is a member of ${table}'s owner`).toBe(false);
    expect(c.rls, `${table}: row-level security enabled`).toBe(true);
    expect(c.forced, `${table}: row-level security forced (relforcerowsecurity)`).toBe(true);

    // Every policy that applies to the app role (or to PUBLIC) is the tenant policy, for every command.
    const policies = await db.query<{ policyname: string; roles: string[]; cmd: string; qual: string | null; with_check: string | null }>(
      `SELECT policyname, roles::text[] AS roles, cmd, qual, with_check FROM pg_policies
       WHERE schemaname = current_schema() AND tablename = $1`,
      [table],
    );
    const forApp = policies.rows.filter((p) => p.roles.includes('public') || p.roles.includes(APP_ROLE));
    expect(forApp.map((p) => p.policyname), `${table}: policies applying to the app role`).toEqual(['tenant_isolation']);
    const p = forApp[0]!;
    expect(p.cmd).toBe('ALL');
    expect(p.qual).toMatch(/app\.tenant_id/);
    expect(p.with_check).toMatch(/app\.tenant_id/);
  }

  // The audit trail is append-only for the app role; platform credentials are out of its reach entirely.
  for (const privilege of ['UPDATE', 'DELETE', 'TRUNCATE']) {
    expect(await appRoleMay(db, 'audit_events', privilege), `audit_events ${privilege}`).toBe(false);
  }
  expect(await appRoleMay(db, 'audit_events', 'INSERT')).toBe(true);
  for (const privilege of ['SELECT', 'INSERT', 'UPDATE', 'DELETE']) {
    expect(await appRoleMay(db, 'platform_credentials', privilege), `platform_credentials ${privilege}`).toBe(false);
  }
  for (const privilege of ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) {
    expect(await appRoleMay(db, 'tenants', privilege), `tenants ${privilege}`).toBe(false);
  }
  for (const table of tables) {
    expect(await appRoleMay(db, table, 'TRUNCATE'), `${table} TRUNCATE (would skip RLS)`).toBe(false);
  }
}

/** Even bound to the tenant that owns the rows, the app role cannot change or remove audit events. */
export async function assertAuditAppendOnly(db: Database, tenantId: string): Promise<void> {
  await inRolledBackTenantTx(db, tenantId, async (tx) => {
    const n = (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events')).rows[0]!.n;
    expect(n).toBeGreaterThan(0);
    for (const sql of [
      `UPDATE audit_events SET action = 'tampered'`,
      `UPDATE audit_events SET details = '{}' WHERE id = (SELECT min(id) FROM audit_events)`,
      `DELETE FROM audit_events`,
      `TRUNCATE audit_events`,
    ]) {
      const err = await attempt(tx, () => tx.query(sql));
      expect(err?.message, sql).toMatch(PERMISSION_DENIED);
    }
    const inserted = await attempt(tx, () =>
      tx.query(`INSERT INTO audit_events (actor_type, action) VALUES ('system', 'keys.rotated')`),
    );
    expect(inserted).toBeUndefined();
  });
}

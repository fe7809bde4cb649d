import { afterAll, describe, expect, it } from 'vitest';
import { backendName, openTestDatabase, TEST_PG } from '../../test/helpers/test-app.ts';
import type { Database } from './database.ts';
import { listMigrations, migrate } from './migrate.ts';
import { createPostgresDatabase } from './postgres.ts';

describe(`migrations (${backendName})`, () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
  });

  const appliedIds = async (db: Database) =>
    (await db.query<{ id: string }>('SELECT id FROM gatehouse_migrations ORDER BY id')).rows.map((r) => r.id);

  it('lists migrations in order with well-formed ids', () => {
    const all = listMigrations();
    expect(all.length).toBeGreaterThan(0);
    expect(all.map((m) => m.id)).toEqual([...all.map((m) => m.id)].sort());
    for (const m of all) expect(m.id).toMatch(/^\d{3}_[a-z0-9_]+$/);
  });

  it('applies every migration once; a second run applies nothing and changes nothing', async () => {
    const { db, close } = await openTestDatabase();
    closers.push(close);
    const all = listMigrations().map((m) => m.id);

    const first = await migrate(db);
    expect(first).toEqual({ applied: all, total: all.length });
    expect(await appliedIds(db)).toEqual(all);
    const tables = async () =>
      (await db.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`)).rows.map((r) => r.t);
    const policies = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_policies`)).rows[0]!.n;
    const tablesBefore = await tables();
    const policiesBefore = await policies();
    expect(tablesBefore).toEqual(expect.arrayContaining(['tenants', 'users', 'sessions', 'refresh_tokens', 'signing_keys', 'audit_events']));

    const second = await migrate(db);
    expect(second).toEqual({ applied: [], total: all.length });
    expect(await appliedIds(db)).toEqual(all);
    expect(await tables()).toEqual(tablesBefore);
    expect(await policies()).toBe(policiesBefore);

    // A third run after data exists is still a no-op and keeps the data.
    await db.query(`INSERT INTO tenants (slug, name) VALUES ('kept', 'Kept')`);
    expect((await migrate(db)).applied).toEqual([]);
    expect((await db.query(`SELECT 1 FROM tenants WHERE slug = 'kept'`)).rows).toHaveLength(1);
  });

  it('concurrent migrate runs on one database are safe: each migration applies exactly once', async () => {
    const { db, url, close } = await openTestDatabase();
    closers.push(close);
    // On PostgreSQL: separate pools, as nodes starting together would have. PGlite has one connection per
    // database, so there the runs share it and interleave their transactions.
    const nodes = TEST_PG ? Array.from({ length: 6 }, () => createPostgresDatabase(url!, { max: 2 })) : Array.from({ length: 6 }, () => db);
    try {
      const results = await Promise.all(nodes.map((n) => migrate(n)));
      const all = listMigrations().map((m) => m.id);
      const applied = results.flatMap((r) => r.applied).sort();
      expect(applied).toEqual(all);
      for (const r of results) expect(r.total).toBe(all.length);
      expect(await appliedIds(db)).toEqual(all);
      // And all nodes then agree there is nothing left to do.
      const again = await Promise.all(nodes.map((n) => migrate(n)));
      expect(again.flatMap((r) => r.applied)).toEqual([]);
    } finally {
      if (TEST_PG) await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('migrating several fresh databases at once is safe (on PostgreSQL the app role is shared by the cluster)', async () => {
    const dbs = await Promise.all(Array.from({ length: TEST_PG ? 4 : 2 }, () => openTestDatabase()));
    for (const d of dbs) closers.push(d.close);
    const results = await Promise.all(dbs.map((d) => migrate(d.db)));
    const all = listMigrations().map((m) => m.id);
    for (const r of results) expect(r.applied).toEqual(all);
  });
});

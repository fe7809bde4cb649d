import { chmodSync, mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { Database, Queryable, QueryResult } from './database.ts';

type Executor = Pick<PGlite, 'query' | 'exec'>;

function wrap(db: Executor): Queryable {
  return {
    async query<T>(sql: string, params?: unknown[]): Promise<QueryResult<T>> {
      const r = await db.query<T>(sql, params);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
  };
}

export interface PgliteOptions {
  /** Transactions and batches between two VACUUMs (default 2000; 0 = never). */
  vacuumEvery?: number;
  /** Start from this dump (PGlite's dumpDataDir) instead of a new cluster: tests load one migrated template. */
  loadDataDir?: Blob;
}

/** Seconds at least between two VACUUMs, however busy. */
const VACUUM_MIN_INTERVAL_MS = 5_000;

/**
 * PGlite has no autovacuum worker: every session, refresh rotation and login stamp leaves dead rows behind, and
 * scans over them grow without bound (measured: login p50 5 ms → 9 ms after 900 logins over 50 users, 3 ms after a
 * VACUUM). So the embedded database vacuums itself after every `every` units of work, at most every 5 s, queued
 * behind the work in flight like any other statement. Lazy VACUUM skips pages the visibility map says are clean.
 */
function embeddedAutovacuum(db: PGlite, every: number) {
  let ops = 0;
  let last = 0;
  let running = false;
  const state = { vacuums: 0 };
  return {
    state,
    note() {
      if (every <= 0 || ++ops < every || running || Date.now() - last < VACUUM_MIN_INTERVAL_MS) return;
      ops = 0;
      running = true;
      // ANALYZE too: without autovacuum nothing refreshes the planner's statistics either, and plans chosen for
      // empty tables (hash joins over a whole tenant's sessions) stay chosen as the tables grow.
      db.exec('VACUUM (ANALYZE)')
        .then(() => state.vacuums++)
        .catch(() => undefined)
        .finally(() => {
          running = false;
          last = Date.now();
        });
    },
  };
}

/** The embedded default: PostgreSQL compiled to WASM, one process per data directory (or in memory). */
export async function createPgliteDatabase(dataDir?: string, opts: PgliteOptions = {}): Promise<Database & { maintenance: { vacuums: number }; dump(): Promise<Blob> }> {
  if (dataDir) {
    // Owner only: PGlite writes its files world-readable and -writable (0666); the directory is what protects them.
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmodSync(dataDir, 0o700);
  }
  const db = opts.loadDataDir ? await PGlite.create(dataDir, { loadDataDir: opts.loadDataDir }) : await PGlite.create(dataDir);
  const vacuum = embeddedAutovacuum(db, opts.vacuumEvery ?? 2000);
  return {
    kind: 'pglite',
    ...wrap(db),
    maintenance: vacuum.state,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>, preamble?: string): Promise<T> {
      // PGlite serialises transactions itself; other queries wait for the lock.
      const r = await db.transaction(async (tx) => {
        if (preamble) await tx.exec(preamble);
        return fn(wrap(tx));
      });
      vacuum.note();
      return r;
    },
    async batch(sql: string) {
      const results = await db.exec(sql);
      vacuum.note();
      return results.map((r) => ({ rows: r.rows as Record<string, unknown>[], rowCount: r.affectedRows ?? r.rows.length }));
    },
    async close() {
      await db.close();
    },
    dump: () => db.dumpDataDir('none'),
  };
}

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

/** The embedded default: PostgreSQL compiled to WASM, one process per data directory (or in memory). */
export async function createPgliteDatabase(dataDir?: string): Promise<Database> {
  if (dataDir) {
    // Owner only: PGlite writes its files world-readable and -writable (0666); the directory is what protects them.
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmodSync(dataDir, 0o700);
  }
  const db = await PGlite.create(dataDir);
  return {
    kind: 'pglite',
    ...wrap(db),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>, preamble?: string): Promise<T> {
      // PGlite serialises transactions itself; other queries wait for the lock.
      return db.transaction(async (tx) => {
        if (preamble) await tx.exec(preamble);
        return fn(wrap(tx));
      });
    },
    async batch(sql: string) {
      const results = await db.exec(sql);
      return results.map((r) => ({ rows: r.rows as Record<string, unknown>[], rowCount: r.affectedRows ?? r.rows.length }));
    },
    async close() {
      await db.close();
    },
  };
}

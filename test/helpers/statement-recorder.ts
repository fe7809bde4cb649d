import type { Database, Queryable } from '../../src/db/database.ts';

/**
 * Records the SQL text of every statement run in a transaction on `db` while `fn` runs (the real statements, still
 * executed): how enumeration tests show that a known and an unknown address cost the same database work.
 */
export async function recordStatements(db: Database, fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const original = db.transaction;
  const mutable = db as { transaction: Database['transaction'] };
  mutable.transaction = <T>(body: (tx: Queryable) => Promise<T>, preamble?: string) =>
    original.call(db, (tx: Queryable) =>
      body({
        query: (sql, params) => {
          seen.push(sql.replace(/\s+/g, ' ').trim());
          return tx.query(sql, params);
        },
        exec: (sql) => tx.exec(sql),
      }),
      preamble,
    ) as Promise<T>;
  try {
    await fn();
  } finally {
    mutable.transaction = original;
  }
  return seen;
}

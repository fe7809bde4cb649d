import { describe, expect, it } from 'vitest';
import { createPgliteDatabase } from './pglite.ts';

describe('embedded database upkeep', () => {
  it('vacuums itself after enough work (PGlite has no autovacuum), and not when turned off', async () => {
    for (const every of [50, 0]) {
      const db = await createPgliteDatabase(undefined, { vacuumEvery: every });
      try {
        await db.exec('CREATE TABLE churn (id int PRIMARY KEY, v int); INSERT INTO churn SELECT g, 0 FROM generate_series(1, 100) g');
        for (let i = 0; i < 120; i++) await db.batch(`UPDATE churn SET v = v + 1`);
        // The VACUUM is queued behind the work: one more statement waits for it.
        await db.query('SELECT 1');
        const r = await db.query<{ last_vacuum: Date | null }>(`SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'churn'`);
        if (every > 0) {
          expect(db.maintenance.vacuums).toBeGreaterThanOrEqual(1);
          expect(r.rows[0]!.last_vacuum).not.toBeNull();
        } else {
          expect(db.maintenance.vacuums).toBe(0);
          expect(r.rows[0]!.last_vacuum).toBeNull();
        }
      } finally {
        await db.close();
      }
    }
  });
});

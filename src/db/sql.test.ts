import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDatabase } from './pglite.ts';
import type { Database } from './database.ts';
import { literal, sql } from './sql.ts';

describe('sql literal inlining', () => {
  let db: Database;
  beforeAll(async () => {
    db = await createPgliteDatabase();
  });
  afterAll(() => db.close());

  it('round-trips any string, including quotes, backslashes and SQL syntax, as one value', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary' }).filter((s) => !s.includes('\u0000') && !/\p{Cs}/u.test(s)), async (s) => {
        const [r] = await db.batch(sql`SELECT ${s}::text AS v`);
        expect(r!.rows).toEqual([{ v: s }]);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps injection attempts inert', async () => {
    for (const evil of ["x'; DROP TABLE t; --", "\\'; SELECT 1; --", "$$; SELECT 1; $$", "E'\\x27'"]) {
      const [r] = await db.batch(sql`SELECT ${evil}::text AS v, ${[evil, 'b']} AS a`);
      expect(r!.rows).toEqual([{ v: evil, a: [evil, 'b'] }]);
    }
  });

  it('inlines numbers, booleans, null, dates, text arrays and JSON objects', async () => {
    const d = new Date('2026-01-02T03:04:05.678Z');
    const [r] = await db.batch(sql`SELECT ${42}::int AS n, ${true}::boolean AS b, ${null}::text AS z, ${d}::timestamptz AS d, ${[]} AS e, ${{ k: "it's" }}::jsonb AS j`);
    expect(r!.rows[0]).toEqual({ n: 42, b: true, z: null, d, e: [], j: { k: "it's" } });
  });

  it('refuses what it cannot inline safely', () => {
    expect(() => literal(Number.NaN)).toThrow();
    expect(() => literal([1, 2])).toThrow();
    expect(() => literal(new Map())).toThrow();
    expect(() => literal(() => 1)).toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { createBatchGroup } from './batch-group.ts';

type Call = { tenantId: string; statements: string[] };

/** A fake database answering each statement with its own text after a while; 'FAIL' fails the call. */
function fakeDb() {
  const calls: Call[] = [];
  const run = async (tenantId: string, statements: string[]) => {
    calls.push({ tenantId, statements });
    await new Promise((r) => setTimeout(r, 5));
    if (statements.includes('FAIL')) throw new Error('statement failed');
    return statements.map((s) => ({ rows: [{ s }], rowCount: 1 }));
  };
  return { calls, run };
}

describe('batch group', () => {
  it('sends what arrives while a call is in flight as one call per tenant, and gives each caller its own results', async () => {
    const db = fakeDb();
    const g = createBatchGroup(db.run);
    const first = g.submit('a', ['a1']);
    await new Promise((r) => setImmediate(r));
    // The first call is in flight: these wait for it, then go as one call for a and one for b.
    const later = [g.submit('a', ['a2', 'a3']), g.submit('b', ['b1']), g.submit('a', ['a4'])];
    expect((await first).map((r) => r.rows[0])).toEqual([{ s: 'a1' }]);
    const [a23, b1, a4] = await Promise.all(later);
    expect(a23!.map((r) => r.rows[0])).toEqual([{ s: 'a2' }, { s: 'a3' }]);
    expect(b1!.map((r) => r.rows[0])).toEqual([{ s: 'b1' }]);
    expect(a4!.map((r) => r.rows[0])).toEqual([{ s: 'a4' }]);
    expect(db.calls).toEqual([
      { tenantId: 'a', statements: ['a1'] },
      { tenantId: 'a', statements: ['a2', 'a3', 'a4'] },
      { tenantId: 'b', statements: ['b1'] },
    ]);
  });

  it('with room for two calls in flight, the first two go at once and the rest wait to go together', async () => {
    const db = fakeDb();
    const g = createBatchGroup(db.run, { maxInFlight: 2 });
    const first = g.submit('a', ['a1']);
    await new Promise((r) => setImmediate(r));
    const second = g.submit('a', ['a2']);
    await new Promise((r) => setImmediate(r));
    const rest = [g.submit('a', ['a3']), g.submit('a', ['a4'])];
    await Promise.all([first, second, ...rest]);
    expect(db.calls.map((c) => c.statements)).toEqual([['a1'], ['a2'], ['a3', 'a4']]);
  });

  it('a failing unit fails alone: the group is run again unit by unit', async () => {
    const db = fakeDb();
    const g = createBatchGroup(db.run);
    const results = await Promise.allSettled([g.submit('a', ['ok1']), g.submit('a', ['FAIL']), g.submit('a', ['ok2'])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('statement failed');
    expect((results[2] as PromiseFulfilledResult<{ rows: unknown[] }[]>).value[0]!.rows).toEqual([{ s: 'ok2' }]);
    expect(db.calls.map((c) => c.statements)).toEqual([['ok1', 'FAIL', 'ok2'], ['ok1'], ['FAIL'], ['ok2']]);
  });

  it('refuses results that do not line up with the statements rather than hand a caller another caller’s rows', async () => {
    const g = createBatchGroup(async (_t, statements) => statements.slice(1).map(() => ({ rows: [], rowCount: 0 })));
    const results = await Promise.allSettled([g.submit('a', ['x']), g.submit('a', ['y'])]);
    expect(results.every((r) => r.status === 'rejected' && /2 statements/.test(String(r.reason)))).toBe(true);
  });
});

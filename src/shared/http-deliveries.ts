import type { Database } from '../db/database.ts';
import { withPlatformTx } from '../db/tenant-tx.ts';
import { EgressBlockedError } from '../security/egress.ts';

/**
 * What the outbound HTTP delivery workers (alert webhooks, back-channel logouts) share: their options, how due rows
 * are claimed across tenants, the retry schedule and how a failed request is described.
 */
export interface DeliveryWorkerOptions {
  /** First retry delay; doubles with each failed attempt (default 5 s). */
  baseBackoffMs?: number;
  /** Longest retry delay (default 1 h). */
  maxBackoffMs?: number;
  /** Attempts before a delivery is given up as failed (default 8). */
  maxAttempts?: number;
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
  /** Deliveries claimed per run (default 50). */
  batch?: number;
}

export interface DeliveryRunResult {
  attempted: number;
  delivered: number;
  retrying: number;
  failed: number;
}

export type DeliveryFailure = { ok: false; status: number | null; error: string; final?: boolean };

/** How long a claimed delivery is hidden from other workers while it is being sent (longer than any timeout). */
const CLAIM_LEASE_SECONDS = 300;

export function deliverySettings(opts: DeliveryWorkerOptions) {
  return {
    base: opts.baseBackoffMs ?? 5_000,
    max: opts.maxBackoffMs ?? 3_600_000,
    maxAttempts: opts.maxAttempts ?? 8,
    timeoutMs: opts.timeoutMs ?? 5_000,
    batch: opts.batch ?? 50,
  };
}

/**
 * Claims the due rows of an outbox table across tenants in one statement: SKIP LOCKED, and a lease on
 * next_attempt_at so another node's run does not pick them up while they are in flight. `table` and `columns` are
 * the callers' constants, never input.
 */
export async function claimDueDeliveries<T>(db: Database, table: 'webhook_deliveries' | 'backchannel_logouts', columns: string, batch: number): Promise<T[]> {
  const r = await withPlatformTx(db, (tx) =>
    tx.query<T>(
      `UPDATE ${table} SET next_attempt_at = now() + make_interval(secs => $2::int)
       WHERE id IN (
         SELECT id FROM ${table} WHERE status = 'pending' AND next_attempt_at <= now()
         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING ${columns}`,
      [batch, CLAIM_LEASE_SECONDS],
    ),
  );
  return r.rows;
}

/** Counts an attempt into the run's result; says whether it was the last one and when the next would be. */
export function tallyAttempt(
  result: DeliveryRunResult,
  s: ReturnType<typeof deliverySettings>,
  previousAttempts: number,
  outcome: { ok: boolean; final?: boolean },
): { attempts: number; final: boolean; delaySeconds: number } {
  const attempts = previousAttempts + 1;
  const final = !outcome.ok && (attempts >= s.maxAttempts || !!outcome.final);
  result.attempted++;
  if (outcome.ok) result.delivered++;
  else if (final) result.failed++;
  else result.retrying++;
  return { attempts, final, delaySeconds: Math.min(s.base * 2 ** previousAttempts, s.max) / 1000 };
}

/** A request that threw: a blocked private destination is final (the URL must change); the rest are retried. */
export function requestFailure(err: unknown, timeoutMs: number): DeliveryFailure {
  const e = err as Error & { code?: string };
  if (e instanceof EgressBlockedError) return { ok: false, status: null, error: e.message, final: true };
  const error = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (e.code ?? e.message ?? 'request failed');
  return { ok: false, status: null, error };
}

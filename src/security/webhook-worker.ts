import { createHmac } from 'node:crypto';
import type { Gatehouse } from '../context.ts';
import { withPlatformTx, withTenantTx } from '../db/tenant-tx.ts';
import { EgressBlockedError, postGuarded } from './egress.ts';
import { startPeriodic } from '../shared/periodic.ts';

export interface WebhookWorkerOptions {
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

export interface WebhookRunResult {
  attempted: number;
  delivered: number;
  retrying: number;
  failed: number;
}

/** How long a claimed delivery is hidden from other workers while it is being sent (longer than any timeout). */
const CLAIM_LEASE_SECONDS = 300;

/** The signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the endpoint secret>`. */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export function webhookSecretContext(tenantId: string): string {
  return `webhook:${tenantId}`;
}

interface Claimed {
  id: string;
  tenant_id: string;
  url: string;
  payload: unknown;
  attempts: number;
}

/**
 * Sends the security-alert webhooks that are due, across tenants. Due deliveries are claimed in one statement
 * (SKIP LOCKED, and a lease on next_attempt_at so another node's run does not pick them up while they are in
 * flight), then sent outside any transaction; each outcome is recorded in the delivery's tenant transaction.
 */
export async function deliverDueWebhooks(gh: Gatehouse, opts: WebhookWorkerOptions = {}): Promise<WebhookRunResult> {
  const base = opts.baseBackoffMs ?? 5_000;
  const max = opts.maxBackoffMs ?? 3_600_000;
  const maxAttempts = opts.maxAttempts ?? 8;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const claimed = await withPlatformTx(gh.db, (tx) =>
    tx.query<Claimed>(
      `UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $2::int)
       WHERE id IN (
         SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id, tenant_id, url, payload, attempts`,
      [opts.batch ?? 50, CLAIM_LEASE_SECONDS],
    ),
  );
  const result: WebhookRunResult = { attempted: 0, delivered: 0, retrying: 0, failed: 0 };
  await Promise.all(
    claimed.rows.map(async (d) => {
      const outcome = await deliverOne(gh, d, timeoutMs);
      const attempts = d.attempts + 1;
      result.attempted++;
      if (outcome.ok) {
        result.delivered++;
      } else if (attempts >= maxAttempts || outcome.final) {
        result.failed++;
      } else {
        result.retrying++;
      }
      const delayMs = Math.min(base * 2 ** d.attempts, max);
      await withTenantTx(gh.db, d.tenant_id, (tx) =>
        tx.query(
          outcome.ok
            ? `UPDATE webhook_deliveries SET status = 'delivered', attempts = $2, last_status = $3, last_error = NULL,
                 delivered_at = now(), url = coalesce($4, url) WHERE id = $1`
            : `UPDATE webhook_deliveries SET attempts = $2, last_status = $3, last_error = $4, url = coalesce($5, url),
                 status = CASE WHEN $6::boolean THEN 'failed' ELSE 'pending' END,
                 next_attempt_at = now() + make_interval(secs => $7::double precision) WHERE id = $1`,
          outcome.ok
            ? [d.id, attempts, outcome.status, outcome.url]
            : [d.id, attempts, outcome.status, outcome.error.slice(0, 500), outcome.url, attempts >= maxAttempts || !!outcome.final, delayMs / 1000],
        ),
      );
      // Never the secret, the signature or the body: the delivery id and its outcome only.
      gh.logger.debug({ delivery: d.id, tenant: d.tenant_id, status: outcome.status, ok: outcome.ok, attempts }, 'alert webhook attempt');
    }),
  );
  return result;
}

type Outcome =
  | { ok: true; status: number; url: string | null }
  | { ok: false; status: number | null; error: string; url: string | null; final?: boolean };

async function deliverOne(gh: Gatehouse, d: Claimed, timeoutMs: number): Promise<Outcome> {
  // The tenant's current endpoint: a replaced endpoint gets the pending alerts, signed with its own secret.
  const endpoint = (
    await withTenantTx(gh.db, d.tenant_id, (tx) =>
      tx.query<{ url: string; secret_enc: string; enabled: boolean }>('SELECT url, secret_enc, enabled FROM webhook_endpoints'),
    )
  ).rows[0];
  if (!endpoint || !endpoint.enabled) return { ok: false, status: null, error: 'webhook endpoint removed', url: null, final: true };
  let secret: string;
  try {
    secret = gh.sealer.open(endpoint.secret_enc, webhookSecretContext(d.tenant_id));
  } catch {
    return { ok: false, status: null, error: 'webhook secret cannot be opened', url: endpoint.url, final: true };
  }
  const body = JSON.stringify(d.payload);
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const res = await postGuarded(
      endpoint.url,
      {
        'content-type': 'application/json',
        'user-agent': 'Gatehouse-Webhook/1',
        'x-gatehouse-event': 'security.alert',
        'x-gatehouse-delivery': d.id,
        'x-gatehouse-signature': signWebhook(secret, body, timestamp),
      },
      body,
      { timeoutMs, allowPrivate: gh.config.webhookAllowPrivate },
    );
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, url: endpoint.url };
    return { ok: false, status: res.status, error: `HTTP ${res.status}`, url: endpoint.url };
  } catch (err) {
    const e = err as Error & { code?: string };
    // A private destination stays private: retrying cannot help, the endpoint must change.
    if (e instanceof EgressBlockedError) return { ok: false, status: null, error: e.message, url: endpoint.url, final: true };
    const error = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (e.code ?? e.message ?? 'request failed');
    return { ok: false, status: null, error, url: endpoint.url };
  }
}

/** Runs deliverDueWebhooks every intervalMs (never two runs at once); stop() waits for a run in flight. */
export function startWebhookWorker(gh: Gatehouse, intervalMs: number, opts: WebhookWorkerOptions = {}): { stop(): Promise<void> } {
  return startPeriodic(
    intervalMs,
    () => deliverDueWebhooks(gh, opts),
    (err) => gh.logger.warn({ err: { message: (err as Error).message } }, 'alert webhook delivery failed'),
  );
}

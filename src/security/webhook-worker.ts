import { createHmac } from 'node:crypto';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { postGuarded } from './egress.ts';
import {
  claimDueDeliveries,
  deliverySettings,
  requestFailure,
  tallyAttempt,
  type DeliveryFailure,
  type DeliveryRunResult,
  type DeliveryWorkerOptions,
} from '../shared/http-deliveries.ts';
import { startPeriodic } from '../shared/periodic.ts';

export type WebhookWorkerOptions = DeliveryWorkerOptions;
export type WebhookRunResult = DeliveryRunResult;

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
  const settings = deliverySettings(opts);
  const claimed = await claimDueDeliveries<Claimed>(gh.db, 'webhook_deliveries', 'id, tenant_id, url, payload, attempts', settings.batch);
  const result: WebhookRunResult = { attempted: 0, delivered: 0, retrying: 0, failed: 0 };
  await Promise.all(
    claimed.map(async (d) => {
      const outcome = await deliverOne(gh, d, settings.timeoutMs);
      const { attempts, final, delaySeconds } = tallyAttempt(result, settings, d.attempts, outcome);
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
            : [d.id, attempts, outcome.status, outcome.error.slice(0, 500), outcome.url, final, delaySeconds],
        ),
      );
      // Never the secret, the signature or the body: the delivery id and its outcome only.
      gh.logger.debug({ delivery: d.id, tenant: d.tenant_id, status: outcome.status, ok: outcome.ok, attempts }, 'alert webhook attempt');
    }),
  );
  return result;
}

type Outcome = { ok: true; status: number; url: string | null } | (DeliveryFailure & { url: string | null });

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
    return { ...requestFailure(err, timeoutMs), url: endpoint.url };
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

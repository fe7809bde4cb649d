import { recordAudit } from '../../audit/audit.ts';
import type { Gatehouse } from '../../context.ts';
import { withPlatformTx, withTenantTx } from '../../db/tenant-tx.ts';
import { postGuarded } from '../../security/egress.ts';
import {
  claimDueDeliveries,
  deliverySettings,
  requestFailure,
  tallyAttempt,
  type DeliveryFailure,
  type DeliveryRunResult,
  type DeliveryWorkerOptions,
} from '../../shared/http-deliveries.ts';
import { startPeriodic } from '../../shared/periodic.ts';
import { signLogoutToken } from './logout-token.ts';

export type BackchannelWorkerOptions = DeliveryWorkerOptions;
export type BackchannelRunResult = DeliveryRunResult;

interface Claimed {
  id: string;
  tenant_id: string;
  client_id: string;
  user_id: string;
  sid: string;
  attempts: number;
}

type Outcome = { ok: true; status: number } | DeliveryFailure;

/**
 * Delivers the Back-Channel Logouts that are due, across tenants, in the style of the alert webhooks: claimed in one
 * statement (SKIP LOCKED, and a lease on next_attempt_at so another node's run does not pick them up while in
 * flight), sent outside any transaction, each outcome recorded in its tenant's transaction. A crash between claim and
 * record only delays a logout by the lease (the client may then get it twice, never zero times). A logout given up
 * is audited (`oauth.backchannel_logout.failed`): the user may still be signed in at that application.
 */
export async function deliverDueBackchannelLogouts(gh: Gatehouse, opts: BackchannelWorkerOptions = {}): Promise<BackchannelRunResult> {
  const settings = deliverySettings(opts);
  const claimed = await claimDueDeliveries<Claimed>(gh.db, 'backchannel_logouts', 'id, tenant_id, client_id, user_id, sid, attempts', settings.batch);
  const result: BackchannelRunResult = { attempted: 0, delivered: 0, retrying: 0, failed: 0 };
  await Promise.all(
    claimed.map(async (l) => {
      // A failure of our own (keys, database) is retried like the client's.
      const outcome = await deliverOne(gh, l, settings.timeoutMs).catch((err): Outcome => ({ ok: false, status: null, error: `not sent: ${(err as Error).message}` }));
      const { attempts, final, delaySeconds } = tallyAttempt(result, settings, l.attempts, outcome);
      await withTenantTx(gh.db, l.tenant_id, async (tx) => {
        if (outcome.ok) {
          await tx.query(
            `UPDATE backchannel_logouts SET status = 'delivered', attempts = $2, last_status = $3, last_error = NULL, delivered_at = now() WHERE id = $1`,
            [l.id, attempts, outcome.status],
          );
          return;
        }
        const error = outcome.error.slice(0, 500);
        await tx.query(
          `UPDATE backchannel_logouts SET attempts = $2, last_status = $3, last_error = $4,
             status = CASE WHEN $5::boolean THEN 'failed' ELSE 'pending' END,
             next_attempt_at = now() + make_interval(secs => $6::double precision) WHERE id = $1`,
          [l.id, attempts, outcome.status, error, final, delaySeconds],
        );
        if (final) {
          await recordAudit(tx, { actorType: 'system' }, {
            action: 'oauth.backchannel_logout.failed',
            subjectId: l.user_id,
            risk: 'medium',
            details: { client_id: l.client_id, sid: l.sid, attempts, last_status: outcome.status, error },
          });
        }
      });
      // Never the token: the logout's id and its outcome only.
      gh.logger.debug({ logout: l.id, tenant: l.tenant_id, client: l.client_id, status: outcome.status, ok: outcome.ok, attempts, final }, 'back-channel logout attempt');
    }),
  );
  return result;
}

async function deliverOne(gh: Gatehouse, l: Claimed, timeoutMs: number): Promise<Outcome> {
  const tenant = await gh.tenants.byId(l.tenant_id);
  if (!tenant) return { ok: false, status: null, error: 'tenant no longer exists', final: true };
  // The client's current URI: a changed one gets the pending logouts; a removed one ends them.
  const uri = (
    await withTenantTx(gh.db, l.tenant_id, (tx) =>
      tx.query<{ backchannel_logout_uri: string | null }>('SELECT backchannel_logout_uri FROM oauth_clients WHERE client_id = $1', [l.client_id]),
    )
  ).rows[0]?.backchannel_logout_uri;
  if (!uri) return { ok: false, status: null, error: 'backchannel_logout_uri removed', final: true };
  const token = await signLogoutToken(gh, tenant, { clientId: l.client_id, sub: l.user_id, sid: l.sid });
  try {
    const res = await postGuarded(
      uri,
      { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Gatehouse-Backchannel-Logout/1' },
      new URLSearchParams({ logout_token: token }).toString(),
      // Client-registered URLs, as jwks_uri: private and loopback hosts only where the operator allows them.
      { timeoutMs, allowPrivate: gh.config.jwksAllowPrivate },
    );
    // §2.8: 200 is success; 204 as well, as most relying parties answer.
    if (res.status === 200 || res.status === 204) return { ok: true, status: res.status };
    return { ok: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    return requestFailure(err, timeoutMs);
  }
}

/** Days a delivered or failed logout is kept (its attempts and last error, for support). */
export const BACKCHANNEL_RETENTION_DAYS = 30;

export async function cleanupBackchannelLogouts(gh: Gatehouse): Promise<number> {
  const r = await withPlatformTx(gh.db, (tx) =>
    tx.query(`DELETE FROM backchannel_logouts WHERE status <> 'pending' AND created_at < now() - make_interval(days => $1::int)`, [BACKCHANNEL_RETENTION_DAYS]),
  );
  return r.rowCount;
}

const CLEANUP_EVERY_MS = 3_600_000;

/** Runs deliverDueBackchannelLogouts every intervalMs (never two runs at once), the clean-up hourly; stop() waits for a run in flight. */
export function startBackchannelWorker(gh: Gatehouse, intervalMs: number, opts: BackchannelWorkerOptions = {}): { stop(): Promise<void> } {
  let lastCleanup = 0;
  return startPeriodic(
    intervalMs,
    async () => {
      if (Date.now() - lastCleanup >= CLEANUP_EVERY_MS) {
        lastCleanup = Date.now();
        await cleanupBackchannelLogouts(gh);
      }
      await deliverDueBackchannelLogouts(gh, opts);
    },
    (err) => gh.logger.warn({ err: { message: (err as Error).message } }, 'back-channel logout run failed'),
  );
}

import type { TenantDb } from '../../db/tenant-tx.ts';
import { newestFirstPage } from '../../shared/cursor.ts';

/** The statuses of migration 018's CHECK: waiting for (another) attempt, answered 200/204, given up. */
export const BACKCHANNEL_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type BackchannelStatus = (typeof BACKCHANNEL_STATUSES)[number];

/**
 * One queued Back-Channel Logout as a tenant admin sees it. The Logout Token is signed at each attempt and never
 * stored, so there is none to show; last_error is the worker's description of the last failed attempt
 * ("HTTP 503", "timed out after 5000 ms", "127.0.0.1 is not a public address").
 */
export const backchannelLogoutSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    user_id: { type: 'string', description: 'The Logout Token’s sub' },
    sid: { type: 'string', description: 'The Logout Token’s sid: the session the client’s ID tokens carried' },
    reason: { type: 'string', description: 'Why the session ended (logout, admin_revoked, evicted, ...)' },
    status: { type: 'string', enum: [...BACKCHANNEL_STATUSES] },
    attempts: { type: 'integer' },
    last_status: { type: ['integer', 'null'], description: 'HTTP status of the last attempt; null when no answer came' },
    last_error: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    next_attempt_at: { type: 'string', format: 'date-time', description: 'When a pending logout is tried again' },
    delivered_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export const backchannelLogoutQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: [...BACKCHANNEL_STATUSES] },
    cursor: { type: 'string', maxLength: 200 },
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
  },
} as const;

/**
 * A page of one client's Back-Channel Logouts, newest first, keyset on (created_at, id) as the other admin lists.
 * Columns are named, never `*`: nothing the worker may store later leaks by default.
 */
export async function listBackchannelLogouts(
  tx: TenantDb,
  clientId: string,
  q: { status?: BackchannelStatus; cursor?: string; limit?: number },
): Promise<{ deliveries: Record<string, unknown>[]; next_cursor: string | null }> {
  const { rows, next_cursor } = await newestFirstPage<{ id: string }>(
    tx,
    'backchannel_logouts',
    'id, user_id, sid, reason, status, attempts, last_status, last_error, created_at, next_attempt_at, delivered_at',
    { client_id: clientId, status: q.status },
    q.cursor,
    q.limit ?? 50,
  );
  return { deliveries: rows, next_cursor };
}

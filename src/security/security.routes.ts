import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { namesPrivateHost } from './egress.ts';
import { AppError } from '../errors/app-error.ts';
import { auditContext, authenticate, noContent } from '../http/request-context.ts';
import { requireAdminStepUp } from '../mfa/step-up.ts';
import { bearerSecurity, errorResponses, uuidField } from '../http/schemas.ts';
import { newestFirstPage as page } from '../shared/cursor.ts';
import { randomToken } from '../shared/crypto.ts';
import { ALERT_COLUMNS, ALERT_STATUSES, ALERT_TYPES, type AlertRow, type AlertStatus, type AlertType } from './alerts.ts';
import { webhookSecretContext } from './webhook-worker.ts';


const alertSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string', enum: [...ALERT_TYPES] },
    severity: { type: 'string' },
    status: { type: 'string', enum: [...ALERT_STATUSES] },
    user_id: { type: ['string', 'null'] },
    details: { type: 'object', additionalProperties: true },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    acknowledged_by: { type: ['string', 'null'] },
    acknowledged_at: { type: ['string', 'null'], format: 'date-time' },
    resolved_by: { type: ['string', 'null'] },
    resolved_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

const deliverySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    alert_id: { type: 'string' },
    url: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    attempts: { type: 'integer' },
    next_attempt_at: { type: 'string', format: 'date-time' },
    last_status: { type: ['integer', 'null'] },
    last_error: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    delivered_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

const pageQuery = {
  cursor: { type: 'string', maxLength: 200 },
  limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
} as const;

/**
 * Only http(s), without credentials, and (unless GATEHOUSE_WEBHOOK_ALLOW_PRIVATE) not an address literal or
 * `localhost` outside the public internet. A DNS name is checked again on every delivery, on the address dialled
 * (src/security/egress.ts), so a name that resolves inside the network is refused there.
 */
function webhookUrl(value: string, allowPrivate: boolean): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    u = undefined as never;
  }
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || !u.hostname) {
    throw new AppError('VALIDATION_ERROR', {
      message: 'The request is invalid: url must be an http(s) URL without credentials',
      details: [{ field: 'url', message: 'must be an http(s) URL without credentials' }],
    });
  }
  if (!allowPrivate && namesPrivateHost(u)) {
    throw new AppError('VALIDATION_ERROR', {
      message: 'The request is invalid: url must point to a public address',
      details: [{ field: 'url', message: 'must point to a public address, not a loopback, private or reserved one' }],
    });
  }
  return u.toString();
}

export async function securityRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const secured = { security: bearerSecurity, tags: ['security'] };

  app.get<{ Querystring: { status?: AlertStatus; type?: AlertType; cursor?: string; limit?: number } }>(
    '/admin/security/alerts',
    {
      schema: {
        ...secured,
        summary: 'Security alerts, newest first (cursor pagination)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: [...ALERT_STATUSES] }, type: { type: 'string', enum: [...ALERT_TYPES] }, ...pageQuery },
        },
        response: {
          200: { type: 'object', properties: { alerts: { type: 'array', items: alertSchema }, next_cursor: { type: ['string', 'null'] } } },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => {
      await authenticate(gh, request, 'audit:read');
      const q = request.query;
      const r = await withTenantTx(gh.db, request.tenant!.id, (tx) =>
        page<AlertRow>(tx, 'security_alerts', ALERT_COLUMNS, { status: q.status, type: q.type }, q.cursor, q.limit ?? 50),
      );
      return { alerts: r.rows, next_cursor: r.next_cursor };
    },
  );

  app.patch<{ Params: { id: string }; Body: { status: 'acknowledged' | 'resolved' } }>(
    '/admin/security/alerts/:id',
    {
      schema: {
        ...secured,
        summary: 'Acknowledge or resolve a security alert',
        params: { type: 'object', properties: { id: uuidField } },
        body: {
          type: 'object',
          required: ['status'],
          additionalProperties: false,
          properties: { status: { type: 'string', enum: ['acknowledged', 'resolved'] } },
        },
        response: { 200: alertSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const claims = await authenticate(gh, request, 'tenant:manage');
      await requireAdminStepUp(gh, request);
      const { status } = request.body;
      return withTenantTx(gh.db, request.tenant!.id, async (tx) => {
        const current = (await tx.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM security_alerts WHERE id = $1 FOR UPDATE`, [request.params.id])).rows[0];
        if (!current) throw new AppError('NOT_FOUND', { message: 'Security alert not found.' });
        if (current.status === status) return current;
        if (current.status === 'resolved') {
          throw new AppError('VALIDATION_ERROR', {
            message: 'The request is invalid: a resolved alert stays resolved',
            details: [{ field: 'status', message: 'a resolved alert stays resolved' }],
          });
        }
        const sql =
          status === 'acknowledged'
            ? `UPDATE security_alerts SET status = 'acknowledged', acknowledged_by = $2, acknowledged_at = now(), updated_at = now()
               WHERE id = $1 RETURNING ${ALERT_COLUMNS}`
            : `UPDATE security_alerts SET status = 'resolved', resolved_by = $2, resolved_at = now(), updated_at = now()
               WHERE id = $1 RETURNING ${ALERT_COLUMNS}`;
        const updated = (await tx.query<AlertRow>(sql, [current.id, claims.sub])).rows[0]!;
        await recordAudit(tx, auditContext(request), {
          action: status === 'acknowledged' ? 'security.alert_acknowledged' : 'security.alert_resolved',
          subjectId: current.user_id,
          details: { alert_id: current.id, type: current.type, from: current.status, to: status },
        });
        return updated;
      });
    },
  );

  const webhookSchema = { type: 'object', properties: { url: { type: 'string' }, enabled: { type: 'boolean' }, created_at: { type: 'string', format: 'date-time' } } } as const;

  app.get(
    '/admin/security/webhook',
    { schema: { ...secured, summary: 'The security-alert webhook (without its secret)', response: { 200: webhookSchema, ...errorResponses(401, 403, 404) } } },
    async (request) => {
      await authenticate(gh, request, 'audit:read');
      const row = (
        await withTenantTx(gh.db, request.tenant!.id, (tx) => tx.query('SELECT url, enabled, created_at FROM webhook_endpoints'))
      ).rows[0];
      if (!row) throw new AppError('NOT_FOUND', { message: 'No security webhook is configured.' });
      return row;
    },
  );

  app.put<{ Body: { url: string } }>(
    '/admin/security/webhook',
    {
      schema: {
        ...secured,
        summary: 'Set the security-alert webhook; answers a new signing secret, shown once',
        body: { type: 'object', required: ['url'], additionalProperties: false, properties: { url: { type: 'string', minLength: 8, maxLength: 2048 } } },
        response: { 200: { type: 'object', properties: { url: { type: 'string' }, secret: { type: 'string' } } }, ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      await authenticate(gh, request, 'tenant:manage');
      await requireAdminStepUp(gh, request);
      const tenant = request.tenant!;
      const url = webhookUrl(request.body.url, gh.config.webhookAllowPrivate);
      const secret = randomToken(32, 'whsec_');
      const sealed = gh.sealer.seal(secret, webhookSecretContext(tenant.id));
      await withTenantTx(gh.db, tenant.id, async (tx) => {
        await tx.query(
          `INSERT INTO webhook_endpoints (url, secret_enc) VALUES ($1, $2)
           ON CONFLICT (tenant_id) DO UPDATE SET url = EXCLUDED.url, secret_enc = EXCLUDED.secret_enc, enabled = true`,
          [url, sealed],
        );
        await recordAudit(tx, auditContext(request), { action: 'security.webhook_updated', risk: 'medium', details: { url } });
      });
      return { url, secret };
    },
  );

  app.delete(
    '/admin/security/webhook',
    { schema: { ...secured, summary: 'Remove the security-alert webhook', response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404) } } },
    async (request, reply) => {
      await authenticate(gh, request, 'tenant:manage');
      await requireAdminStepUp(gh, request);
      await withTenantTx(gh.db, request.tenant!.id, async (tx) => {
        const r = await tx.query<{ url: string }>('DELETE FROM webhook_endpoints RETURNING url');
        if (r.rows.length === 0) throw new AppError('NOT_FOUND', { message: 'No security webhook is configured.' });
        await recordAudit(tx, auditContext(request), { action: 'security.webhook_deleted', risk: 'medium', details: { url: r.rows[0]!.url } });
      });
      return noContent(reply);
    },
  );

  app.get<{ Querystring: { status?: 'pending' | 'delivered' | 'failed'; cursor?: string; limit?: number } }>(
    '/admin/security/webhook/deliveries',
    {
      schema: {
        ...secured,
        summary: 'The webhook delivery log, newest first (cursor pagination)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: ['pending', 'delivered', 'failed'] }, ...pageQuery },
        },
        response: {
          200: { type: 'object', properties: { deliveries: { type: 'array', items: deliverySchema }, next_cursor: { type: ['string', 'null'] } } },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => {
      await authenticate(gh, request, 'audit:read');
      const q = request.query;
      const r = await withTenantTx(gh.db, request.tenant!.id, (tx) =>
        page<{ id: string }>(
          tx,
          'webhook_deliveries',
          'id, alert_id, url, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at',
          { status: q.status },
          q.cursor,
          q.limit ?? 50,
        ),
      );
      return { deliveries: r.rows, next_cursor: r.next_cursor };
    },
  );
}

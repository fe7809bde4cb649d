import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { authenticate } from '../http/request-context.ts';
import { AppError } from '../errors/app-error.ts';
import { parseStorableDate } from '../shared/cursor.ts';
import { bearerSecurity, errorResponses, uuidField } from '../http/schemas.ts';
import { queryAudit } from './audit.ts';

/** A time-range bound the database can compare with (the date-time format alone admits year 0). */
function dateParam(value: string, field: string): Date {
  const d = parseStorableDate(value);
  if (!d) throw new AppError('VALIDATION_ERROR', { message: `The request is invalid: ${field} is out of range`, details: [{ field, message: 'must be between years 1 and 9999' }] });
  return d;
}

const auditEventSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    actor_type: { type: 'string' },
    actor_id: { type: ['string', 'null'] },
    subject_id: { type: ['string', 'null'] },
    action: { type: 'string' },
    ip: { type: ['string', 'null'] },
    user_agent: { type: ['string', 'null'] },
    request_id: { type: ['string', 'null'] },
    details: { type: 'object', additionalProperties: true },
    risk: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

export async function auditRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  app.get<{ Querystring: { action?: string; user_id?: string; from?: string; to?: string; cursor?: string; limit?: number } }>(
    '/admin/audit',
    {
      schema: {
        tags: ['admin'],
        security: bearerSecurity,
        summary: 'Audit events, newest first; filter by action (a trailing * matches a prefix), user and time range',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            action: { type: 'string', maxLength: 100, pattern: '^[a-z_.]+\\*?$' },
            user_id: uuidField,
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            cursor: { type: 'string', pattern: '^[0-9]{1,18}$' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
          },
        },
        response: {
          200: { type: 'object', properties: { events: { type: 'array', items: auditEventSchema }, next_cursor: { type: ['string', 'null'] } } },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => {
      await authenticate(gh, request, 'audit:read');
      const q = request.query;
      return withTenantTx(gh.db, request.tenant!.id, (tx) =>
        queryAudit(tx, {
          action: q.action,
          userId: q.user_id,
          from: q.from ? dateParam(q.from, 'from') : undefined,
          to: q.to ? dateParam(q.to, 'to') : undefined,
          before: q.cursor ? Number(q.cursor) : undefined,
          limit: q.limit ?? 100,
        }),
      );
    },
  );
}

import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { authenticate } from '../http/request-context.ts';
import { bearerSecurity, errorResponses } from '../http/schemas.ts';
import { newestFirstPage } from '../shared/cursor.ts';
import { mailBodyContext } from './outbox.ts';

const messageSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    to: { type: 'string' },
    template: { type: 'string' },
    locale: { type: 'string' },
    subject: { type: 'string' },
    status: { type: 'string', enum: ['queued', 'sent', 'failed', 'logged'] },
    attempts: { type: 'integer' },
    last_error: { type: ['string', 'null'] },
    next_attempt_at: { type: 'string', format: 'date-time' },
    created_at: { type: 'string', format: 'date-time' },
    sent_at: { type: ['string', 'null'], format: 'date-time' },
    text: { type: 'string', description: 'The plain-text body: only while no SMTP is configured (development), so a newcomer can follow the links' },
  },
} as const;

interface OutboxRow {
  id: string;
  to_address: string;
  template: string;
  locale: string;
  subject: string;
  status: string;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date;
  created_at: Date;
  sent_at: Date | null;
  body_enc: string | null;
}

export async function mailOutboxRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  app.get<{ Querystring: { status?: string; cursor?: string; limit?: number } }>(
    '/admin/mail/outbox',
    {
      schema: {
        security: bearerSecurity,
        tags: ['admin'],
        summary: "The tenant's mail outbox, newest first: delivery status, attempts and last error per message",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['queued', 'sent', 'failed', 'logged'] },
            cursor: { type: 'string', maxLength: 200 },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
          },
        },
        response: {
          200: { type: 'object', properties: { messages: { type: 'array', items: messageSchema }, next_cursor: { type: ['string', 'null'] } } },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => {
      await authenticate(gh, request, 'tenant:manage');
      const tenant = request.tenant!;
      const q = request.query;
      const { page, ownSmtp } = await withTenantTx(gh.db, tenant.id, async (tx) => ({
        page: await newestFirstPage<OutboxRow>(
          tx,
          'mail_outbox',
          'id, to_address, template, locale, subject, status, attempts, last_error, next_attempt_at, created_at, sent_at, body_enc',
          { status: q.status },
          q.cursor,
          q.limit ?? 50,
        ),
        ownSmtp: (await tx.query('SELECT 1 FROM tenant_smtp')).rows.length > 0,
      }));
      // Bodies hold one-time links: shown only in development (no SMTP), where they are in the mail drop anyway.
      const showBodies = !gh.config.smtpUrl && !ownSmtp;
      const messages = page.rows.map((r) => {
        let text: string | undefined;
        if (showBodies && r.body_enc) {
          try {
            text = (JSON.parse(gh.sealer.open(r.body_enc, mailBodyContext(tenant.id))) as { text: string }).text;
          } catch {
            text = undefined;
          }
        }
        return {
          id: r.id,
          to: r.to_address,
          template: r.template,
          locale: r.locale,
          subject: r.subject,
          status: r.status,
          attempts: r.attempts,
          last_error: r.last_error,
          next_attempt_at: r.next_attempt_at,
          created_at: r.created_at,
          sent_at: r.sent_at,
          ...(text !== undefined ? { text } : {}),
        };
      });
      return { messages, next_cursor: page.next_cursor };
    },
  );
}

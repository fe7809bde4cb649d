import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { authenticate } from '../http/request-context.ts';
import { bearerSecurity, errorResponses } from '../http/schemas.ts';
import { activeFactorTypesSql } from '../mfa/mfa-state.ts';

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

/** Events that count as suspicious for the dashboard figure. */
const SUSPICIOUS = ['login.suspicious', 'login.blocked', 'token.refresh.reuse_detected', 'rate_limit.hit', 'account.locked'];

/** A tenant's security posture in one read, for the admin console (seed 000's security dashboard). */
export async function securityMetricsRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  app.get(
    '/admin/security/metrics',
    {
      schema: {
        tags: ['security'],
        security: bearerSecurity,
        summary: 'Failed logins and suspicious events in the last 24 h, open alerts by severity, MFA adoption, active sessions',
        response: {
          200: {
            type: 'object',
            properties: {
              failed_logins_24h: { type: 'integer' },
              suspicious_events_24h: { type: 'integer' },
              open_alerts: { type: 'object', properties: Object.fromEntries(SEVERITIES.map((s) => [s, { type: 'integer' }])) },
              mfa_adoption: {
                type: 'object',
                properties: { users: { type: 'integer' }, enrolled: { type: 'integer' }, ratio: { type: 'number' } },
              },
              active_sessions: { type: 'integer' },
              locked_accounts: { type: 'integer' },
            },
          },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => {
      await authenticate(gh, request, 'audit:read');
      const row = await withTenantTx(gh.db, request.tenant!.id, async (tx) =>
        (
          await tx.query<{
            failed: number;
            suspicious: number;
            alerts: Record<string, number> | null;
            users: number;
            enrolled: number;
            sessions: number;
            locked: number;
          }>(
            `SELECT
               (SELECT count(*)::int FROM audit_events WHERE action = 'login.failed' AND created_at > now() - interval '24 hours') AS failed,
               (SELECT count(*)::int FROM audit_events WHERE action = ANY($1) AND created_at > now() - interval '24 hours') AS suspicious,
               (SELECT jsonb_object_agg(severity, n) FROM (
                  SELECT severity, count(*)::int AS n FROM security_alerts WHERE status <> 'resolved' GROUP BY severity) a) AS alerts,
               (SELECT count(*)::int FROM users) AS users,
               (SELECT count(*)::int FROM users u WHERE EXISTS (${activeFactorTypesSql('u.id')})) AS enrolled,
               (SELECT count(*)::int FROM sessions
                  WHERE revoked_at IS NULL AND idle_expires_at > now() AND absolute_expires_at > now()) AS sessions,
               (SELECT count(*)::int FROM users WHERE status = 'locked' AND locked_until > now()) AS locked`,
            [SUSPICIOUS],
          )
        ).rows[0]!,
      );
      const enrolled = row.enrolled;
      return {
        failed_logins_24h: row.failed,
        suspicious_events_24h: row.suspicious,
        open_alerts: Object.fromEntries(SEVERITIES.map((s) => [s, row.alerts?.[s] ?? 0])),
        mfa_adoption: { users: row.users, enrolled, ratio: row.users ? enrolled / row.users : 0 },
        active_sessions: row.sessions,
        locked_accounts: row.locked,
      };
    },
  );
}

import type { TenantDb } from '../db/tenant-tx.ts';

export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';

/** Dotted action keys, read as events. */
export type AuditAction =
  | 'user.registered'
  | 'user.created'
  | 'user.updated'
  | 'user.disabled'
  | 'user.enabled'
  | 'user.deleted'
  | 'user.role_changed'
  | 'login.succeeded'
  | 'login.failed'
  | 'logout'
  | 'logout.all'
  | 'token.refreshed'
  | 'token.refresh.reuse_detected'
  | 'password.changed'
  | 'password.rehashed'
  | 'session.revoked'
  | 'session.evicted'
  | 'session.revoked_others'
  | 'tenant.created'
  | 'tenant.updated'
  | 'tenant.deleted'
  | 'keys.rotated'
  | 'rate_limit.hit'
  | 'account.locked'
  | 'user.unlocked'
  | 'security.alert_acknowledged'
  | 'security.alert_resolved'
  | 'security.webhook_updated'
  | 'security.webhook_deleted'
  | 'login.suspicious'
  | 'login.blocked'
  | 'webauthn.registered'
  | 'webauthn.renamed'
  | 'webauthn.removed'
  | 'webauthn.used'
  | 'webauthn.clone_suspected'
  | 'mfa.enrollment_started'
  | 'mfa.enrolled'
  | 'mfa.verified'
  | 'mfa.failed'
  | 'mfa.removed'
  | 'mfa.reset'
  | 'mfa.backup_code_used'
  | 'mfa.backup_codes_regenerated'
  | 'mfa.step_up'
  | 'login.mfa_required'
  | 'oauth.client.created'
  | 'oauth.client.updated'
  | 'oauth.client.deleted'
  | 'oauth.client.secret_rotated'
  | 'oauth.consent.granted'
  | 'oauth.code.reuse_detected'
  | 'oauth.token.revoked'
  | 'oauth.logout'
  | 'password.reset_requested'
  | 'password.reset'
  | 'email.verified'
  | 'email.change_requested'
  | 'email.changed'
  | 'invitation.created'
  | 'invitation.resent'
  | 'invitation.revoked'
  | 'invitation.accepted'
  | 'passwordless.requested'
  | 'registration.existing_email'
  | 'registration.user_limit'
  | 'mail.smtp_updated'
  | 'mail.smtp_deleted'
  | 'oauth.grant.revoked'
  | 'oauth.backchannel_logout.failed';

/** Who did it and from where; taken from the request once and passed down. */
export interface AuditContext {
  actorType: 'user' | 'platform' | 'system' | 'anonymous';
  actorId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
}

export interface AuditEvent {
  action: AuditAction;
  subjectId?: string | null;
  details?: Record<string, unknown>;
  risk?: RiskLevel;
  /** Overrides the context's actor (e.g. the user who just logged in). */
  actorId?: string | null;
  actorType?: AuditContext['actorType'];
}

/** Appends an audit event inside the caller's transaction: the change and its record commit together. */
export async function recordAudit(tx: TenantDb, ctx: AuditContext, event: AuditEvent): Promise<void> {
  await tx.query(
    `INSERT INTO audit_events (actor_type, actor_id, subject_id, action, ip, user_agent, request_id, details, risk)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      event.actorType ?? ctx.actorType,
      event.actorId !== undefined ? event.actorId : (ctx.actorId ?? null),
      event.subjectId ?? null,
      event.action,
      ctx.ip ?? null,
      ctx.userAgent?.slice(0, 512) ?? null,
      ctx.requestId ?? null,
      JSON.stringify(event.details ?? {}),
      event.risk ?? 'low',
    ],
  );
}

export interface AuditQuery {
  action?: string;
  userId?: string;
  from?: Date;
  to?: Date;
  /** Return events with id below this (cursor). */
  before?: number;
  limit: number;
}

export interface AuditRow {
  id: number;
  actor_type: string;
  actor_id: string | null;
  subject_id: string | null;
  action: string;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
  risk: RiskLevel;
  created_at: Date;
}

/** Newest first, keyset-paginated by id. `userId` matches the actor or the subject. */
export async function queryAudit(tx: TenantDb, q: AuditQuery): Promise<{ events: AuditRow[]; next_cursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replaceAll('?', `$${params.length}`));
  };
  if (q.action) {
    // A trailing * is the only wildcard: _ and % in the prefix match themselves.
    const prefix = q.action.endsWith('*') ? q.action.slice(0, -1).replace(/[\\%_]/g, (c) => '\\' + c) + '%' : undefined;
    add(prefix ? 'action LIKE ?' : 'action = ?', prefix ?? q.action);
  }
  if (q.userId) add('(actor_id = ? OR subject_id = ?)', q.userId);
  if (q.from) add('created_at >= ?', q.from);
  if (q.to) add('created_at < ?', q.to);
  if (q.before) add('id < ?', q.before);
  params.push(q.limit + 1);
  const r = await tx.query<AuditRow>(
    `SELECT id, actor_type, actor_id, subject_id, action, ip, user_agent, request_id, details, risk, created_at
     FROM audit_events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  const events = r.rows.slice(0, q.limit);
  const next = r.rows.length > q.limit ? String(events[events.length - 1]!.id) : null;
  return { events, next_cursor: next };
}

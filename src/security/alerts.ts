import type { TenantDb } from '../db/tenant-tx.ts';
import type { Sealer } from '../keys/master-key.ts';
import { notifyAdmins, notifyUser, type MailTenant } from '../mail/outbox.ts';

export const ALERT_TYPES = [
  'multiple_failures',
  'account_locked',
  'refresh_token_reuse',
  'suspicious_login',
  'privilege_escalation',
  'passkey_clone_warning',
  'mfa_reset',
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];
export const ALERT_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** Seed conflict C21: the severity each alert type gets unless the caller says otherwise. */
export const DEFAULT_SEVERITY: Record<AlertType, AlertSeverity> = {
  multiple_failures: 'medium',
  account_locked: 'critical',
  refresh_token_reuse: 'high',
  suspicious_login: 'high',
  privilege_escalation: 'high',
  passkey_clone_warning: 'high',
  mfa_reset: 'high',
};

export interface AlertRow {
  id: string;
  type: AlertType;
  severity: AlertSeverity;
  status: AlertStatus;
  user_id: string | null;
  details: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  acknowledged_by: string | null;
  acknowledged_at: Date | null;
  resolved_by: string | null;
  resolved_at: Date | null;
}

export const ALERT_COLUMNS =
  'id, type, severity, status, user_id, details, created_at, updated_at, acknowledged_by, acknowledged_at, resolved_by, resolved_at';

export interface NewAlert {
  type: AlertType;
  severity?: AlertSeverity;
  userId?: string | null;
  details?: Record<string, unknown>;
}

/** The body a webhook receives: the alert as it was raised. */
export function alertPayload(tenantId: string, alert: AlertRow) {
  return {
    event: 'security.alert',
    tenant_id: tenantId,
    alert: {
      id: alert.id,
      type: alert.type,
      severity: alert.severity,
      status: alert.status,
      user_id: alert.user_id,
      details: alert.details,
      created_at: new Date(alert.created_at).toISOString(),
    },
  };
}

/**
 * Records a security alert in the caller's transaction and, when the tenant has an enabled webhook, queues its
 * delivery in the same transaction (outbox): the alert, its delivery and the change that raised it commit together.
 */
/** Alerts the affected user should hear about too (lockout and MFA resets have mails of their own). */
const TELL_THE_USER: ReadonlySet<AlertType> = new Set(['suspicious_login', 'refresh_token_reuse', 'passkey_clone_warning']);

/** What raiseAlert needs to mail an alert: the sealer for the outbox and the tenant (name, branding, issuer). */
export interface AlertMail {
  sealer: Sealer;
  tenant: MailTenant & { issuer: string };
}

export async function raiseAlert(tx: TenantDb, alert: NewAlert, mail?: AlertMail): Promise<AlertRow> {
  const r = await tx.query<AlertRow>(
    `INSERT INTO security_alerts (type, severity, user_id, details) VALUES ($1, $2, $3, $4) RETURNING ${ALERT_COLUMNS}`,
    [alert.type, alert.severity ?? DEFAULT_SEVERITY[alert.type], alert.userId ?? null, JSON.stringify(alert.details ?? {})],
  );
  const row = r.rows[0]!;
  await tx.query(
    `INSERT INTO webhook_deliveries (alert_id, url, payload)
     SELECT $1, url, $2::jsonb FROM webhook_endpoints WHERE enabled`,
    [row.id, JSON.stringify(alertPayload(tx.tenantId, row))],
  );
  if (mail) await mailAlert(tx, row, mail);
  return row;
}

/**
 * Email delivery of an alert, in the same transaction (outbox): every admin of the tenant, and for the alerts about
 * something the account owner should act on, the owner.
 */
async function mailAlert(tx: TenantDb, row: AlertRow, mail: AlertMail): Promise<void> {
  const subject = row.user_id ? ((await tx.query<{ email: string }>('SELECT email FROM users WHERE id = $1', [row.user_id])).rows[0]?.email ?? null) : null;
  await notifyAdmins(tx, mail.sealer, mail.tenant, 'admin_security_alert', {
    type: row.type,
    severity: row.severity,
    subject,
    consoleUrl: `${mail.tenant.issuer}/api/v1/admin/security/alerts/${row.id}`,
  });
  if (row.user_id && TELL_THE_USER.has(row.type)) {
    const summary: Record<string, string> = {
      suspicious_login: 'A sign-in to your account looked unusual (a new device or network, or a place far from your last sign-in).',
      refresh_token_reuse: 'A session token of your account was used twice, which can mean it was copied; that session was ended.',
      passkey_clone_warning: 'One of your passkeys answered in a way that can mean it was copied; the sign-in was refused.',
    };
    await notifyUser(tx, { sealer: mail.sealer }, mail.tenant, row.user_id, 'security_alert', { summary: summary[row.type]! });
  }
}

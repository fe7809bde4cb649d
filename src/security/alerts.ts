import type { TenantDb } from '../db/tenant-tx.ts';

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
export async function raiseAlert(tx: TenantDb, alert: NewAlert): Promise<AlertRow> {
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
  return row;
}

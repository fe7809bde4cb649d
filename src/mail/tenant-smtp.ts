import type { TenantDb } from '../db/tenant-tx.ts';
import type { Sealer } from '../keys/master-key.ts';

/** The sealing context of a tenant's SMTP URL: it cannot be opened as another tenant's or as another secret. */
export const smtpUrlContext = (tenantId: string) => `smtp:${tenantId}`;

const SMTP_URL = /^smtps?:\/\//i;

/** What may be shown of an SMTP URL: never the password. */
export function describeSmtpUrl(url: string): { host: string; port: number; secure: boolean; user: string | null } {
  const u = new URL(url);
  const secure = u.protocol === 'smtps:';
  return { host: u.hostname, port: u.port ? Number(u.port) : secure ? 465 : 587, secure, user: u.username ? decodeURIComponent(u.username) : null };
}

export function isSmtpUrl(value: string): boolean {
  if (!SMTP_URL.test(value)) return false;
  try {
    return new URL(value).hostname.length > 0;
  } catch {
    return false;
  }
}

export async function setTenantSmtp(tx: TenantDb, sealer: Sealer, url: string): Promise<void> {
  await tx.query(
    `INSERT INTO tenant_smtp (smtp_url_enc) VALUES ($1)
     ON CONFLICT (tenant_id) DO UPDATE SET smtp_url_enc = excluded.smtp_url_enc, updated_at = now()`,
    [sealer.seal(url, smtpUrlContext(tx.tenantId))],
  );
}

export async function deleteTenantSmtp(tx: TenantDb): Promise<boolean> {
  return (await tx.query('DELETE FROM tenant_smtp')).rowCount > 0;
}

/** The tenant's own SMTP URL (opened), with the row's version for transport caching; undefined = use SMTP_URL. */
export async function readTenantSmtp(tx: TenantDb, sealer: Sealer): Promise<{ url: string; version: string } | undefined> {
  const row = (await tx.query<{ smtp_url_enc: string; updated_at: Date }>('SELECT smtp_url_enc, updated_at FROM tenant_smtp')).rows[0];
  if (!row) return undefined;
  return { url: sealer.open(row.smtp_url_enc, smtpUrlContext(tx.tenantId)), version: row.updated_at.toISOString() };
}

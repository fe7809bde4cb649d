import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';

/** Where a mailed link points: the tenant's hosted pages (issue 7) under its issuer, the token in the query. */
export function flowLink(tenant: Pick<ResolvedTenant, 'issuer'>, page: string, token: string): string {
  return `${tenant.issuer}/${page}?token=${encodeURIComponent(token)}`;
}

import type { AuditContext } from '../../audit/audit.ts';
import type { Gatehouse } from '../../context.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import type { ClientRow, GrantType } from '../clients/client.model.ts';
import type { OAuthTokenResponse } from '../tokens/token-response.ts';

/** What a grant handler gets: the authenticated client and the request's parameters. */
export interface GrantContext {
  gh: Gatehouse;
  tenant: ResolvedTenant;
  client: ClientRow;
  params: Record<string, string>;
  audit: AuditContext;
  ip: string | null;
  userAgent: string | null;
}

/** A grant type as a module (node-oidc-provider's `{ handler, parameters, grantType }`). */
export interface Grant {
  grantType: GrantType;
  handler(ctx: GrantContext): Promise<OAuthTokenResponse>;
}

import type { Gatehouse } from '../../context.ts';
import { withTenantTx } from '../../db/tenant-tx.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import type { ClientRow } from '../clients/client.model.ts';
import { findClient } from '../clients/client.queries.ts';
import { matchRedirectUri } from '../clients/redirect-uri.ts';
import { InvalidRedirect } from '../oauth-error.ts';

/**
 * The first two checks of /authorize: a known client of this tenant, and one of its registered redirect URIs. Until
 * both pass nothing can be sent back to a redirect URI, so these errors are shown on a page (RFC 6749 §4.1.2.1).
 */
export async function checkClientAndRedirect(gh: Gatehouse, tenant: ResolvedTenant, params: Record<string, string>): Promise<ClientRow> {
  if (!params.client_id) throw InvalidRedirect('invalid_request', 'The request names no client (client_id is missing).');
  const client = await withTenantTx(gh.db, tenant.id, (tx) => findClient(tx, params.client_id!));
  if (!client) throw InvalidRedirect('invalid_client', 'The application is not registered with this organization.');
  if (!params.redirect_uri) throw InvalidRedirect('invalid_request', 'The request names no redirect_uri.');
  if (!matchRedirectUri(client.redirect_uris, params.redirect_uri)) {
    throw InvalidRedirect('invalid_redirect_uri', 'The redirect_uri is not registered for this application.');
  }
  return client;
}

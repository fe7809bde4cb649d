import { effectiveSettings, type Tenant } from '../tenancy/tenant.model.ts';

/** Who the passkeys of a tenant belong to: the WebAuthn relying party and the origins its ceremonies may come from. */
export interface RelyingParty {
  id: string;
  name: string;
  origins: string[];
}

/**
 * The tenant's relying party. By default it is the tenant's issuer: RP ID = the issuer's host, origin = the
 * issuer's origin (with path tenancy every tenant shares the Gatehouse host; with a base domain each tenant has its
 * own `{slug}.{base}`). `webauthn_rp_id` / `webauthn_origins` override it, e.g. to let an application on
 * app.example.com use passkeys for the RP ID example.com. The RP name is the tenant's name.
 */
export function relyingPartyFor(tenant: Pick<Tenant, 'name' | 'settings'> & { issuer: string }): RelyingParty {
  const s = effectiveSettings(tenant);
  const issuer = new URL(tenant.issuer);
  return {
    id: s.webauthn_rp_id ?? issuer.hostname,
    name: tenant.name,
    origins: s.webauthn_origins.length ? [...s.webauthn_origins] : [issuer.origin],
  };
}

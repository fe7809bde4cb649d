import { describe, expect, it } from 'vitest';
import { tenantIssuer } from '../tenancy/tenant.model.ts';
import { relyingPartyFor } from './relying-party.ts';

describe('relyingPartyFor', () => {
  it('defaults to the issuer: path tenancy shares the Gatehouse host', () => {
    const issuer = tenantIssuer('https://id.example.com', undefined, 'acme');
    expect(relyingPartyFor({ name: 'Acme', settings: {}, issuer })).toEqual({ id: 'id.example.com', name: 'Acme', origins: ['https://id.example.com'] });
  });

  it('defaults to the issuer: with a base domain each tenant is its own host (port kept in the origin only)', () => {
    const issuer = tenantIssuer('http://localhost:3000', 'auth.test:3000', 'acme');
    expect(relyingPartyFor({ name: 'Acme', settings: {}, issuer })).toEqual({ id: 'acme.auth.test', name: 'Acme', origins: ['http://acme.auth.test:3000'] });
  });

  it('tenant settings override the RP ID and the origins', () => {
    const rp = relyingPartyFor({
      name: 'Acme',
      settings: { webauthn_rp_id: 'acme.com', webauthn_origins: ['https://app.acme.com', 'https://acme.com'] },
      issuer: 'https://id.example.com/t/acme',
    });
    expect(rp).toEqual({ id: 'acme.com', name: 'Acme', origins: ['https://app.acme.com', 'https://acme.com'] });
  });
});

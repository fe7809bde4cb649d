import { describe, expect, it } from 'vitest';
import { sha256 } from '../../shared/crypto.ts';
import { normalizeClient } from './client.service.ts';
import { newClientSecret, verifyClientSecret } from './client-secret.ts';

describe('client secrets', () => {
  it('are 256 random bits, distinct each time', () => {
    const a = newClientSecret();
    expect(Buffer.from(a.replace(/^ghcs_/, ''), 'base64url')).toHaveLength(32);
    expect(newClientSecret()).not.toBe(a);
  });

  it('verify against the current digest, and the previous one only until its overlap ends', () => {
    const current = newClientSecret();
    const previous = newClientSecret();
    const now = new Date('2026-01-01T00:00:00Z');
    const client = { secret_hash: sha256(current), previous_secret_hash: sha256(previous), previous_secret_expires_at: new Date('2026-01-01T01:00:00Z') };
    expect(verifyClientSecret(client, current, now)).toBe(true);
    expect(verifyClientSecret(client, previous, now)).toBe(true);
    expect(verifyClientSecret(client, previous, new Date('2026-01-01T01:00:01Z'))).toBe(false);
    expect(verifyClientSecret(client, 'ghcs_wrong', now)).toBe(false);
    expect(verifyClientSecret({ secret_hash: null, previous_secret_hash: null, previous_secret_expires_at: null }, '', now)).toBe(false);
  });
});

describe('client registration rules', () => {
  it('fills defaults per type', () => {
    expect(normalizeClient({ name: 'w', type: 'confidential', redirect_uris: ['https://a.example/cb'] })).toMatchObject({
      authMethod: 'client_secret_basic',
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'profile', 'email', 'offline_access'],
    });
    expect(normalizeClient({ name: 's', type: 'service' })).toMatchObject({ authMethod: 'client_secret_basic', grantTypes: ['client_credentials'], scopes: [] });
    expect(normalizeClient({ name: 'p', type: 'public', redirect_uris: ['com.example.app:/cb'] })).toMatchObject({ authMethod: 'none' });
  });

  it('takes public keys only for private_key_jwt', () => {
    const pub = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
    expect(normalizeClient({ name: 'j', type: 'service', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [pub] } })).toMatchObject({ authMethod: 'private_key_jwt' });
    expect(() => normalizeClient({ name: 'j', type: 'service', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...pub, d: 'secret' }] } })).toThrow(/public keys only/);
    expect(() => normalizeClient({ name: 'j', type: 'service', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } })).toThrow(/public keys only/);
  });
});

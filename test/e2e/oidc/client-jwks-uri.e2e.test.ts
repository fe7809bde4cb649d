import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../../helpers/auth-flows.ts';
import { backendName, bearer } from '../../helpers/test-app.ts';
import { discover, oidcTenant, registerClient, startOidcServer, type OidcServer } from './oidc-harness.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** private_key_jwt with the client's keys at a jwks_uri (a real HTTP server on loopback), rotated without an admin. */
describe(`private_key_jwt with jwks_uri (${backendName})`, () => {
  let s: OidcServer;
  let issuer: string;
  let keysServer: Server;
  let jwksUrl: string;
  let published: JWK[] = [];
  let fetches = 0;
  let tenantAdmin: string;

  beforeAll(async () => {
    // Loopback is private: only allowed with GATEHOUSE_JWKS_ALLOW_PRIVATE.
    s = await startOidcServer({ GATEHOUSE_JWKS_ALLOW_PRIVATE: 'true' });
    const acme = await oidcTenant(s, 'jwks-acme');
    issuer = acme.issuer;
    tenantAdmin = acme.adminEmail;
    keysServer = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((r) => keysServer.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(keysServer.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(async () => {
    await s.close();
    keysServer.close();
  });

  const keyPair = async (kid: string) => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
  };
  const assertion = (clientId: string, key: CryptoKey, kid: string) =>
    new SignJWT({ jti: randomUUID() }).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(clientId).setSubject(clientId).setAudience(issuer).setIssuedAt().setExpirationTime('60s').sign(key);
  const token = async (a: string) =>
    s.t.app.inject({
      method: 'POST',
      url: '/t/jwks-acme/oauth/token',
      headers: FORM,
      payload: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a }).toString(),
    });

  it('authenticates with the published key (openid-client), fetches once, follows a rotation, refuses a key never published', async () => {
    const k1 = await keyPair('k1');
    published = [k1.jwk];
    const c = await registerClient(s, 'jwks-acme', { name: 'jwks worker', type: 'service', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUrl, scope: 'reports' });
    expect(c).toMatchObject({ jwks_uri: jwksUrl, jwks: null });
    const config = await discover(issuer, c.client_id, oidc.PrivateKeyJwt({ key: k1.privateKey, kid: 'k1' }));
    expect((await oidc.clientCredentialsGrant(config)).scope).toBe('reports');
    expect((await token(await assertion(c.client_id, k1.privateKey, 'k1'))).statusCode).toBe(200);
    expect(fetches).toBe(1);

    // The client rotates: a new kid makes Gatehouse fetch again (once the 30 s cooldown is over; here the first fetch
    // is recent, so the unknown key is refused without a fetch).
    const k2 = await keyPair('k2');
    published = [k1.jwk, k2.jwk];
    const early = await token(await assertion(c.client_id, k2.privateKey, 'k2'));
    expect(early.statusCode).toBe(401);
    expect(fetches).toBe(1);
    const realNow = Date.now;
    Date.now = () => realNow() + 31_000;
    try {
      expect((await token(await assertion(c.client_id, k2.privateKey, 'k2'))).statusCode).toBe(200);
      expect(fetches).toBe(2);
      // A key that was never published is refused, and does not fetch again within the cooldown.
      const rogue = await keyPair('k3');
      expect((await token(await assertion(c.client_id, rogue.privateKey, 'k3'))).statusCode).toBe(401);
      expect(fetches).toBe(2);
    } finally {
      Date.now = realNow;
    }
  });

  it('concurrent first assertions share one fetch', async () => {
    const k = await keyPair('kc');
    published = [k.jwk];
    const c = await registerClient(s, 'jwks-acme', { name: 'burst', type: 'service', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${jwksUrl}?c=burst` });
    const before = fetches;
    const answers = await Promise.all(Array.from({ length: 5 }, async () => token(await assertion(c.client_id, k.privateKey, 'kc'))));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(fetches - before).toBe(1);
  });

  it('an unreachable jwks_uri fails closed with invalid_client', async () => {
    const k = await keyPair('k1');
    const c = await registerClient(s, 'jwks-acme', { name: 'gone', type: 'service', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://127.0.0.1:9/none.json' });
    const res = await token(await assertion(c.client_id, k.privateKey, 'k1'));
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('registration checks the URL: https unless private hosts are allowed, public hosts, not with jwks, private_key_jwt only', async () => {
    const reg = (body: Record<string, unknown>) =>
      s.t.app.inject({ method: 'POST', url: '/api/v1/platform/tenants/jwks-acme/clients', headers: { authorization: `Bearer ${s.t.platformToken}` }, payload: { name: 'x', type: 'service', ...body } });
    const k = await keyPair('k1');
    expect((await reg({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'ftp://keys.example/jwks' })).statusCode).toBe(400);
    expect((await reg({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUrl, jwks: { keys: [k.jwk] } })).statusCode).toBe(400);
    expect((await reg({ jwks_uri: jwksUrl })).statusCode).toBe(400);
    // Switching a client to inline keys clears its jwks_uri.
    const c = await registerClient(s, 'jwks-acme', { name: 'switch', type: 'service', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUrl });
    const admin = (await signIn(s.t, 'jwks-acme', tenantAdmin)).access;
    const patched = await s.t.app.inject({ method: 'PATCH', url: `/t/jwks-acme/api/v1/admin/clients/${c.client_id}`, headers: bearer(admin), payload: { jwks: { keys: [k.jwk] } } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ jwks_uri: null, jwks: { keys: [expect.objectContaining({ kid: 'k1' })] } });
  });
});

describe(`jwks_uri on a default deployment (${backendName})`, () => {
  it('a loopback or private jwks_uri is refused at registration', async () => {
    const s = await startOidcServer();
    try {
      await oidcTenant(s, 'jwks-strict');
      const res = await s.t.app.inject({
        method: 'POST',
        url: '/api/v1/platform/tenants/jwks-strict/clients',
        headers: { authorization: `Bearer ${s.t.platformToken}` },
        payload: { name: 'x', type: 'service', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://127.0.0.1/jwks.json' },
      });
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain('public address');
    } finally {
      await s.close();
    }
  });
});

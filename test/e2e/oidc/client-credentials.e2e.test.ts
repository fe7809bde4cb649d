import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer } from '../../helpers/test-app.ts';
import { discover, oidcTenant, registerClient, startOidcServer, type OidcServer } from './oidc-harness.ts';

const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` });

/** Discovery, client_credentials, introspection and revocation, with openid-client as the client. */
describe(`OIDC discovery and client_credentials (${backendName})`, () => {
  let s: OidcServer;
  let issuer: string;
  let otherIssuer: string;
  let service: { client_id: string; client_secret?: string };

  beforeAll(async () => {
    s = await startOidcServer();
    issuer = (await oidcTenant(s, 'cc-acme')).issuer;
    otherIssuer = (await oidcTenant(s, 'cc-globex')).issuer;
    service = await registerClient(s, 'cc-acme', { name: 'billing worker', type: 'service', scope: 'billing:read billing:write' });
  });
  afterAll(() => s.close());

  it('each tenant is its own issuer, and everything the discovery document advertises answers', async () => {
    const config = await discover(issuer, service.client_id, oidc.ClientSecretBasic(service.client_secret!));
    const m = config.serverMetadata();
    expect(issuer).toBe(`${s.base}/t/cc-acme`);
    expect(m.issuer).toBe(issuer);
    expect(m).toMatchObject({
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      userinfo_endpoint: `${issuer}/oauth/userinfo`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      end_session_endpoint: `${issuer}/oauth/end_session`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
      token_endpoint_auth_methods_supported: expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']),
      id_token_signing_alg_values_supported: ['ES256'],
      authorization_response_iss_parameter_supported: true,
    });
    expect((await oidc.discovery(new URL(otherIssuer), 'x', undefined, undefined, { execute: [oidc.allowInsecureRequests] })).serverMetadata().issuer).toBe(otherIssuer);
    // Every endpoint exists: none of them answers 404.
    for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'introspection_endpoint', 'revocation_endpoint', 'end_session_endpoint'] as const) {
      const res = await fetch(m[key] as string, { method: key.startsWith('token') || key.startsWith('intro') || key.startsWith('revo') ? 'POST' : 'GET', redirect: 'manual' });
      expect(res.status, key).not.toBe(404);
    }
  });

  it('a service client gets a JWT access token signed with the tenant key, with its scopes, never cached', async () => {
    const config = await discover(issuer, service.client_id, oidc.ClientSecretBasic(service.client_secret!));
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'billing:read' });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('billing:read');
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.id_token).toBeUndefined();
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)), { issuer, typ: 'at+jwt' });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: service.client_id, client_id: service.client_id, aud: service.client_id, scope: 'billing:read' });
    expect(payload.exp! - payload.iat!).toBe(900);

    const all = await oidc.clientCredentialsGrant(config);
    expect(all.scope).toBe('billing:read billing:write');

    const raw = await s.t.app.inject({ method: 'POST', url: '/t/cc-acme/oauth/token', headers: { ...FORM, ...basic(service.client_id, service.client_secret!) }, payload: form({ grant_type: 'client_credentials' }) });
    expect(raw.statusCode).toBe(200);
    expect(raw.headers['cache-control']).toBe('no-store');
  });

  it('a client access token does not open the first-party API', async () => {
    const config = await discover(issuer, service.client_id, oidc.ClientSecretBasic(service.client_secret!));
    const { access_token } = await oidc.clientCredentialsGrant(config);
    const res = await s.t.app.inject({ method: 'GET', url: '/t/cc-acme/api/v1/me', headers: bearer(access_token) });
    expect(res.statusCode).toBe(401);
  });

  it('scopes beyond the client’s are refused with invalid_scope; user scopes too', async () => {
    const config = await discover(issuer, service.client_id, oidc.ClientSecretBasic(service.client_secret!));
    for (const scope of ['billing:admin', 'billing:read openid', 'offline_access']) {
      await expect(oidc.clientCredentialsGrant(config, { scope })).rejects.toMatchObject({ error: 'invalid_scope' });
    }
  });

  it('a wrong secret, an unknown client or another tenant’s client gets 401 invalid_client', async () => {
    const wrong = await discover(issuer, service.client_id, oidc.ClientSecretBasic('ghcs_' + 'x'.repeat(43)));
    // A Basic challenge comes back with the 401 (openid-client surfaces it as WWWAuthenticateChallengeError).
    await expect(oidc.clientCredentialsGrant(wrong)).rejects.toMatchObject({ status: 401, cause: [expect.objectContaining({ scheme: 'basic' })] });
    const unknown = await discover(issuer, 'ghc_nobody', oidc.ClientSecretBasic(service.client_secret!));
    await expect(oidc.clientCredentialsGrant(unknown)).rejects.toMatchObject({ status: 401 });
    // The same client id and secret at another tenant's issuer.
    const foreign = await discover(otherIssuer, service.client_id, oidc.ClientSecretBasic(service.client_secret!));
    await expect(oidc.clientCredentialsGrant(foreign)).rejects.toMatchObject({ status: 401 });

    const raw = await s.t.app.inject({ method: 'POST', url: '/t/cc-acme/oauth/token', headers: { ...FORM, ...basic(service.client_id, 'nope') }, payload: form({ grant_type: 'client_credentials' }) });
    expect(raw.statusCode).toBe(401);
    expect(raw.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    expect(raw.headers['www-authenticate']).toMatch(/^Basic/);
  });

  it('the registered method only: a basic client posting its secret in the body is refused', async () => {
    const post = await discover(issuer, service.client_id, oidc.ClientSecretPost(service.client_secret!));
    await expect(oidc.clientCredentialsGrant(post)).rejects.toMatchObject({ error: 'invalid_client' });
    const poster = await registerClient(s, 'cc-acme', { name: 'poster', type: 'service', token_endpoint_auth_method: 'client_secret_post', scope: 'a' });
    const ok = await discover(issuer, poster.client_id, oidc.ClientSecretPost(poster.client_secret!));
    expect((await oidc.clientCredentialsGrant(ok)).scope).toBe('a');
  });

  it('the token endpoint speaks RFC 6749 errors: form bodies only, repeated parameters and unknown grants refused', async () => {
    const url = '/t/cc-acme/oauth/token';
    const json = await s.t.app.inject({ method: 'POST', url, headers: basic(service.client_id, service.client_secret!), payload: { grant_type: 'client_credentials' } });
    expect(json.statusCode).toBe(400);
    expect(json.json().error).toBe('invalid_request');
    const twice = await s.t.app.inject({ method: 'POST', url, headers: { ...FORM, ...basic(service.client_id, service.client_secret!) }, payload: 'grant_type=client_credentials&scope=a&scope=b' });
    expect(twice.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/more than once/) });
    const unknown = await s.t.app.inject({ method: 'POST', url, headers: { ...FORM, ...basic(service.client_id, service.client_secret!) }, payload: form({ grant_type: 'password' }) });
    expect(unknown.json().error).toBe('unsupported_grant_type');
    const notAllowed = await s.t.app.inject({ method: 'POST', url, headers: { ...FORM, ...basic(service.client_id, service.client_secret!) }, payload: form({ grant_type: 'refresh_token', refresh_token: 'ghr_x' }) });
    expect(notAllowed.json().error).toBe('unauthorized_client');
    // JSON stays strict elsewhere: the first-party API still refuses form bodies.
    const login = await s.t.app.inject({ method: 'POST', url: '/t/cc-acme/api/v1/auth/login', headers: FORM, payload: form({ email: 'a@b.c', password: 'x' }) });
    expect(login.statusCode).toBe(415);
  });

  it('introspection: active for a live token (any client of the tenant), false for junk, revoked or another tenant’s', async () => {
    const config = await discover(issuer, service.client_id, oidc.ClientSecretBasic(service.client_secret!));
    const { access_token } = await oidc.clientCredentialsGrant(config, { scope: 'billing:write' });
    const info = await oidc.tokenIntrospection(config, access_token);
    expect(info).toMatchObject({ active: true, client_id: service.client_id, sub: service.client_id, scope: 'billing:write', iss: issuer, token_type: 'Bearer' });
    expect((await oidc.tokenIntrospection(config, 'not-a-token')).active).toBe(false);
    expect((await oidc.tokenIntrospection(config, 'ghr_' + 'a'.repeat(43))).active).toBe(false);

    // Another tenant's client cannot learn about it, and its own token is inactive here.
    const foreignClient = await registerClient(s, 'cc-globex', { name: 'globex worker', type: 'service', scope: 'x' });
    const foreign = await discover(otherIssuer, foreignClient.client_id, oidc.ClientSecretBasic(foreignClient.client_secret!));
    expect((await oidc.tokenIntrospection(foreign, access_token)).active).toBe(false);
    const foreignToken = (await oidc.clientCredentialsGrant(foreign)).access_token;
    expect((await oidc.tokenIntrospection(config, foreignToken)).active).toBe(false);

    // Introspection needs client authentication.
    const anon = await s.t.app.inject({ method: 'POST', url: '/t/cc-acme/oauth/introspect', headers: FORM, payload: form({ token: access_token }) });
    expect(anon.statusCode).toBe(401);
    expect(anon.json().error).toBe('invalid_client');

    // Revoked: RFC 7009 200, then inactive; unknown tokens also get 200.
    await oidc.tokenRevocation(config, access_token);
    expect((await oidc.tokenIntrospection(config, access_token)).active).toBe(false);
    await expect(oidc.tokenRevocation(config, 'whatever')).resolves.toBeUndefined();
    const res = await s.t.app.inject({ method: 'POST', url: '/t/cc-acme/oauth/revoke', headers: { ...FORM, ...basic(service.client_id, service.client_secret!) }, payload: form({ token: 'junk' }) });
    expect(res.statusCode).toBe(200);
  });

  it('private_key_jwt: a signed assertion authenticates the client once; a replay, a wrong key or audience do not', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const c = await registerClient(s, 'cc-acme', { name: 'jwt worker', type: 'service', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, scope: 'reports' });
    expect(c.client_secret).toBeUndefined();
    const config = await discover(issuer, c.client_id, oidc.PrivateKeyJwt({ key: privateKey, kid: 'k1' }));
    expect((await oidc.clientCredentialsGrant(config)).scope).toBe('reports');

    const assertion = (o: { aud?: string; key?: CryptoKey; jti?: string } = {}) =>
      new SignJWT({ jti: o.jti ?? randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(c.client_id)
        .setSubject(c.client_id)
        .setAudience(o.aud ?? issuer)
        .setIssuedAt()
        .setExpirationTime('60s')
        .sign(o.key ?? privateKey);
    const send = async (a: string) =>
      s.t.app.inject({
        method: 'POST',
        url: '/t/cc-acme/oauth/token',
        headers: FORM,
        payload: form({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a }),
      });
    const once = await assertion({ aud: `${issuer}/oauth/token` });
    expect((await send(once)).statusCode).toBe(200);
    const replay = await send(once);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error_description).toMatch(/already used/);
    const other = await generateKeyPair('ES256');
    expect((await send(await assertion({ key: other.privateKey }))).statusCode).toBe(401);
    expect((await send(await assertion({ aud: otherIssuer }))).statusCode).toBe(401);
  });
});

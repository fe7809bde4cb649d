import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { totpCode } from '../../../src/mfa/totp.ts';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.ts';
import * as oidc from 'openid-client';
import { InjectBrowser, runBrowser } from '../oidc/oidc-harness.ts';
import { assertAuditAppendOnly, assertNoBypass, assertTenantIsolation, countsByTenant, tenantTables } from './rls-checks.ts';

interface Member {
  id: string;
  email: string;
  access: string;
  refresh: string;
}

/**
 * Two tenants filled through the HTTP API (keys, users, sessions, rotated refresh tokens, audit trail), then
 * isolation proven on the database the app really wrote, and through the API itself.
 */
describe(`tenant isolation end to end (${backendName})`, () => {
  let t: TestApp;
  const tenants: Record<'a' | 'b', { id: string; slug: string; admin: Member; user: Member }> = {} as never;

  async function signIn(slug: string, email: string): Promise<Member> {
    const r = await login(t, slug, email);
    expect(r.statusCode, r.body).toBe(200);
    const b = r.json();
    return { id: b.user.id, email, access: b.access_token, refresh: b.refresh_token };
  }

  beforeAll(async () => {
    t = await buildTestApp({ GATEHOUSE_WEBHOOK_ALLOW_PRIVATE: 'true' });
    for (const [key, slug] of [
      ['a', 'iso-alpha'],
      ['b', 'iso-bravo'],
    ] as const) {
      const created = await createTenant(t, slug);
      const reg = await register(t, slug, `member@${slug}.test`);
      expect(reg.statusCode, reg.body).toBe(201);
      const admin = await signIn(slug, created.adminEmail);
      const user = await signIn(slug, `member@${slug}.test`);
      // A rotation, so refresh_tokens holds rotated and active rows.
      const rf = await t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/refresh`, payload: { refresh_token: user.refresh } });
      expect(rf.statusCode, rf.body).toBe(200);
      user.refresh = rf.json().refresh_token;
      user.access = rf.json().access_token;
      // A password change, so password_history holds a row.
      const pw = await t.app.inject({
        method: 'POST',
        url: `/t/${slug}/api/v1/me/password`,
        headers: { authorization: `Bearer ${user.access}` },
        payload: { current_password: STRONG_PASSWORD, new_password: 'a brand new passphrase 4 the club' },
      });
      expect(pw.statusCode, pw.body).toBe(204);
      // An alert webhook, then five wrong passwords for the admin: security_alerts and webhook_deliveries rows.
      const hook = await t.app.inject({
        method: 'PUT',
        url: `/t/${slug}/api/v1/admin/security/webhook`,
        headers: { authorization: `Bearer ${admin.access}` },
        payload: { url: `http://127.0.0.1:9/${slug}` },
      });
      expect(hook.statusCode, hook.body).toBe(200);
      for (let i = 0; i < 5; i++) {
        const bad = await t.app.inject({
          method: 'POST',
          url: `/t/${slug}/api/v1/auth/login`,
          payload: { email: created.adminEmail, password: 'not the right password at all' },
          remoteAddress: `192.0.2.${i + 1}`,
        });
        expect(bad.statusCode, bad.body).toBe(401);
      }
      // An authenticator app (and its backup codes) for the member: mfa_factors and mfa_backup_codes rows.
      const totp = await t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/me/mfa/totp`, headers: { authorization: `Bearer ${user.access}` } });
      expect(totp.statusCode, totp.body).toBe(200);
      const confirmed = await t.app.inject({
        method: 'POST',
        url: `/t/${slug}/api/v1/me/mfa/totp/verify`,
        headers: { authorization: `Bearer ${user.access}` },
        payload: { code: totpCode(totp.json().secret) },
      });
      expect(confirmed.statusCode, confirmed.body).toBe(200);
      // With MFA on, adding a passkey needs a recent second factor: a backup code steps the session up.
      const stepped = await t.app.inject({
        method: 'POST',
        url: `/t/${slug}/api/v1/auth/step-up`,
        headers: { authorization: `Bearer ${user.access}` },
        payload: { backup_code: confirmed.json().backup_codes[0] },
      });
      expect(stepped.statusCode, stepped.body).toBe(200);
      // A passkey for the member: a webauthn_credentials row.
      const options = await t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/me/mfa/webauthn/registration/options`, headers: bearer(user.access) });
      expect(options.statusCode, options.body).toBe(200);
      const passkey = await t.app.inject({
        method: 'POST',
        url: `/t/${slug}/api/v1/me/mfa/webauthn/registration/verify`,
        headers: bearer(user.access),
        payload: { response: new SoftAuthenticator({ origin: 'http://gatehouse.test' }).create(options.json().options) },
      });
      expect(passkey.statusCode, passkey.body).toBe(201);
      // OAuth: a third-party client, the user's consent to it and an authorization code (oauth_* tables); the code's
      // grant is then revoked, which queues the client's back-channel logout (backchannel_logouts).
      const client = await t.app.inject({
        method: 'POST',
        url: `/t/${slug}/api/v1/admin/clients`,
        headers: { authorization: `Bearer ${admin.access}` },
        payload: { name: 'partner', type: 'public', redirect_uris: ['https://partner.example/cb'], backchannel_logout_uri: 'https://partner.example/bcl' },
      });
      expect(client.statusCode, client.body).toBe(201);
      const verifier = oidc.randomPKCECodeVerifier();
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: client.json().client_id,
        redirect_uri: 'https://partner.example/cb',
        scope: 'openid offline_access',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const callback = await runBrowser(new InjectBrowser(t), `/t/${slug}/oauth/authorize?${query}`, 'https://partner.example/cb', {
        email: user.email,
        password: 'a brand new passphrase 4 the club',
        consent: 'allow',
        // The member has MFA (above): the hosted sign-in asks for a second factor.
        mfaCode: confirmed.json().backup_codes[1],
      });
      expect(callback.searchParams.get('code')).toEqual(expect.any(String));
      const form = (body: Record<string, string>) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(body).toString() });
      const grant = await t.app.inject({
        method: 'POST',
        url: `/t/${slug}/oauth/token`,
        ...form({ grant_type: 'authorization_code', client_id: client.json().client_id, code: callback.searchParams.get('code')!, redirect_uri: 'https://partner.example/cb', code_verifier: verifier }),
      });
      expect(grant.statusCode, grant.body).toBe(200);
      const revoked = await t.app.inject({ method: 'POST', url: `/t/${slug}/oauth/revoke`, ...form({ client_id: client.json().client_id, token: grant.json().refresh_token }) });
      expect(revoked.statusCode, revoked.body).toBe(200);
      // Issue 5: a reset request (email_tokens, mail_outbox) and an invitation (invitations).
      const forgot = await t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/password/forgot`, payload: { email: `member@${slug}.test` } });
      expect(forgot.statusCode, forgot.body).toBe(202);
      const invite = await t.app.inject({
        method: 'POST',
        url: `/t/${slug}/api/v1/admin/invitations`,
        headers: { authorization: `Bearer ${admin.access}` },
        payload: { email: `invitee@${slug}.test`, role: 'user' },
      });
      expect(invite.statusCode, invite.body).toBe(201);
      const smtp = await t.app.inject({
        method: 'PUT',
        url: `/api/v1/platform/tenants/${slug}/smtp`,
        headers: { authorization: `Bearer ${t.platformToken}` },
        payload: { smtp_url: `smtp://u:p@127.0.0.1:9/${slug}` },
      });
      expect(smtp.statusCode, smtp.body).toBe(200);
      tenants[key] = { id: created.id, slug, admin, user };
    }
  });
  afterAll(() => t.close());

  it('the API filled every tenant table for both tenants', async () => {
    for (const table of await tenantTables(t.gh.db)) {
      const counts = await countsByTenant(t.gh.db, table);
      expect(counts.get(tenants.a.id) ?? 0, `${table} rows of A`).toBeGreaterThan(0);
      expect(counts.get(tenants.b.id) ?? 0, `${table} rows of B`).toBeGreaterThan(0);
    }
  });

  it("database: every statement in A's transaction is confined to A (and B's to B), for every tenant table", async () => {
    await assertTenantIsolation(t.gh.db, tenants.a.id, tenants.b.id);
    await assertTenantIsolation(t.gh.db, tenants.b.id, tenants.a.id);
  });

  it('database: the app role cannot bypass row-level security, and cannot rewrite the audit trail', async () => {
    await assertNoBypass(t.gh.db);
    await assertAuditAppendOnly(t.gh.db, tenants.a.id);
  });

  it("API: A's token is refused on B's routes", async () => {
    const a = tenants.a;
    const b = tenants.b;
    expectError(await t.app.inject({ method: 'GET', url: `/t/${b.slug}/api/v1/me`, headers: bearer(a.user.access) }), 403, 'TENANT_MISMATCH');
    expectError(
      await t.app.inject({ method: 'GET', url: `/t/${b.slug}/api/v1/admin/users`, headers: bearer(a.admin.access) }),
      403,
      'TENANT_MISMATCH',
    );
    // Its own routes work.
    const me = await t.app.inject({ method: 'GET', url: `/t/${a.slug}/api/v1/me`, headers: bearer(a.user.access) });
    expect(me.statusCode, me.body).toBe(200);
  });

  it("API: A's admin lists only A's users and cannot reach B's by id", async () => {
    const a = tenants.a;
    const b = tenants.b;
    const list = await t.app.inject({ method: 'GET', url: `/t/${a.slug}/api/v1/admin/users?limit=200`, headers: bearer(a.admin.access) });
    expect(list.statusCode, list.body).toBe(200);
    const emails = (list.json().users as { email: string }[]).map((u) => u.email);
    expect(emails.sort()).toEqual([a.admin.email, a.user.email].sort());

    const search = await t.app.inject({ method: 'GET', url: `/t/${a.slug}/api/v1/admin/users?search=bravo`, headers: bearer(a.admin.access) });
    expect(search.json().users).toEqual([]);

    const url = `/t/${a.slug}/api/v1/admin/users/${b.user.id}`;
    expectError(await t.app.inject({ method: 'GET', url, headers: bearer(a.admin.access) }), 404, 'USER_NOT_FOUND');
    expectError(await t.app.inject({ method: 'PATCH', url, headers: bearer(a.admin.access), payload: { status: 'disabled' } }), 404, 'USER_NOT_FOUND');
    expectError(await t.app.inject({ method: 'DELETE', url, headers: bearer(a.admin.access) }), 404, 'USER_NOT_FOUND');

    const sessions = await t.app.inject({ method: 'GET', url: `${url}/sessions`, headers: bearer(a.admin.access) });
    expect(sessions.statusCode, sessions.body).toBe(200);
    expect(sessions.json().sessions).toEqual([]);
  });

  it("API: revoking B's sessions from A does nothing to B", async () => {
    const a = tenants.a;
    const b = tenants.b;
    const bSessions = await t.app.inject({ method: 'GET', url: `/t/${b.slug}/api/v1/me/sessions`, headers: bearer(b.user.access) });
    const sid = (bSessions.json().sessions as { id: string }[])[0]!.id;

    expectError(
      await t.app.inject({ method: 'DELETE', url: `/t/${a.slug}/api/v1/admin/users/${b.user.id}/sessions/${sid}`, headers: bearer(a.admin.access) }),
      404,
      'USER_NOT_FOUND',
    );
    // B's session id under one of A's own users is not found either.
    expectError(
      await t.app.inject({ method: 'DELETE', url: `/t/${a.slug}/api/v1/admin/users/${a.user.id}/sessions/${sid}`, headers: bearer(a.admin.access) }),
      404,
      'SESSION_NOT_FOUND',
    );
    expectError(
      await t.app.inject({ method: 'DELETE', url: `/t/${a.slug}/api/v1/admin/users/${b.user.id}/sessions`, headers: bearer(a.admin.access) }),
      404,
      'USER_NOT_FOUND',
    );
    expectError(
      await t.app.inject({ method: 'DELETE', url: `/t/${a.slug}/api/v1/me/sessions/${sid}`, headers: bearer(a.user.access) }),
      404,
      'SESSION_NOT_FOUND',
    );

    const me = await t.app.inject({ method: 'GET', url: `/t/${b.slug}/api/v1/me`, headers: bearer(b.user.access) });
    expect(me.statusCode, me.body).toBe(200);
  });

  it("API: B's refresh token is unknown at A, and presenting it there does not burn it", async () => {
    const a = tenants.a;
    const b = tenants.b;
    expectError(
      await t.app.inject({ method: 'POST', url: `/t/${a.slug}/api/v1/auth/refresh`, payload: { refresh_token: b.user.refresh } }),
      401,
      'REFRESH_TOKEN_INVALID',
    );
    const ok = await t.app.inject({ method: 'POST', url: `/t/${b.slug}/api/v1/auth/refresh`, payload: { refresh_token: b.user.refresh } });
    expect(ok.statusCode, ok.body).toBe(200);
    b.user.refresh = ok.json().refresh_token;
    b.user.access = ok.json().access_token;
  });

  it("API: the same email may exist in both tenants, and B's credentials do not sign in at A", async () => {
    const email = 'shared@example.com';
    expect((await register(t, tenants.a.slug, email)).statusCode).toBe(201);
    expectError(await login(t, tenants.b.slug, email), 401, 'INVALID_CREDENTIALS');
    expect((await register(t, tenants.b.slug, email, 'a different long passphrase 99')).statusCode).toBe(201);
    expectError(await login(t, tenants.a.slug, email, 'a different long passphrase 99'), 401, 'INVALID_CREDENTIALS');
    expect((await login(t, tenants.b.slug, email, 'a different long passphrase 99')).statusCode).toBe(200);
  });

  it("API: A's audit trail and JWKS hold nothing of B", async () => {
    const a = tenants.a;
    const b = tenants.b;
    const audit = await t.app.inject({ method: 'GET', url: `/t/${a.slug}/api/v1/admin/audit?limit=500`, headers: bearer(a.admin.access) });
    expect(audit.statusCode, audit.body).toBe(200);
    const events = audit.json().events as { actor_id: string | null; subject_id: string | null; details: Record<string, unknown> }[];
    expect(events.length).toBeGreaterThan(0);
    const bIds = new Set([b.admin.id, b.user.id]);
    for (const e of events) {
      expect(bIds.has(e.actor_id ?? '')).toBe(false);
      expect(bIds.has(e.subject_id ?? '')).toBe(false);
      expect(JSON.stringify(e.details)).not.toContain(b.slug);
    }
    const byB = await t.app.inject({ method: 'GET', url: `/t/${a.slug}/api/v1/admin/audit?user_id=${b.user.id}`, headers: bearer(a.admin.access) });
    expect(byB.json().events).toEqual([]);

    const jwksA = (await t.app.inject({ method: 'GET', url: `/t/${a.slug}/.well-known/jwks.json` })).json().keys as { kid: string }[];
    const jwksB = (await t.app.inject({ method: 'GET', url: `/t/${b.slug}/.well-known/jwks.json` })).json().keys as { kid: string }[];
    expect(jwksA.length).toBeGreaterThan(0);
    expect(jwksB.length).toBeGreaterThan(0);
    expect(jwksA.map((k) => k.kid).filter((kid) => jwksB.some((k) => k.kid === kid))).toEqual([]);
  });

  it("API: a token claiming A but signed with B's key is refused", async () => {
    const [h, p, s] = tenants.b.user.access.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.tenant_id = tenants.a.id;
    claims.tenant = tenants.a.slug;
    const forged = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
    expectError(await t.app.inject({ method: 'GET', url: `/t/${tenants.a.slug}/api/v1/me`, headers: bearer(forged) }), 401, 'TOKEN_INVALID');
    expectError(await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(forged) }), 401, 'TOKEN_INVALID');
  });
});

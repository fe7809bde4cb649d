import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPlatformTx } from '../../../src/db/tenant-tx.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { deliverAndRead, startSmtpSink, tokenFromMail, type SmtpSink } from '../../helpers/smtp-sink.ts';

const JOIN_PASSWORD = 'joining the team with a passphrase 3';

describe(`invitations over SMTP (${backendName})`, () => {
  let sink: SmtpSink;
  let t: TestApp;
  const admins: Record<string, string> = {};

  const invite = (slug: string, email: string, role = 'user', token = admins[slug]!) =>
    t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/admin/invitations`, headers: bearer(token), payload: { email, role } });
  const accept = (slug: string, token: string, password = JOIN_PASSWORD, name?: string) =>
    t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/invitations/accept`, payload: { token, password, ...(name ? { name } : {}) } });
  const list = async (slug: string) =>
    (await t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/admin/invitations`, headers: bearer(admins[slug]!) })).json().invitations as {
      id: string;
      email: string;
      status: string;
      role: string;
    }[];

  async function invitedToken(slug: string, email: string, role = 'user'): Promise<{ id: string; token: string }> {
    const r = await invite(slug, email, role);
    expect(r.statusCode, r.body).toBe(201);
    return { id: r.json().id, token: tokenFromMail(await deliverAndRead(t.gh, sink, email)) };
  }

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await buildTestApp({ SMTP_URL: sink.url });
    await createTenant(t, 'inv-a', { settings: { registration: 'invite_only' } });
    await createTenant(t, 'inv-b');
    await createTenant(t, 'inv-small', { limits: { max_users: 2 } });
    for (const slug of ['inv-a', 'inv-b', 'inv-small']) admins[slug] = (await login(t, slug, `admin@${slug}.test`)).json().access_token;
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it('end to end: invite with a role, read the link from the mail, accept: account created verified, with the role, signed in', async () => {
    const r = await invite('inv-a', 'nina@a.test', 'manager');
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({ email: 'nina@a.test', role: 'manager', status: 'pending' });
    const mail = await deliverAndRead(t.gh, sink, 'nina@a.test');
    expect(mail.subject).toContain('You are invited to join INV-A');
    expect(mail.text).toContain('http://gatehouse.test/t/inv-a/accept-invitation?token=');
    const accepted = await accept('inv-a', tokenFromMail(mail), JOIN_PASSWORD, 'Nina');
    expect(accepted.statusCode, accepted.body).toBe(201);
    expect(accepted.json().user).toMatchObject({ email: 'nina@a.test', role: 'manager', email_verified: true, name: 'Nina' });
    const me = await t.app.inject({ method: 'GET', url: '/t/inv-a/api/v1/me', headers: bearer(accepted.json().access_token) });
    expect(me.json().email).toBe('nina@a.test');
    expect((await login(t, 'inv-a', 'nina@a.test', JOIN_PASSWORD)).statusCode).toBe(200);
    expect((await list('inv-a')).find((i) => i.email === 'nina@a.test')!.status).toBe('accepted');
  });

  it('invite-only tenants refuse open registration', async () => {
    expectError(await register(t, 'inv-a', 'walkin@a.test'), 403, 'REGISTRATION_CLOSED');
  });

  it('an invitation works once', async () => {
    const { token } = await invitedToken('inv-a', 'oscar@a.test');
    expect((await accept('inv-a', token)).statusCode).toBe(201);
    expectError(await accept('inv-a', token), 410, 'EMAIL_TOKEN_USED');
  });

  it('revoke: the link stops working; revoking twice or an unknown id is refused', async () => {
    const { id, token } = await invitedToken('inv-a', 'pia@a.test');
    const del = await t.app.inject({ method: 'DELETE', url: `/t/inv-a/api/v1/admin/invitations/${id}`, headers: bearer(admins['inv-a']!) });
    expect(del.statusCode).toBe(204);
    expectError(await accept('inv-a', token), 410, 'INVITATION_REVOKED');
    expectError(await t.app.inject({ method: 'DELETE', url: `/t/inv-a/api/v1/admin/invitations/${id}`, headers: bearer(admins['inv-a']!) }), 409, 'INVITATION_NOT_PENDING');
    expectError(
      await t.app.inject({ method: 'DELETE', url: '/t/inv-a/api/v1/admin/invitations/00000000-0000-4000-8000-000000000000', headers: bearer(admins['inv-a']!) }),
      404,
      'INVITATION_NOT_FOUND',
    );
  });

  it('resend mails a new link; the old one stops working', async () => {
    const { id, token: old } = await invitedToken('inv-a', 'quinn@a.test');
    const r = await t.app.inject({ method: 'POST', url: `/t/inv-a/api/v1/admin/invitations/${id}/resend`, headers: bearer(admins['inv-a']!) });
    expect(r.statusCode, r.body).toBe(200);
    const fresh = tokenFromMail(await deliverAndRead(t.gh, sink, 'quinn@a.test'));
    expect(fresh).not.toBe(old);
    expectError(await accept('inv-a', old), 400, 'EMAIL_TOKEN_INVALID');
    expect((await accept('inv-a', fresh)).statusCode).toBe(201);
  });

  it('expired invitations are refused and listed as expired', async () => {
    const { id, token } = await invitedToken('inv-a', 'rex@a.test');
    await withPlatformTx(t.gh.db, (tx) => tx.query(`UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]));
    expectError(await accept('inv-a', token), 410, 'EMAIL_TOKEN_EXPIRED');
    expect((await list('inv-a')).find((i) => i.id === id)!.status).toBe('expired');
  });

  it('the tenant user limit applies', async () => {
    const first = await invitedToken('inv-small', 'one@small.test');
    const second = await invitedToken('inv-small', 'two@small.test');
    expect((await accept('inv-small', first.token)).statusCode).toBe(201);
    expectError(await accept('inv-small', second.token), 403, 'USER_LIMIT_EXCEEDED');
  });

  it('only admins invite, never above their role; a taken address cannot be invited', async () => {
    const { token } = await invitedToken('inv-b', 'mgr@b.test', 'manager');
    const manager = (await accept('inv-b', token)).json().access_token as string;
    expectError(await invite('inv-b', 'x@b.test', 'user', manager), 403, 'FORBIDDEN');
    expectError(await invite('inv-b', 'admin@inv-b.test'), 409, 'EMAIL_TAKEN');
    expectError(await invite('inv-b', 'mgr@b.test'), 409, 'EMAIL_TAKEN');
  });

  it('the password must pass the policy; a refused password leaves the invitation usable', async () => {
    const { token } = await invitedToken('inv-b', 'sue@b.test');
    expectError(await accept('inv-b', token, 'password'), 400, 'PASSWORD_POLICY');
    expect((await accept('inv-b', token, STRONG_PASSWORD)).statusCode).toBe(201);
  });

  it("cross-tenant and wrong-purpose tokens are refused", async () => {
    const { token } = await invitedToken('inv-b', 'tess@b.test');
    expectError(await accept('inv-a', token), 400, 'EMAIL_TOKEN_INVALID');
    // An invitation token is no reset token, and the reverse.
    expectError(
      await t.app.inject({ method: 'POST', url: '/t/inv-b/api/v1/auth/password/reset', payload: { token, password: JOIN_PASSWORD } }),
      400,
      'EMAIL_TOKEN_WRONG_PURPOSE',
    );
    expect((await t.app.inject({ method: 'POST', url: '/t/inv-b/api/v1/auth/password/forgot', payload: { email: 'admin@inv-b.test' } })).statusCode).toBe(202);
    const resetToken = tokenFromMail(await deliverAndRead(t.gh, sink, 'admin@inv-b.test'));
    expectError(await accept('inv-b', resetToken), 400, 'EMAIL_TOKEN_WRONG_PURPOSE');
    expect((await accept('inv-b', token)).statusCode).toBe(201);
  });
});

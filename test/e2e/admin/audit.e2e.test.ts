import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

interface AuditEvent {
  id: string;
  actor_type: string;
  actor_id: string | null;
  subject_id: string | null;
  action: string;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
  risk: string;
  created_at: string;
}

const AUDIT = '/t/audit-co/api/v1/admin/audit';
const NEW_PASSWORD = 'a brand new passphrase 2024';

describe(`audit API (${backendName})`, () => {
  let t: TestApp;
  let adminToken: string;
  let adminId: string;
  let userId: string;
  /** Request ids of the responses that made each change, to find their events. */
  const requestIds: Record<string, string> = {};

  async function events(query = ''): Promise<AuditEvent[]> {
    const r = await t.app.inject({ method: 'GET', url: `${AUDIT}?limit=500${query ? '&' + query : ''}`, headers: bearer(adminToken) });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().next_cursor).toBeNull();
    return r.json().events;
  }

  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'audit-co');
    const adminLogin = await login(t, 'audit-co', 'admin@audit-co.test');
    adminToken = adminLogin.json().access_token;
    adminId = adminLogin.json().user.id;

    // One of every auth event, each remembered by its response's request id.
    const reg = await register(t, 'audit-co', 'user@audit-co.test');
    expect(reg.statusCode).toBe(201);
    requestIds.register = reg.headers['x-request-id'] as string;
    userId = reg.json().user.id;

    const wrong = await login(t, 'audit-co', 'user@audit-co.test', 'definitely not the password');
    expect(wrong.statusCode).toBe(401);
    requestIds.loginFailed = wrong.headers['x-request-id'] as string;
    expect((await login(t, 'audit-co', 'ghost@audit-co.test')).statusCode).toBe(401);

    const ok = await login(t, 'audit-co', 'user@audit-co.test');
    requestIds.login = ok.headers['x-request-id'] as string;
    const rf = await t.app.inject({ method: 'POST', url: '/t/audit-co/api/v1/auth/refresh', payload: { refresh_token: ok.json().refresh_token } });
    expect(rf.statusCode).toBe(200);
    requestIds.refresh = rf.headers['x-request-id'] as string;

    const pw = await t.app.inject({
      method: 'POST',
      url: '/t/audit-co/api/v1/me/password',
      headers: bearer(rf.json().access_token),
      payload: { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD },
    });
    expect(pw.statusCode, pw.body).toBe(204);
    requestIds.password = pw.headers['x-request-id'] as string;

    const lo = await t.app.inject({ method: 'POST', url: '/t/audit-co/api/v1/auth/logout', headers: bearer(rf.json().access_token) });
    expect(lo.statusCode).toBe(204);
    requestIds.logout = lo.headers['x-request-id'] as string;

    const again = await login(t, 'audit-co', 'user@audit-co.test', NEW_PASSWORD);
    expect(again.statusCode).toBe(200);
    const sid = JSON.parse(Buffer.from(again.json().access_token.split('.')[1], 'base64url').toString()).sid;
    const revoke = await t.app.inject({ method: 'DELETE', url: `/t/audit-co/api/v1/admin/users/${userId}/sessions/${sid}`, headers: bearer(adminToken) });
    expect(revoke.statusCode).toBe(204);
    requestIds.sessionRevoked = revoke.headers['x-request-id'] as string;

    const role = await t.app.inject({ method: 'PATCH', url: `/t/audit-co/api/v1/admin/users/${userId}`, headers: bearer(adminToken), payload: { role: 'manager' } });
    expect(role.statusCode).toBe(200);
    requestIds.role = role.headers['x-request-id'] as string;

    const upd = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/platform/tenants/audit-co',
      headers: bearer(t.platformToken),
      payload: { features: { sso: true } },
    });
    expect(upd.statusCode).toBe(200);
    requestIds.tenantUpdated = upd.headers['x-request-id'] as string;
  });
  afterAll(() => t.close());

  it('records every auth event, each committed with the request that made it', async () => {
    const all = await events();
    const expectations: [string, string, Partial<AuditEvent>][] = [
      ['register', 'user.registered', { subject_id: userId, actor_id: userId, actor_type: 'user' }],
      ['register', 'login.succeeded', { subject_id: userId, actor_type: 'user' }],
      ['loginFailed', 'login.failed', { subject_id: userId, risk: 'medium', actor_type: 'anonymous' }],
      ['login', 'login.succeeded', { subject_id: userId }],
      ['refresh', 'token.refreshed', { subject_id: userId }],
      ['password', 'password.changed', { subject_id: userId, risk: 'medium' }],
      ['logout', 'logout', { subject_id: userId }],
      ['sessionRevoked', 'session.revoked', { subject_id: userId, actor_id: adminId }],
      ['role', 'user.role_changed', { subject_id: userId, actor_id: adminId, risk: 'medium' }],
      ['tenantUpdated', 'tenant.updated', { actor_type: 'platform' }],
    ];
    for (const [key, action, fields] of expectations) {
      const match = all.filter((e) => e.request_id === requestIds[key] && e.action === action);
      expect(match, `${action} for request ${key}`).toHaveLength(1);
      expect(match[0]).toMatchObject(fields);
      expect(match[0]!.ip).toBe('127.0.0.1');
    }
    // Tenant creation left its own records: the tenant and its first admin.
    const created = all.filter((e) => e.action === 'tenant.created');
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ actor_type: 'platform', details: { slug: 'audit-co' } });
    expect(all.some((e) => e.action === 'user.created' && e.subject_id === adminId)).toBe(true);
    // An unknown email is recorded without a subject, and no password is ever recorded.
    expect(all.some((e) => e.action === 'login.failed' && e.subject_id === null && e.details.reason === 'unknown_email')).toBe(true);
    const text = JSON.stringify(all);
    expect(text).not.toContain(STRONG_PASSWORD);
    expect(text).not.toContain(NEW_PASSWORD);
    expect(text).not.toContain('definitely not the password');
  });

  it('filters by exact action', async () => {
    const logins = await events('action=login.succeeded');
    expect(logins.length).toBe(4); // admin, registration, user, user again
    for (const e of logins) expect(e.action).toBe('login.succeeded');
    expect(await events('action=login')).toEqual([]);
  });

  it('filters by action prefix with a trailing *', async () => {
    const logins = await events('action=login.*');
    expect(new Set(logins.map((e) => e.action))).toEqual(new Set(['login.succeeded', 'login.failed']));
    const users = await events('action=user.*');
    expect(new Set(users.map((e) => e.action))).toEqual(new Set(['user.created', 'user.registered', 'user.role_changed']));
  });

  it('treats _ in an action prefix literally', async () => {
    // 'user_' is no prefix of any action; as a LIKE wildcard it would match 'user.'.
    expect(await events('action=user_*')).toEqual([]);
    expect((await events('action=user.role_*')).map((e) => e.action)).toEqual(['user.role_changed']);
  });

  it('filters by user (as actor or subject)', async () => {
    const mine = await events(`user_id=${userId}`);
    expect(mine.length).toBeGreaterThan(5);
    for (const e of mine) expect([e.actor_id, e.subject_id]).toContain(userId);
    const adminEvents = await events(`user_id=${adminId}`);
    expect(adminEvents.some((e) => e.action === 'user.role_changed' && e.actor_id === adminId)).toBe(true);
    expect(await events('user_id=00000000-0000-4000-8000-000000000000')).toEqual([]);
  });

  it('filters by time range: from inclusive, to exclusive', async () => {
    const all = await events();
    const pivot = all.find((e) => e.action === 'password.changed')!;
    const from = await events(`from=${encodeURIComponent(pivot.created_at)}`);
    const to = await events(`to=${encodeURIComponent(pivot.created_at)}`);
    const at = Date.parse(pivot.created_at);
    expect(from.map((e) => e.id)).toEqual(all.filter((e) => Date.parse(e.created_at) >= at).map((e) => e.id));
    expect(to.map((e) => e.id)).toEqual(all.filter((e) => Date.parse(e.created_at) < at).map((e) => e.id));
    expect(from.map((e) => e.id)).toContain(pivot.id);
    expect(to.map((e) => e.id)).not.toContain(pivot.id);
    expect(from.length + to.length).toBe(all.length);
    expect(await events('from=2999-01-01T00:00:00Z')).toEqual([]);
    expect(await events('to=2000-01-01T00:00:00Z')).toEqual([]);
    // Combined with other filters.
    const both = await events(`from=${encodeURIComponent(pivot.created_at)}&action=login.*`);
    for (const e of both) expect(e.action.startsWith('login.') && Date.parse(e.created_at) >= at).toBe(true);
  });

  it('pages with a cursor, newest first, with no duplicates or gaps', async () => {
    const all = await events();
    const seen: AuditEvent[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `${AUDIT}?limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await t.app.inject({ method: 'GET', url, headers: bearer(adminToken) });
      expect(r.statusCode, r.body).toBe(200);
      const page = r.json() as { events: AuditEvent[]; next_cursor: string | null };
      expect(page.events.length).toBeLessThanOrEqual(4);
      seen.push(...page.events);
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 100);
    expect(pages).toBe(Math.ceil(all.length / 4));
    expect(seen.map((e) => e.id)).toEqual(all.map((e) => e.id));
    const ids = seen.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(ids.length);

    // Filters and the cursor combine.
    const first = await t.app.inject({ method: 'GET', url: `${AUDIT}?action=login.*&limit=2`, headers: bearer(adminToken) });
    const second = await t.app.inject({ method: 'GET', url: `${AUDIT}?action=login.*&limit=2&cursor=${first.json().next_cursor}`, headers: bearer(adminToken) });
    const logins = await events('action=login.*');
    expect([...first.json().events, ...second.json().events].map((e: AuditEvent) => e.id)).toEqual(logins.slice(0, 4).map((e) => e.id));
  });

  it('an audit record commits only with its change: a refused change leaves no event', async () => {
    const count = async (action: string, email: string) =>
      (await events(`action=${action}`)).filter((e) => (e.details as { email?: string }).email === email).length;

    const dup = await t.app.inject({ method: 'POST', url: '/t/audit-co/api/v1/admin/users', headers: bearer(adminToken), payload: { email: 'user@audit-co.test' } });
    expectError(dup, 409, 'EMAIL_TAKEN');
    expect(await count('user.created', 'user@audit-co.test')).toBe(0);
    expect(await count('user.registered', 'user@audit-co.test')).toBe(1);
    expect((await events()).some((e) => e.request_id === dup.headers['x-request-id'])).toBe(false);

    const dupReg = await register(t, 'audit-co', 'USER@audit-co.test');
    expectError(dupReg, 409, 'EMAIL_TAKEN');
    expect(await count('user.registered', 'user@audit-co.test')).toBe(1);

    const weak = await t.app.inject({ method: 'POST', url: '/t/audit-co/api/v1/admin/users', headers: bearer(adminToken), payload: { email: 'weak@audit-co.test', password: 'short' } });
    expectError(weak, 400, 'PASSWORD_POLICY');
    expect(await count('user.created', 'weak@audit-co.test')).toBe(0);

    const self = await t.app.inject({ method: 'PATCH', url: `/t/audit-co/api/v1/admin/users/${adminId}`, headers: bearer(adminToken), payload: { role: 'user' } });
    expectError(self, 400, 'CANNOT_MODIFY_SELF');
    expect((await events()).some((e) => e.request_id === self.headers['x-request-id'])).toBe(false);

    // And a successful one has exactly its event.
    const made = await t.app.inject({ method: 'POST', url: '/t/audit-co/api/v1/admin/users', headers: bearer(adminToken), payload: { email: 'made@audit-co.test' } });
    expect(made.statusCode).toBe(201);
    const mine = (await events()).filter((e) => e.request_id === made.headers['x-request-id']);
    expect(mine.map((e) => e.action)).toEqual(['user.created']);
    expect(mine[0]).toMatchObject({ actor_id: adminId, actor_type: 'user', subject_id: made.json().id });
  });

  it('records keys rotation, logout-all, refresh-token reuse, disable/enable and deletion', async () => {
    const rot = await t.app.inject({ method: 'POST', url: '/api/v1/platform/tenants/audit-co/keys/rotate', headers: bearer(t.platformToken) });
    expect(rot.statusCode, rot.body).toBe(200);

    const u = await register(t, 'audit-co', 'busy@audit-co.test');
    const busyId = u.json().user.id as string;
    const rf = await t.app.inject({ method: 'POST', url: '/t/audit-co/api/v1/auth/refresh', payload: { refresh_token: u.json().refresh_token } });
    expect(rf.statusCode).toBe(200);
    const reuse = await t.app.inject({ method: 'POST', url: '/t/audit-co/api/v1/auth/refresh', payload: { refresh_token: u.json().refresh_token } });
    expectError(reuse, 401, 'REFRESH_TOKEN_REUSED');

    const l = await login(t, 'audit-co', 'busy@audit-co.test');
    const all = await t.app.inject({ method: 'POST', url: '/t/audit-co/api/v1/auth/logout-all', headers: bearer(l.json().access_token) });
    expect(all.statusCode).toBe(204);

    const url = `/t/audit-co/api/v1/admin/users/${busyId}`;
    expect((await t.app.inject({ method: 'PATCH', url, headers: bearer(adminToken), payload: { status: 'disabled' } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'PATCH', url, headers: bearer(adminToken), payload: { status: 'active' } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url, headers: bearer(adminToken) })).statusCode).toBe(204);

    const actions = (await events(`user_id=${busyId}`)).map((e) => e.action);
    for (const a of ['user.registered', 'token.refreshed', 'token.refresh.reuse_detected', 'logout.all', 'user.disabled', 'user.enabled', 'user.deleted']) {
      expect(actions, a).toContain(a);
    }
    const reuseEvent = (await events('action=token.refresh.reuse_detected'))[0]!;
    expect(reuseEvent.risk).toBe('high');
    const rotated = await events('action=keys.rotated');
    expect(rotated).toHaveLength(1);
    expect(rotated[0]).toMatchObject({ actor_type: 'platform', details: { kid: rot.json().kid } });
  });

  it('events are readable by admins and managers only', async () => {
    const viewerReg = await register(t, 'audit-co', 'reader@audit-co.test');
    expectError(await t.app.inject({ method: 'GET', url: AUDIT, headers: bearer(viewerReg.json().access_token) }), 403, 'FORBIDDEN');
    expectError(await t.app.inject({ method: 'GET', url: AUDIT }), 401, 'UNAUTHENTICATED');
    const manager = await login(t, 'audit-co', 'user@audit-co.test', NEW_PASSWORD); // promoted to manager above
    expect((await t.app.inject({ method: 'GET', url: AUDIT, headers: bearer(manager.json().access_token) })).statusCode).toBe(200);
  });
});

import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

interface PublicUser {
  id: string;
  email: string;
  role: string;
  status: string;
  name: string | null;
  created_at: string;
  created_by: string | null;
}

const BASE = '/t/acme/api/v1/admin';

describe(`admin API: users (${backendName})`, () => {
  let t: TestApp;
  let admin: { id: string; token: string };
  let manager: { id: string; token: string };
  let member: { id: string; token: string };
  let viewer: { id: string; token: string };

  const asAdmin = () => bearer(admin.token);

  async function createUser(payload: Record<string, unknown>, token = admin.token) {
    return t.app.inject({ method: 'POST', url: `${BASE}/users`, headers: bearer(token), payload });
  }

  async function userWithRole(email: string, role: string) {
    const r = await createUser({ email, password: STRONG_PASSWORD, role });
    expect(r.statusCode, r.body).toBe(201);
    const l = await login(t, 'acme', email);
    expect(l.statusCode, l.body).toBe(200);
    return { id: r.json().id as string, token: l.json().access_token as string };
  }

  async function listAll(query: string, limit: number): Promise<{ users: PublicUser[]; pages: number }> {
    const users: PublicUser[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `${BASE}/users?limit=${limit}${query ? '&' + query : ''}${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await t.app.inject({ method: 'GET', url, headers: asAdmin() });
      expect(r.statusCode, r.body).toBe(200);
      const page = r.json() as { users: PublicUser[]; next_cursor: string | null };
      expect(page.users.length).toBeLessThanOrEqual(limit);
      users.push(...page.users);
      cursor = page.next_cursor;
      pages++;
      expect(pages, 'pagination does not terminate').toBeLessThan(100);
    } while (cursor);
    return { users, pages };
  }

  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'acme');
    const l = await login(t, 'acme', 'admin@acme.test');
    admin = { id: l.json().user.id, token: l.json().access_token };
    manager = await userWithRole('manager@acme.test', 'manager');
    member = await userWithRole('member@acme.test', 'user');
    viewer = await userWithRole('viewer@acme.test', 'viewer');
    // 25 more, without passwords (hashing is not what is under test here).
    for (let i = 0; i < 25; i++) {
      const r = await createUser({ email: `bulk-${String(i).padStart(2, '0')}@acme.test`, name: `Bulk Person ${i}` });
      expect(r.statusCode, r.body).toBe(201);
    }
    expect((await createUser({ email: 'under_score@acme.test' })).statusCode).toBe(201);
    expect((await createUser({ email: 'percent@acme.test', name: '100% sure' })).statusCode).toBe(201);
  });
  afterAll(() => t.close());

  describe('list and search', () => {
    it('pages through every user with limit 10: no duplicates, nothing missing, stable order', async () => {
      const all = await t.app.inject({ method: 'GET', url: `${BASE}/users?limit=200`, headers: asAdmin() });
      const everyone = all.json().users as PublicUser[];
      expect(everyone.length).toBe(31);
      expect(all.json().next_cursor).toBeNull();

      const { users, pages } = await listAll('', 10);
      expect(pages).toBe(4);
      expect(users.map((u) => u.id)).toEqual(everyone.map((u) => u.id));
      expect(new Set(users.map((u) => u.id)).size).toBe(users.length);
      // Ordered by creation time, then id.
      const sorted = [...users].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
      expect(users.map((u) => u.id)).toEqual(sorted.map((u) => u.id));
      // The same walk twice gives the same pages.
      expect((await listAll('', 10)).users.map((u) => u.id)).toEqual(users.map((u) => u.id));
      // Never leaks password hashes or tenant ids.
      expect(JSON.stringify(users)).not.toMatch(/password|tenant_id|\$argon2/);
    });

    it('a user created mid-walk shows up at the end, without disturbing the pages already read', async () => {
      const first = await t.app.inject({ method: 'GET', url: `${BASE}/users?limit=10`, headers: asAdmin() });
      const cursor = first.json().next_cursor as string;
      const late = await createUser({ email: 'late@acme.test' });
      expect(late.statusCode).toBe(201);
      const rest: PublicUser[] = [];
      let next: string | null = cursor;
      while (next) {
        const r: LightMyRequestResponse = await t.app.inject({ method: 'GET', url: `${BASE}/users?limit=10&cursor=${next}`, headers: asAdmin() });
        rest.push(...(r.json().users as PublicUser[]));
        next = r.json().next_cursor;
      }
      const ids = [...(first.json().users as PublicUser[]), ...rest].map((u) => u.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids[ids.length - 1]).toBe(late.json().id);
      expect((await t.app.inject({ method: 'DELETE', url: `${BASE}/users/${late.json().id}`, headers: asAdmin() })).statusCode).toBe(204);
    });

    it('searches by email fragment, case-insensitively, across pages', async () => {
      const { users } = await listAll('search=BULK-1', 4);
      expect(users.map((u) => u.email).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `bulk-1${i}@acme.test`));
      const one = await t.app.inject({ method: 'GET', url: `${BASE}/users?search=member%40acme`, headers: asAdmin() });
      expect((one.json().users as PublicUser[]).map((u) => u.email)).toEqual(['member@acme.test']);
    });

    it('searches names too, and treats % and _ literally', async () => {
      const byName = await t.app.inject({ method: 'GET', url: `${BASE}/users?search=${encodeURIComponent('Person 2')}&limit=200`, headers: asAdmin() });
      expect((byName.json().users as PublicUser[]).map((u) => u.email).sort()).toEqual(
        ['bulk-02', 'bulk-20', 'bulk-21', 'bulk-22', 'bulk-23', 'bulk-24'].map((e) => `${e}@acme.test`),
      );
      const underscore = await t.app.inject({ method: 'GET', url: `${BASE}/users?search=_&limit=200`, headers: asAdmin() });
      expect((underscore.json().users as PublicUser[]).map((u) => u.email)).toEqual(['under_score@acme.test']);
      const percent = await t.app.inject({ method: 'GET', url: `${BASE}/users?search=%25&limit=200`, headers: asAdmin() });
      expect((percent.json().users as PublicUser[]).map((u) => u.email)).toEqual(['percent@acme.test']);
      const none = await t.app.inject({ method: 'GET', url: `${BASE}/users?search=nobody-here`, headers: asAdmin() });
      expect(none.json()).toEqual({ users: [], next_cursor: null });
    });

    it('filters by role and status', async () => {
      const managers = await t.app.inject({ method: 'GET', url: `${BASE}/users?role=manager`, headers: asAdmin() });
      expect((managers.json().users as PublicUser[]).map((u) => u.email)).toEqual(['manager@acme.test']);
      const disabled = await t.app.inject({ method: 'GET', url: `${BASE}/users?status=disabled`, headers: asAdmin() });
      expect(disabled.json().users).toEqual([]);
    });
  });

  describe('create and get', () => {
    it('creates a user, normalising the email, recording who created it', async () => {
      const r = await createUser({ email: 'New.Person@ACME.test', name: 'New Person', role: 'viewer', email_verified: true, password: STRONG_PASSWORD });
      expect(r.statusCode, r.body).toBe(201);
      const u = r.json();
      expect(u).toMatchObject({ email: 'new.person@acme.test', name: 'New Person', role: 'viewer', status: 'active', email_verified: true, created_by: admin.id });
      const got = await t.app.inject({ method: 'GET', url: `${BASE}/users/${u.id}`, headers: asAdmin() });
      expect(got.statusCode).toBe(200);
      expect(got.json()).toEqual(u);
      expect((await login(t, 'acme', 'new.person@acme.test')).statusCode).toBe(200);
    });

    it('defaults the role to user and refuses a duplicate email (any case) with 409 EMAIL_TAKEN', async () => {
      const r = await createUser({ email: 'plain@acme.test' });
      expect(r.json().role).toBe('user');
      expectError(await createUser({ email: 'PLAIN@acme.test' }), 409, 'EMAIL_TAKEN');
    });

    it('applies the password policy', async () => {
      expectError(await createUser({ email: 'weak@acme.test', password: 'short' }), 400, 'PASSWORD_POLICY');
      const search = await t.app.inject({ method: 'GET', url: `${BASE}/users?search=weak`, headers: asAdmin() });
      expect(search.json().users).toEqual([]);
    });

    it('an unknown id is 404 USER_NOT_FOUND', async () => {
      expectError(await t.app.inject({ method: 'GET', url: `${BASE}/users/00000000-0000-4000-8000-000000000000`, headers: asAdmin() }), 404, 'USER_NOT_FOUND');
    });
  });

  describe('permissions', () => {
    it("a 'user' or 'viewer' token gets 403 FORBIDDEN on every admin route", async () => {
      for (const who of [member, viewer]) {
        const h = bearer(who.token);
        const requests = [
          t.app.inject({ method: 'GET', url: `${BASE}/users`, headers: h }),
          t.app.inject({ method: 'POST', url: `${BASE}/users`, headers: h, payload: { email: 'x@acme.test' } }),
          t.app.inject({ method: 'GET', url: `${BASE}/users/${admin.id}`, headers: h }),
          t.app.inject({ method: 'PATCH', url: `${BASE}/users/${admin.id}`, headers: h, payload: { status: 'disabled' } }),
          t.app.inject({ method: 'DELETE', url: `${BASE}/users/${admin.id}`, headers: h }),
          t.app.inject({ method: 'GET', url: `${BASE}/users/${admin.id}/sessions`, headers: h }),
          t.app.inject({ method: 'DELETE', url: `${BASE}/users/${admin.id}/sessions`, headers: h }),
          t.app.inject({ method: 'GET', url: `${BASE}/audit`, headers: h }),
        ];
        for (const r of await Promise.all(requests)) expectError(r, 403, 'FORBIDDEN');
      }
      // The admin still works: nothing was changed by the refused calls.
      expect((await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: asAdmin() })).statusCode).toBe(200);
    });

    it('without a token, admin routes are 401', async () => {
      expectError(await t.app.inject({ method: 'GET', url: `${BASE}/users` }), 401, 'UNAUTHENTICATED');
      expectError(await t.app.inject({ method: 'GET', url: `${BASE}/users`, headers: bearer('not.a.jwt') }), 401, 'TOKEN_INVALID');
    });

    it('a manager can read users and sessions but cannot create, change roles, disable or delete', async () => {
      const h = bearer(manager.token);
      expect((await t.app.inject({ method: 'GET', url: `${BASE}/users`, headers: h })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: `${BASE}/users/${member.id}`, headers: h })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: `${BASE}/users/${member.id}/sessions`, headers: h })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: `${BASE}/audit`, headers: h })).statusCode).toBe(200);
      expectError(await t.app.inject({ method: 'PATCH', url: `${BASE}/users/${member.id}`, headers: h, payload: { role: 'manager' } }), 403, 'FORBIDDEN');
      expectError(await t.app.inject({ method: 'PATCH', url: `${BASE}/users/${member.id}`, headers: h, payload: { status: 'disabled' } }), 403, 'FORBIDDEN');
      expectError(await createUser({ email: 'by-manager@acme.test' }, manager.token), 403, 'FORBIDDEN');
      expectError(await t.app.inject({ method: 'DELETE', url: `${BASE}/users/${member.id}`, headers: h }), 403, 'FORBIDDEN');
      const unchanged = await t.app.inject({ method: 'GET', url: `${BASE}/users/${member.id}`, headers: asAdmin() });
      expect(unchanged.json()).toMatchObject({ role: 'user', status: 'active' });
    });

    it("a manager cannot sign out an admin (acting on a role above one's own)", async () => {
      const h = bearer(manager.token);
      expectError(await t.app.inject({ method: 'DELETE', url: `${BASE}/users/${admin.id}/sessions`, headers: h }), 403, 'FORBIDDEN');
      const sessions = await t.app.inject({ method: 'GET', url: `${BASE}/users/${admin.id}/sessions`, headers: h });
      const sid = (sessions.json().sessions as { id: string }[])[0]!.id;
      expectError(await t.app.inject({ method: 'DELETE', url: `${BASE}/users/${admin.id}/sessions/${sid}`, headers: h }), 403, 'FORBIDDEN');
      expect((await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: asAdmin() })).statusCode).toBe(200);
    });

    it('an admin cannot disable, demote or delete themselves (400 CANNOT_MODIFY_SELF), but may edit their profile', async () => {
      const self = `${BASE}/users/${admin.id}`;
      expectError(await t.app.inject({ method: 'PATCH', url: self, headers: asAdmin(), payload: { status: 'disabled' } }), 400, 'CANNOT_MODIFY_SELF');
      expectError(await t.app.inject({ method: 'PATCH', url: self, headers: asAdmin(), payload: { role: 'user' } }), 400, 'CANNOT_MODIFY_SELF');
      expectError(await t.app.inject({ method: 'DELETE', url: self, headers: asAdmin() }), 400, 'CANNOT_MODIFY_SELF');
      const profile = await t.app.inject({ method: 'PATCH', url: self, headers: asAdmin(), payload: { name: 'The Admin' } });
      expect(profile.statusCode, profile.body).toBe(200);
      expect(profile.json()).toMatchObject({ name: 'The Admin', role: 'admin', status: 'active' });
    });
  });

  describe('disable, enable, roles, delete', () => {
    it('disabling signs the user out at once and blocks login; enabling restores login', async () => {
      const u = await userWithRole('toggle@acme.test', 'user');
      const off = await t.app.inject({ method: 'PATCH', url: `${BASE}/users/${u.id}`, headers: asAdmin(), payload: { status: 'disabled' } });
      expect(off.statusCode, off.body).toBe(200);
      expect(off.json().status).toBe('disabled');
      expectError(await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(u.token) }), 401, 'TOKEN_REVOKED');
      expectError(await login(t, 'acme', 'toggle@acme.test'), 403, 'ACCOUNT_DISABLED');
      // Listed as disabled.
      const list = await t.app.inject({ method: 'GET', url: `${BASE}/users?status=disabled`, headers: asAdmin() });
      expect((list.json().users as PublicUser[]).map((x) => x.email)).toEqual(['toggle@acme.test']);

      const on = await t.app.inject({ method: 'PATCH', url: `${BASE}/users/${u.id}`, headers: asAdmin(), payload: { status: 'active' } });
      expect(on.json().status).toBe('active');
      expect((await login(t, 'acme', 'toggle@acme.test')).statusCode).toBe(200);
      // The old token stays dead.
      expectError(await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(u.token) }), 401, 'TOKEN_REVOKED');
    });

    it('changing a role takes effect in new tokens and revokes the old sessions; promotion to admin is audited as high risk', async () => {
      const u = await userWithRole('climber@acme.test', 'user');
      const up = await t.app.inject({ method: 'PATCH', url: `${BASE}/users/${u.id}`, headers: asAdmin(), payload: { role: 'admin' } });
      expect(up.statusCode, up.body).toBe(200);
      expect(up.json().role).toBe('admin');
      expectError(await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(u.token) }), 401, 'TOKEN_REVOKED');
      const fresh = (await login(t, 'acme', 'climber@acme.test')).json().access_token as string;
      const claims = JSON.parse(Buffer.from(fresh.split('.')[1]!, 'base64url').toString());
      expect(claims.role).toBe('admin');
      expect(claims.permissions).toContain('roles:manage');
      expect((await t.app.inject({ method: 'GET', url: `${BASE}/users`, headers: bearer(fresh) })).statusCode).toBe(200);

      const audit = await t.app.inject({ method: 'GET', url: `${BASE}/audit?action=user.role_changed&user_id=${u.id}`, headers: asAdmin() });
      const events = audit.json().events as { risk: string; details: { from: string; to: string }; actor_id: string; subject_id: string }[];
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ risk: 'high', details: { from: 'user', to: 'admin' }, actor_id: admin.id, subject_id: u.id });

      const down = await t.app.inject({ method: 'PATCH', url: `${BASE}/users/${u.id}`, headers: asAdmin(), payload: { role: 'viewer' } });
      expect(down.json().role).toBe('viewer');
      const after = await t.app.inject({ method: 'GET', url: `${BASE}/audit?action=user.role_changed&user_id=${u.id}`, headers: asAdmin() });
      expect((after.json().events as { risk: string; details: { to: string } }[])[0]).toMatchObject({ risk: 'low', details: { to: 'viewer' } });
    });

    it('setting the same role again changes and audits nothing', async () => {
      const before = await t.app.inject({ method: 'GET', url: `${BASE}/audit?action=user.role_changed&user_id=${member.id}`, headers: asAdmin() });
      const same = await t.app.inject({ method: 'PATCH', url: `${BASE}/users/${member.id}`, headers: asAdmin(), payload: { role: 'user' } });
      expect(same.statusCode).toBe(200);
      const after = await t.app.inject({ method: 'GET', url: `${BASE}/audit?action=user.role_changed&user_id=${member.id}`, headers: asAdmin() });
      expect(after.json().events).toEqual(before.json().events);
      expect((await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(member.token) })).statusCode).toBe(200);
    });

    it('deleting a user removes them, ends their sessions and frees the email', async () => {
      const u = await userWithRole('leaver@acme.test', 'user');
      const del = await t.app.inject({ method: 'DELETE', url: `${BASE}/users/${u.id}`, headers: asAdmin() });
      expect(del.statusCode).toBe(204);
      expect(del.body).toBe('');
      expectError(await t.app.inject({ method: 'GET', url: `${BASE}/users/${u.id}`, headers: asAdmin() }), 404, 'USER_NOT_FOUND');
      expectError(await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(u.token) }), 401, 'TOKEN_REVOKED');
      expectError(await login(t, 'acme', 'leaver@acme.test'), 401, 'INVALID_CREDENTIALS');
      expectError(await t.app.inject({ method: 'DELETE', url: `${BASE}/users/${u.id}`, headers: asAdmin() }), 404, 'USER_NOT_FOUND');
      const again = await createUser({ email: 'leaver@acme.test' });
      expect(again.statusCode).toBe(201);
      expect(again.json().id).not.toBe(u.id);
      const audit = await t.app.inject({ method: 'GET', url: `${BASE}/audit?action=user.deleted&user_id=${u.id}`, headers: asAdmin() });
      expect(audit.json().events).toHaveLength(1);
    });
  });

  describe("a user's sessions", () => {
    it('lists them, revokes one (its token dies, the other lives), then all', async () => {
      const u = await userWithRole('devices@acme.test', 'user');
      const second = (await login(t, 'acme', 'devices@acme.test', STRONG_PASSWORD, { 'user-agent': 'phone' })).json();
      const url = `${BASE}/users/${u.id}/sessions`;
      const list = await t.app.inject({ method: 'GET', url, headers: asAdmin() });
      expect(list.statusCode, list.body).toBe(200);
      const sessions = list.json().sessions as { id: string; user_agent: string | null }[];
      expect(sessions).toHaveLength(2);
      const phone = sessions.find((s) => s.user_agent === 'phone')!;
      expect(phone).toBeDefined();

      const one = await t.app.inject({ method: 'DELETE', url: `${url}/${phone.id}`, headers: asAdmin() });
      expect(one.statusCode, one.body).toBe(204);
      expectError(await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(second.access_token) }), 401, 'TOKEN_REVOKED');
      expectError(await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/refresh', payload: { refresh_token: second.refresh_token } }), 401, 'REFRESH_TOKEN_INVALID');
      expect((await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(u.token) })).statusCode).toBe(200);
      expect(((await t.app.inject({ method: 'GET', url, headers: asAdmin() })).json().sessions as unknown[]).length).toBe(1);

      // Another user's session id under this user is not found.
      const other = (await t.app.inject({ method: 'GET', url: `${BASE}/users/${member.id}/sessions`, headers: asAdmin() })).json().sessions as { id: string }[];
      expectError(await t.app.inject({ method: 'DELETE', url: `${url}/${other[0]!.id}`, headers: asAdmin() }), 404, 'SESSION_NOT_FOUND');

      const all = await t.app.inject({ method: 'DELETE', url, headers: asAdmin() });
      expect(all.statusCode).toBe(204);
      expectError(await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(u.token) }), 401, 'TOKEN_REVOKED');
      expect((await t.app.inject({ method: 'GET', url, headers: asAdmin() })).json().sessions).toEqual([]);

      const audit = await t.app.inject({ method: 'GET', url: `${BASE}/audit?action=session.revoked&user_id=${u.id}`, headers: asAdmin() });
      const revokedIds = (audit.json().events as { details: { session_id: string } }[]).map((e) => e.details.session_id);
      expect(revokedIds).toHaveLength(2);
      expect(revokedIds).toContain(phone.id);
    });

    it('a manager may sign out a user below them', async () => {
      const u = await userWithRole('managed@acme.test', 'user');
      const r = await t.app.inject({ method: 'DELETE', url: `${BASE}/users/${u.id}/sessions`, headers: bearer(manager.token) });
      expect(r.statusCode, r.body).toBe(204);
      expectError(await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(u.token) }), 401, 'TOKEN_REVOKED');
    });
  });
});

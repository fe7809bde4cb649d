import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantQuery } from '../../test/helpers/auth-flows.ts';
import { backendName, buildTestApp, createTenant, login, type TestApp } from '../../test/helpers/test-app.ts';
import { USER_COLUMNS } from '../identity/user.queries.ts';
import { findLoginUser } from './login.queries.ts';

/** The lookup is a function with its own column list (migration 014): it must keep returning the user row whole. */
describe(`login lookup (${backendName})`, () => {
  let t: TestApp;
  let acme: Awaited<ReturnType<typeof createTenant>>;
  beforeAll(async () => {
    t = await buildTestApp();
    acme = await createTenant(t, 'acme');
  });
  afterAll(() => t.close());

  it('returns every user column as the plain read does, the risk history and the MFA state; nothing for an unknown address', async () => {
    expect((await login(t, 'acme', acme.adminEmail)).statusCode).toBe(200);
    const [plain] = await tenantQuery<Record<string, unknown>>(t, acme.id, `SELECT ${USER_COLUMNS} FROM users WHERE email = $1`, [acme.adminEmail]);
    const found = await findLoginUser(t.gh.db, acme.id, acme.adminEmail);
    expect(found.user).toEqual(plain);
    expect(found.signals.map((s) => s.kind).sort()).toEqual(['device', 'hour', 'network']);
    expect(found.signals.every((s) => s.last_seen instanceof Date && s.seen_count === 1)).toBe(true);
    expect(found.mfa).toEqual({ factors: [], backup_codes: false, grace_started_at: null });
    expect(await findLoginUser(t.gh.db, acme.id, 'nobody@example.com')).toEqual({ user: undefined, signals: [], mfa: { factors: [], backup_codes: false, grace_started_at: null } });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, tenantQuery } from '../../test/helpers/auth-flows.ts';
import { backendName, buildTestApp, createTenant, type TestApp } from '../../test/helpers/test-app.ts';
import { readUser, USER_COLUMNS } from '../identity/user.queries.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import { rotateRefreshTokenQuick } from './rotate-refresh.ts';

/**
 * The hot reads are functions with their own column lists (migration 020): they must keep returning the user row
 * whole. And on the embedded database concurrent batches share one transaction per tenant (batch-group.ts): many
 * rotations and reads of two tenants at once must each see exactly their own tenant.
 */
describe(`hot reads and grouped batches (${backendName})`, () => {
  let t: TestApp;
  let acme: Awaited<ReturnType<typeof createTenant>>;
  let globex: Awaited<ReturnType<typeof createTenant>>;
  const plainUser = async (tenantId: string, email: string) =>
    (await tenantQuery<Record<string, unknown>>(t, tenantId, `SELECT ${USER_COLUMNS} FROM users WHERE email = $1`, [email]))[0]!;

  beforeAll(async () => {
    t = await buildTestApp();
    acme = await createTenant(t, 'acme', { settings: { max_sessions_per_user: 50 } });
    globex = await createTenant(t, 'globex', { settings: { max_sessions_per_user: 50 } });
  });
  afterAll(() => t.close());

  it('readUser returns every user column as the plain read does; nothing for another tenant’s user', async () => {
    const plain = await plainUser(acme.id, acme.adminEmail);
    expect(await readUser(t.gh.db, acme.id, plain.id as string)).toEqual(plain);
    expect(await readUser(t.gh.db, globex.id, plain.id as string)).toBeUndefined();
  });

  it('a rotation returns the session and the whole user row; a rotated or foreign token changes nothing', async () => {
    const s = await signIn(t, 'acme', acme.adminEmail);
    const settings = effectiveSettings((await t.gh.tenants.bySlug('acme'))!);
    const ctx = { ip: '127.0.0.1', userAgent: 'test', requestId: 'r' } as never;
    const r = await rotateRefreshTokenQuick(t.gh.db, acme.id, s.refresh, settings, null, ctx);
    if (r.kind !== 'rotated') throw new Error(r.kind);
    expect(r.user).toEqual(await plainUser(acme.id, acme.adminEmail));
    expect(r.session).toMatchObject({ user_id: r.user.id, amr: ['pwd'], aal: 1, scopes: null, parent_session_id: null });
    // The old token again: already rotated, so the general path (grace window or reuse detection) decides.
    expect((await rotateRefreshTokenQuick(t.gh.db, acme.id, s.refresh, settings, null, ctx)).kind).toBe('slow');
    // acme's token at globex: unknown there.
    expect((await rotateRefreshTokenQuick(t.gh.db, globex.id, r.refreshToken, settings, null, ctx)).kind).toBe('invalid');
  });

  it('concurrent rotations and reads of two tenants each see only their own tenant', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 12 }, (_, i) => signIn(t, i % 2 ? 'globex' : 'acme', i % 2 ? globex.adminEmail : acme.adminEmail)),
    );
    const settings = effectiveSettings((await t.gh.tenants.bySlug('acme'))!);
    const acmeAdmin = await plainUser(acme.id, acme.adminEmail);
    const globexAdmin = await plainUser(globex.id, globex.adminEmail);
    const ctx = { ip: null, requestId: 'r' } as never;
    // Every token presented at its own tenant and at the other one, with user reads of both in between, all at once.
    const work = sessions.flatMap((s, i) => {
      const own = i % 2 ? globex.id : acme.id;
      const other = i % 2 ? acme.id : globex.id;
      return [
        rotateRefreshTokenQuick(t.gh.db, other, s.refresh, settings, null, ctx).then((r) => ({ i, at: 'other', kind: r.kind, user: undefined })),
        rotateRefreshTokenQuick(t.gh.db, own, s.refresh, settings, null, ctx).then((r) => ({ i, at: 'own', kind: r.kind, user: r.kind === 'rotated' ? r.user.id : undefined })),
        readUser(t.gh.db, own, (i % 2 ? globexAdmin : acmeAdmin).id as string).then((u) => ({ i, at: 'read-own', kind: u ? 'found' : 'none', user: u?.id })),
        readUser(t.gh.db, other, (i % 2 ? globexAdmin : acmeAdmin).id as string).then((u) => ({ i, at: 'read-other', kind: u ? 'found' : 'none', user: u?.id })),
      ];
    });
    const results = await Promise.all(work);
    for (const r of results) {
      const admin = (r.i % 2 ? globexAdmin : acmeAdmin).id;
      if (r.at === 'own') expect(r).toMatchObject({ kind: 'rotated', user: admin });
      if (r.at === 'other') expect(r.kind).toBe('invalid');
      if (r.at === 'read-own') expect(r).toMatchObject({ kind: 'found', user: admin });
      if (r.at === 'read-other') expect(r.kind).toBe('none');
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditEvents,
  createUser,
  errorCode,
  meOutcome,
  patchTenant,
  refreshWith,
  signIn,
  tenantQuery,
  type SignedIn,
} from '../../helpers/auth-flows.ts';
import { backendName, buildTestApp, createTenant, login, type TestApp } from '../../helpers/test-app.ts';
import { withTenantTx } from '../../../src/db/tenant-tx.ts';
import { createSession } from '../../../src/session/session.queries.ts';
import { effectiveSettings } from '../../../src/tenancy/tenant.model.ts';

/** A user holds at most max_sessions_per_user live sessions; a new login evicts the oldest ones. */
describe(`concurrent session cap (${backendName})`, () => {
  let t: TestApp;
  let acme: Awaited<ReturnType<typeof createTenant>>;
  let tight: Awaited<ReturnType<typeof createTenant>>;

  beforeAll(async () => {
    t = await buildTestApp();
    acme = await createTenant(t, 'acme');
    tight = await createTenant(t, 'tight', { settings: { max_sessions_per_user: 2 } });
  });
  afterAll(() => t.close());

  const liveSessions = async (tenantId: string, userId: string) =>
    (await tenantQuery<{ id: string }>(t, tenantId, 'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [userId])).map((r) => r.id);

  async function expectDead(slug: string, s: SignedIn) {
    expect(await meOutcome(t, slug, s.access)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
    expect(errorCode(await refreshWith(t, slug, s.refresh))).toBe('REFRESH_TOKEN_INVALID');
  }
  async function expectAlive(slug: string, s: SignedIn) {
    expect(await meOutcome(t, slug, s.access)).toEqual({ status: 200, code: undefined });
  }

  it('default cap is 5: the 6th login evicts the oldest (its refresh fails, its access token is refused)', async () => {
    await createUser(t, 'acme', 'alice@example.com');
    const s: SignedIn[] = [];
    for (let i = 0; i < 5; i++) s.push(await signIn(t, 'acme', 'alice@example.com'));
    for (const x of s) await expectAlive('acme', x);

    const sixth = await signIn(t, 'acme', 'alice@example.com');
    await expectDead('acme', s[0]!);
    for (const x of [...s.slice(1), sixth]) await expectAlive('acme', x);
    expect((await liveSessions(acme.id, sixth.sub)).sort()).toEqual([...s.slice(1), sixth].map((x) => x.sid).sort());

    const [row] = await tenantQuery<{ revoked_reason: string }>(t, acme.id, 'SELECT revoked_reason FROM sessions WHERE id = $1', [s[0]!.sid]);
    expect(row!.revoked_reason).toBe('evicted');
    const admin = await signIn(t, 'acme', acme.adminEmail);
    const evicted = await auditEvents(t, 'acme', admin.access, 'session.evicted');
    expect(evicted.some((e) => e.details.session_id === s[0]!.sid && e.subject_id === sixth.sub)).toBe(true);

    // The 7th evicts the next oldest, and so on.
    await signIn(t, 'acme', 'alice@example.com');
    await expectDead('acme', s[1]!);
    await expectAlive('acme', s[2]!);
  });

  it('the oldest is by creation, not by last use: refreshing an old session does not save it', async () => {
    await createUser(t, 'acme', 'dave@example.com');
    const s: SignedIn[] = [];
    for (let i = 0; i < 5; i++) s.push(await signIn(t, 'acme', 'dave@example.com'));
    const oldestRefreshed = await refreshWith(t, 'acme', s[0]!.refresh);
    expect(oldestRefreshed.statusCode).toBe(200);
    await signIn(t, 'acme', 'dave@example.com');
    expect(await meOutcome(t, 'acme', oldestRefreshed.json().access_token)).toEqual({ status: 401, code: 'TOKEN_REVOKED' });
  });

  it('revoked sessions do not count towards the cap', async () => {
    await createUser(t, 'acme', 'erin@example.com');
    const s: SignedIn[] = [];
    for (let i = 0; i < 5; i++) s.push(await signIn(t, 'acme', 'erin@example.com'));
    const out = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/logout', headers: { authorization: `Bearer ${s[4]!.access}` } });
    expect(out.statusCode).toBe(204);
    await signIn(t, 'acme', 'erin@example.com');
    for (const x of s.slice(0, 4)) await expectAlive('acme', x);
  });

  it('other users are not affected by one user hitting the cap', async () => {
    await createUser(t, 'acme', 'frank@example.com');
    await createUser(t, 'acme', 'grace@example.com');
    const g = await signIn(t, 'acme', 'grace@example.com');
    for (let i = 0; i < 7; i++) await signIn(t, 'acme', 'frank@example.com');
    await expectAlive('acme', g);
  });

  it('a tenant with max_sessions_per_user = 2 keeps two', async () => {
    await createUser(t, 'tight', 'bob@example.com');
    const a = await signIn(t, 'tight', 'bob@example.com');
    const b = await signIn(t, 'tight', 'bob@example.com');
    const c = await signIn(t, 'tight', 'bob@example.com');
    await expectDead('tight', a);
    await expectAlive('tight', b);
    await expectAlive('tight', c);
    const d = await signIn(t, 'tight', 'bob@example.com');
    await expectDead('tight', b);
    expect((await liveSessions(tight.id, d.sub)).sort()).toEqual([c.sid, d.sid].sort());
  });

  it("an application's OAuth grants and the user's own sign-ins are capped apart: neither evicts the other", async () => {
    const carol = await createUser(t, 'tight', 'carol@example.com');
    const settings = effectiveSettings((await t.gh.tenants.byId(tight.id))!);
    const grant = (clientId: string) =>
      withTenantTx(t.gh.db, tight.id, (tx) => createSession(tx, { userId: carol.id, ip: null, userAgent: null, amr: ['pwd'], aal: 1, clientId }, settings));
    const app1 = await grant('app-one');
    const app2 = await grant('app-one');
    const other = await grant('app-two');
    // Three sign-ins of her own under a cap of two: the grants stay.
    for (let i = 0; i < 3; i++) await signIn(t, 'tight', 'carol@example.com');
    const live = await liveSessions(tight.id, carol.id);
    expect(live).toEqual(expect.arrayContaining([app1.session.id, app2.session.id, other.session.id]));
    expect(live).toHaveLength(5);
    // A third grant to app-one evicts that client's oldest grant only.
    const app3 = await grant('app-one');
    expect(app3.evicted).toEqual([app1.session.id]);
    expect(await liveSessions(tight.id, carol.id)).toHaveLength(5);
  });

  it('lowering the cap: the next login evicts every session beyond it', async () => {
    await createTenant(t, 'shrink');
    await createUser(t, 'shrink', 'carol@example.com');
    const old: SignedIn[] = [];
    for (let i = 0; i < 4; i++) old.push(await signIn(t, 'shrink', 'carol@example.com'));
    await patchTenant(t, 'shrink', { settings: { max_sessions_per_user: 1 } });
    const only = await signIn(t, 'shrink', 'carol@example.com');
    for (const x of old) await expectDead('shrink', x);
    await expectAlive('shrink', only);
  });

  it('concurrent logins cannot exceed the cap', async () => {
    await createTenant(t, 'burst', { settings: { max_sessions_per_user: 2 } });
    const user = await createUser(t, 'burst', 'burst@example.com');
    const tenantId = (await t.gh.tenants.bySlug('burst'))!.id;
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(Array.from({ length: 6 }, () => login(t, 'burst', 'burst@example.com')));
      for (const r of results) expect(r.statusCode, r.body).toBe(200);
      const live = await liveSessions(tenantId, user.id);
      expect(live.length, `round ${round}`).toBeLessThanOrEqual(2);
      // And what the store says matches what the tokens can do.
      let usable = 0;
      for (const r of results) if ((await meOutcome(t, 'burst', r.json().access_token)).status === 200) usable++;
      expect(usable, `round ${round}`).toBeLessThanOrEqual(2);
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, createUser, patchTenant, signIn, tenantQuery } from '../../helpers/auth-flows.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';
import { enrollTotp, passwordStep, verifyMfa } from './mfa-helpers.ts';

/** Recovery: a user who lost their authenticator uses a backup code; one who lost everything asks an admin. */
describe(`MFA recovery (${backendName})`, () => {
  let t: TestApp;
  let tenantId: string;
  let admin: string;
  let adminId: string;
  const slug = 'mfa-recovery';
  const other = 'mfa-recovery-b';
  const reset = (id: string, access: string, s = slug) => t.app.inject({ method: 'DELETE', url: `/t/${s}/api/v1/admin/users/${id}/mfa`, headers: bearer(access) });

  beforeAll(async () => {
    t = await buildTestApp();
    const created = await createTenant(t, slug);
    tenantId = created.id;
    await createTenant(t, other);
    const a = await signIn(t, slug, created.adminEmail);
    admin = a.access;
    adminId = a.sub;
  });
  afterAll(() => t.close());

  it('an admin reset removes every factor and backup code: the user signs in with the password again; audited and alerted', async () => {
    const { id } = await createUser(t, slug, 'lost@mfa-recovery.test');
    const s = await signIn(t, slug, 'lost@mfa-recovery.test');
    await enrollTotp(t, slug, s.access);
    await passwordStep(t, slug, 'lost@mfa-recovery.test', STRONG_PASSWORD);
    const status = () => t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/admin/users/${id}/mfa`, headers: bearer(admin) });
    expect((await status()).json()).toMatchObject({ mfa_enabled: true, factors: [{ type: 'totp' }], backup_codes_remaining: 10 });

    const res = await reset(id, admin);
    expect((await status()).json()).toEqual({ mfa_enabled: false, factors: [], backup_codes_remaining: 0 });
    expect(res.statusCode, res.body).toBe(204);
    expect(await tenantQuery(t, tenantId, 'SELECT id FROM mfa_factors WHERE user_id = $1', [id])).toEqual([]);
    expect(await tenantQuery(t, tenantId, 'SELECT id FROM mfa_backup_codes WHERE user_id = $1', [id])).toEqual([]);
    const again = await login(t, slug, 'lost@mfa-recovery.test');
    expect(again.json().access_token).toEqual(expect.any(String));

    const [ev] = (await auditEvents(t, slug, admin, 'mfa.reset')).filter((e) => e.subject_id === id);
    expect(ev).toMatchObject({ actor_id: adminId, risk: 'high', details: { factors_removed: 1 } });
    const alerts = await t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/admin/security/alerts?type=mfa_reset`, headers: bearer(admin) });
    expect(alerts.statusCode, alerts.body).toBe(200);
    expect(alerts.json().alerts).toEqual([expect.objectContaining({ type: 'mfa_reset', severity: 'high', user_id: id, details: expect.objectContaining({ by: adminId }) })]);
  });

  it('under a required policy, the reset user gets a new grace period', async () => {
    await patchTenant(t, slug, { settings: { mfa_policy: 'required', mfa_grace_period: 86_400 } });
    try {
      const { id } = await createUser(t, slug, 'grace@mfa-recovery.test');
      await tenantQuery(t, tenantId, `UPDATE users SET mfa_grace_started_at = now() - interval '2 days' WHERE id = $1`, [id]);
      expect((await login(t, slug, 'grace@mfa-recovery.test')).json()).toMatchObject({ mfa_enrollment_required: true, mfa_required: true });
      expect((await reset(id, (await signIn(t, slug, 'admin@mfa-recovery.test')).access)).statusCode).toBe(204);
      const after = (await login(t, slug, 'grace@mfa-recovery.test')).json();
      expect(after).toMatchObject({ access_token: expect.any(String), mfa_enrollment_required: true });
    } finally {
      await patchTenant(t, slug, { settings: { mfa_policy: 'optional' } });
    }
  });

  it('refuses a self-reset, a manager, an unknown user and a user of another tenant', async () => {
    expectError(await reset(adminId, admin), 400, 'CANNOT_MODIFY_SELF');
    await createUser(t, slug, 'mgr@mfa-recovery.test', { role: 'manager' });
    const mgr = await signIn(t, slug, 'mgr@mfa-recovery.test');
    const { id } = await createUser(t, slug, 'victim@mfa-recovery.test');
    expectError(await reset(id, mgr.access), 403, 'FORBIDDEN');
    expectError(await reset('00000000-0000-4000-8000-000000000000', admin), 404, 'USER_NOT_FOUND');
    const foreign = await createUser(t, other, 'someone@mfa-recovery-b.test');
    expectError(await reset(foreign.id, admin), 404, 'USER_NOT_FOUND');
    expectError(await reset(foreign.id, admin, other), 403, 'TENANT_MISMATCH');
  });

  it('a user who lost the authenticator signs in with a backup code and removes the factor after stepping up with another', async () => {
    await createUser(t, slug, 'phone@mfa-recovery.test');
    const s = await signIn(t, slug, 'phone@mfa-recovery.test');
    const { backupCodes } = await enrollTotp(t, slug, s.access);
    const token = await passwordStep(t, slug, 'phone@mfa-recovery.test', STRONG_PASSWORD);
    const signed = await verifyMfa(t, slug, { mfa_token: token, backup_code: backupCodes[0] });
    expect(signed.statusCode, signed.body).toBe(200);
    // Signing in with MFA is a recent step-up: the factor can go at once.
    const del = await t.app.inject({ method: 'DELETE', url: `/t/${slug}/api/v1/me/mfa/totp`, headers: bearer(signed.json().access_token) });
    expect(del.statusCode, del.body).toBe(204);
  });
});

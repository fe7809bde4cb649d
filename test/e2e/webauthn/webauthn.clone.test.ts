import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, expectError, type TestApp } from '../../helpers/test-app.ts';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.ts';
import { addPasskey, api, auditActions, loginOptions, passkeySignIn, signIn, signUp, verifyLogin } from './passkeys.ts';

const ORIGIN = 'http://gatehouse.test';

/** Signature counters: a counter that does not increase means a cloned authenticator; refused, audited, alerted. */
describe(`passkey clone detection (${backendName})`, () => {
  let t: TestApp;
  let admin: { access: string };
  const slug = 'clones';

  beforeAll(async () => {
    t = await buildTestApp();
    const created = await createTenant(t, slug);
    admin = await signIn(t, slug, created.adminEmail);
  });
  afterAll(() => t.close());

  async function cloneAlerts(userId: string) {
    const r = await t.app.inject({ method: 'GET', url: `${api(slug)}/admin/security/alerts?type=passkey_clone_warning`, headers: bearer(admin.access) });
    expect(r.statusCode, r.body).toBe(200);
    return (r.json().alerts as { type: string; severity: string; user_id: string; details: Record<string, unknown> }[]).filter((a) => a.user_id === userId);
  }

  it('a clone replaying the counter the original already used is refused with a passkey_clone_warning alert', async () => {
    const u = await signUp(t, slug, 'cloned@clones.test');
    const original = new SoftAuthenticator({ origin: ORIGIN });
    const cred = await addPasskey(t, slug, u.access, original);
    expect((await passkeySignIn(t, slug, original)).statusCode).toBe(200); // counter 1
    const clone = original.clone();
    expect((await passkeySignIn(t, slug, original)).statusCode).toBe(200); // counter 2
    expectError(await passkeySignIn(t, slug, clone), 401, 'WEBAUTHN_AUTHENTICATION_FAILED'); // also 2

    const alerts = await cloneAlerts(u.id);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ type: 'passkey_clone_warning', severity: 'high', details: { credential: cred.id, stored_counter: 2, presented_counter: 2 } });
    const suspected = (await auditActions(t, slug, admin.access, 'webauthn.clone_suspected')).filter((e) => e.subject_id === u.id);
    expect(suspected).toHaveLength(1);
    expect(suspected[0]!.risk).toBe('critical');
    const failed = (await auditActions(t, slug, admin.access, 'login.failed')).filter((e) => e.subject_id === u.id);
    expect(failed.map((e) => e.details.reason)).toEqual(['counter_not_increased']);

    // The stored counter did not move: the original carries on.
    expect((await passkeySignIn(t, slug, original)).statusCode).toBe(200); // 3
  });

  it('a lower counter, or a counter that falls back to 0, is refused too', async () => {
    const u = await signUp(t, slug, 'lower@clones.test');
    const soft = new SoftAuthenticator({ origin: ORIGIN });
    await addPasskey(t, slug, u.access, soft);
    for (let i = 0; i < 3; i++) expect((await passkeySignIn(t, slug, soft)).statusCode).toBe(200);
    expectError(await passkeySignIn(t, slug, soft, undefined, { counter: 1 }), 401, 'WEBAUTHN_AUTHENTICATION_FAILED');
    expectError(await passkeySignIn(t, slug, soft, undefined, { counter: 0 }), 401, 'WEBAUTHN_AUTHENTICATION_FAILED');
    expect(await cloneAlerts(u.id)).toHaveLength(2);
  });

  it('only a validly signed assertion can raise the alert: a forged one with a stale counter is just refused', async () => {
    const u = await signUp(t, slug, 'forged@clones.test');
    const soft = new SoftAuthenticator({ origin: ORIGIN });
    await addPasskey(t, slug, u.access, soft);
    for (let i = 0; i < 2; i++) expect((await passkeySignIn(t, slug, soft)).statusCode).toBe(200);
    const impostor = new SoftAuthenticator({ origin: ORIGIN });
    impostor.create({ challenge: 'x', rp: { id: 'gatehouse.test' }, user: { id: soft.credentials[0]!.userHandle } });
    const { challenge_id, options } = await loginOptions(t, slug);
    const response = impostor.get(options, { counter: 1 });
    response.id = response.rawId = soft.credentials[0]!.id.toString('base64url');
    expectError(await verifyLogin(t, slug, { challenge_id, response }), 401, 'WEBAUTHN_AUTHENTICATION_FAILED');
    expect(await cloneAlerts(u.id)).toHaveLength(0);
  });
});

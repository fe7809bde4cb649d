import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenantTx } from '../../../src/db/tenant-tx.ts';
import { notifyUser } from '../../../src/mail/outbox.ts';
import { backendName, bearer, buildTestApp, createTenant, register, type TestApp } from '../../helpers/test-app.ts';
import { deliverAndRead, startSmtpSink, type SmtpSink } from '../../helpers/smtp-sink.ts';

/** notifyUser: what lockout, alerts and MFA use to tell a user something happened to their account. */
describe(`notifyUser (${backendName})`, () => {
  let sink: SmtpSink;
  let t: TestApp;
  let tenantId: string;
  let userId: string;

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await buildTestApp({ SMTP_URL: sink.url });
    // A Portuguese-speaking tenant by default.
    tenantId = (await createTenant(t, 'notify', { branding: { default_locale: 'pt-BR' } })).id;
    const r = await register(t, 'notify', 'nora@notify.test');
    userId = r.json().user.id;
    await deliverAndRead(t.gh, sink, 'nora@notify.test'); // the verification mail
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  const notify = async (template: 'account_locked' | 'security_alert' | 'backup_code_used' | 'mfa_reset', data: never) => {
    const tenant = (await t.gh.tenants.byId(tenantId))!;
    await withTenantTx(t.gh.db, tenantId, (tx) => notifyUser(tx, t.gh, tenant, userId, template, data));
    return deliverAndRead(t.gh, sink, 'nora@notify.test');
  };

  it("uses the tenant's default language when the user has none", async () => {
    expect((await notify('mfa_reset', {} as never)).subject).toBe('Sua autenticação em dois fatores foi redefinida · NOTIFY');
    expect((await notify('account_locked', { minutes: 30 } as never)).text).toContain('bloqueada por 30 minutos');
  });

  it("uses the user's own language when set, for each notification template", async () => {
    const access = (await t.app.inject({ method: 'POST', url: '/t/notify/api/v1/auth/login', payload: { email: 'nora@notify.test', password: 'correct horse battery staple 42' } })).json().access_token;
    expect((await t.app.inject({ method: 'PATCH', url: '/t/notify/api/v1/me', headers: bearer(access), payload: { locale: 'en-GB' } })).statusCode).toBe(200);
    expect((await notify('backup_code_used', { remaining: 4 } as never)).text).toContain('Backup codes left: 4.');
    expect((await notify('security_alert', { summary: 'A sign-in from a new device.' } as never)).text).toContain('A sign-in from a new device.');
    expect((await notify('account_locked', { minutes: 5 } as never)).subject).toBe('Your account was locked · NOTIFY');
  });

  it('does nothing for a user that does not exist', async () => {
    const tenant = (await t.gh.tenants.byId(tenantId))!;
    const id = await withTenantTx(t.gh.db, tenantId, (tx) => notifyUser(tx, t.gh, tenant, '00000000-0000-4000-8000-000000000000', 'mfa_reset', {}));
    expect(id).toBeUndefined();
  });
});

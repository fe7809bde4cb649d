import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenantTx } from '../../../src/db/tenant-tx.ts';
import { isPublicAddress } from '../../../src/security/egress.ts';
import { deliverDueWebhooks } from '../../../src/security/webhook-worker.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, type TestApp } from '../../helpers/test-app.ts';

describe('which addresses count as public', () => {
  it.each([
    ['8.8.8.8', true],
    ['1.1.1.1', true],
    ['2606:4700:4700::1111', true],
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['::', false],
    ['fd00::1', false],
    ['fe80::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:8.8.8.8', true],
    ['not-an-ip', false],
  ])('%s → %s', (ip, expected) => {
    expect(isPublicAddress(ip)).toBe(expected);
  });
});

describe(`tenant webhooks cannot reach the deployment's own network (${backendName})`, () => {
  let t: TestApp;
  let token: string;
  let receiver: Server;
  let port: number;
  let hits = 0;

  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'egress');
    token = (await login(t, 'egress', 'admin@egress.test')).json().access_token;
    receiver = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
    await t?.close();
  });

  const put = (url: string) =>
    t.app.inject({ method: 'PUT', url: '/t/egress/api/v1/admin/security/webhook', headers: bearer(token), payload: { url } });

  it.each(['http://127.0.0.1:9/hook', 'http://[::1]/hook', 'http://169.254.169.254/latest/meta-data', 'https://localhost/hook', 'http://10.0.0.8/x'])(
    'refuses %s when it is set',
    async (url) => {
      const err = expectError(await put(url), 400, 'VALIDATION_ERROR');
      expect(err.details).toEqual([{ field: 'url', message: expect.stringMatching(/public address/) }]);
    },
  );

  it('a DNS name that resolves to a private address is refused when dialled: the receiver gets nothing, no retries', async () => {
    const name = hostname();
    const resolved = await lookup(name).catch(() => undefined);
    if (!resolved || isPublicAddress(resolved.address)) {
      console.warn(`skipped: ${name} does not resolve to a private address on this machine`);
      return;
    }
    const set = await put(`http://${name}:${port}/hook`);
    expect(set.statusCode, set.body).toBe(200);
    // An alert to deliver: an admin raising another user to admin is a privilege_escalation alert.
    const created = await t.app.inject({
      method: 'POST',
      url: '/t/egress/api/v1/admin/users',
      headers: bearer(token),
      payload: { email: 'other@egress.test', password: 'correct horse battery staple 42' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const raised = await t.app.inject({
      method: 'PATCH',
      url: `/t/egress/api/v1/admin/users/${created.json().id}`,
      headers: bearer(token),
      payload: { role: 'admin' },
    });
    expect(raised.statusCode, raised.body).toBe(200);
    const run = await deliverDueWebhooks(t.gh);
    expect(run).toMatchObject({ attempted: 1, delivered: 0, failed: 1 });
    expect(hits).toBe(0);
    const tenantId = (await t.gh.tenants.bySlug('egress'))!.id;
    const rows = await withTenantTx(t.gh.db, tenantId, (tx) => tx.query<{ status: string; last_error: string }>('SELECT status, last_error FROM webhook_deliveries'));
    expect(rows.rows).toEqual([{ status: 'failed', last_error: `${name} is not a public address` }]);
  });
});

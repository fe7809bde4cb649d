import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectResponse } from '../../helpers/auth-flows.ts';
import { withPlatformTx, withTenantTx } from '../../../src/db/tenant-tx.ts';
import { deliverDueWebhooks } from '../../../src/security/webhook-worker.ts';
import { backendName, bearer, buildTestApp, createTenant, expectError, login, register, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

const WRONG = 'not the right password at all';

interface Alert {
  id: string;
  type: string;
  severity: string;
  status: string;
  user_id: string | null;
  details: Record<string, unknown>;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  resolved_by: string | null;
  resolved_at: string | null;
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1: answers each request with the next status of `statuses` (then 200). */
async function startReceiver(statuses: number[] = []): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = statuses.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/gatehouse`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What a receiver does: recompute the HMAC over "<t>.<raw body>" and compare in constant time. */
function verifySignature(secret: string, header: string | string[] | undefined, body: string): { ok: boolean; t: number } {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(header));
  if (!m) return { ok: false, t: 0 };
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return { ok: timingSafeEqual(expected, Buffer.from(m[2]!, 'hex')), t: Number(m[1]) };
}

describe(`security alerts and their webhook (${backendName})`, () => {
  let t: TestApp;
  const admin: Record<string, { token: string; sub: string }> = {};

  const attempt = (slug: string, email: string, password: string, ip: string) =>
    t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/login`, payload: { email, password }, remoteAddress: ip });

  async function signInAdmin(slug: string) {
    const r = await login(t, slug, `admin@${slug}.test`);
    expect(r.statusCode, r.body).toBe(200);
    admin[slug] = { token: r.json().access_token, sub: r.json().user.id };
  }

  async function alerts(slug: string, query = '', token = admin[slug]!.token): Promise<Alert[]> {
    const r = await t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/admin/security/alerts${query}`, headers: bearer(token) });
    expect(r.statusCode, r.body).toBe(200);
    return r.json().alerts;
  }

  async function newUser(slug: string, email: string): Promise<{ id: string; access: string; refresh: string }> {
    const r = await register(t, slug, email);
    expect(r.statusCode, r.body).toBe(201);
    return { id: r.json().user.id, access: r.json().access_token, refresh: r.json().refresh_token };
  }

  const promote = (slug: string, id: string, role: string) =>
    t.app.inject({ method: 'PATCH', url: `/t/${slug}/api/v1/admin/users/${id}`, headers: bearer(admin[slug]!.token), payload: { role } });

  beforeAll(async () => {
    t = await buildTestApp({ GATEHOUSE_WEBHOOK_ALLOW_PRIVATE: 'true' });
    // Per-email delays are raised so five failures in a row are all counted (and none is refused early).
    await createTenant(t, 'alerts', { settings: { login_max_failures_per_email: 100 } });
    await createTenant(t, 'lockers', { settings: { lockout_threshold: 3, login_max_failures_per_email: 100 } });
    await createTenant(t, 'hooks', { settings: { login_max_failures_per_email: 100 } });
    await createTenant(t, 'other');
    for (const slug of ['alerts', 'lockers', 'hooks', 'other']) await signInAdmin(slug);
  });
  afterAll(() => t.close());

  it('five wrong passwords from different IPs raise one multiple_failures alert (medium)', async () => {
    const victim = await newUser('alerts', 'victim@alerts.test');
    for (let i = 1; i <= 4; i++) expect((await attempt('alerts', 'victim@alerts.test', WRONG, `203.0.113.${i}`)).statusCode).toBe(401);
    expect((await alerts('alerts', '?type=multiple_failures')).filter((a) => a.user_id === victim.id)).toEqual([]);
    expect((await attempt('alerts', 'victim@alerts.test', WRONG, '203.0.113.5')).statusCode).toBe(401);
    expect((await attempt('alerts', 'victim@alerts.test', WRONG, '203.0.113.6')).statusCode).toBe(401);
    const raised = (await alerts('alerts', '?type=multiple_failures')).filter((a) => a.user_id === victim.id);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ type: 'multiple_failures', severity: 'medium', status: 'open', acknowledged_by: null, resolved_by: null });
    expect(raised[0]!.details.failures).toBe(5);
    // Not locked: the default threshold is 10.
    expect((await attempt('alerts', 'victim@alerts.test', STRONG_PASSWORD, '203.0.113.7')).statusCode).toBe(200);
  });

  it('a lockout raises account_locked (critical) with the lock', async () => {
    const owner = await newUser('lockers', 'owner@lockers.test');
    for (let i = 1; i <= 3; i++) expect((await attempt('lockers', 'owner@lockers.test', WRONG, `198.51.100.${i}`)).statusCode).toBe(401);
    const locked = await alerts('lockers', '?type=account_locked');
    expect(locked).toHaveLength(1);
    expect(locked[0]).toMatchObject({ type: 'account_locked', severity: 'critical', user_id: owner.id, status: 'open' });
    expect(locked[0]!.details).toMatchObject({ failures: 3 });
    // Below five failures: no multiple_failures alert; the account is locked.
    expect(await alerts('lockers', '?type=multiple_failures')).toEqual([]);
    expectError(await attempt('lockers', 'owner@lockers.test', STRONG_PASSWORD, '198.51.100.9'), 403, 'ACCOUNT_LOCKED');
  });

  it('refresh token reuse raises refresh_token_reuse (high)', async () => {
    const u = await newUser('alerts', 'reuser@alerts.test');
    const refresh = (token: string) => t.app.inject({ method: 'POST', url: '/t/alerts/api/v1/auth/refresh', payload: { refresh_token: token } });
    expect((await refresh(u.refresh)).statusCode).toBe(200);
    expectError(await refresh(u.refresh), 401, 'REFRESH_TOKEN_REUSED');
    const raised = (await alerts('alerts', '?type=refresh_token_reuse')).filter((a) => a.user_id === u.id);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ severity: 'high', status: 'open' });
    expect(typeof raised[0]!.details.session_id).toBe('string');
  });

  it('raising a role to admin raises privilege_escalation (high); other role changes do not', async () => {
    const u = await newUser('alerts', 'climber@alerts.test');
    expect((await promote('alerts', u.id, 'manager')).statusCode).toBe(200);
    expect((await alerts('alerts', '?type=privilege_escalation')).filter((a) => a.user_id === u.id)).toEqual([]);
    expect((await promote('alerts', u.id, 'admin')).statusCode).toBe(200);
    const raised = (await alerts('alerts', '?type=privilege_escalation')).filter((a) => a.user_id === u.id);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ severity: 'high', details: { from: 'manager', to: 'admin', by: admin.alerts!.sub } });
  });

  it('lists newest first with a keyset cursor', async () => {
    const all = await alerts('alerts');
    expect(all.length).toBeGreaterThanOrEqual(3);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: InjectResponse = await t.app.inject({
        method: 'GET',
        url: `/t/alerts/api/v1/admin/security/alerts?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        headers: bearer(admin.alerts!.token),
      });
      expect(r.statusCode, r.body).toBe(200);
      seen.push(...(r.json().alerts as Alert[]).map((a) => a.id));
      cursor = r.json().next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.map((a) => a.id));
    expectError(
      await t.app.inject({ method: 'GET', url: '/t/alerts/api/v1/admin/security/alerts?cursor=bm9wZQ', headers: bearer(admin.alerts!.token) }),
      400,
      'VALIDATION_ERROR',
    );
  });

  it('acknowledge then resolve: who and when are recorded and audited; a manager reads but cannot change', async () => {
    const [alert] = await alerts('alerts', '?type=refresh_token_reuse');
    const url = `/t/alerts/api/v1/admin/security/alerts/${alert!.id}`;
    const ack = await t.app.inject({ method: 'PATCH', url, headers: bearer(admin.alerts!.token), payload: { status: 'acknowledged' } });
    expect(ack.statusCode, ack.body).toBe(200);
    expect(ack.json()).toMatchObject({ status: 'acknowledged', acknowledged_by: admin.alerts!.sub, resolved_by: null });
    expect(Date.parse(ack.json().acknowledged_at)).toBeGreaterThan(Date.now() - 60_000);

    const res = await t.app.inject({ method: 'PATCH', url, headers: bearer(admin.alerts!.token), payload: { status: 'resolved' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'resolved', acknowledged_by: admin.alerts!.sub, resolved_by: admin.alerts!.sub });
    expect(res.json().resolved_at).toBeTruthy();
    expectError(await t.app.inject({ method: 'PATCH', url, headers: bearer(admin.alerts!.token), payload: { status: 'acknowledged' } }), 400, 'VALIDATION_ERROR');
    expectError(await t.app.inject({ method: 'PATCH', url, headers: bearer(admin.alerts!.token), payload: { status: 'open' } }), 400, 'VALIDATION_ERROR');
    expectError(
      await t.app.inject({ method: 'PATCH', url, headers: bearer(admin.alerts!.token), payload: { status: 'resolved', extra: 1 } }),
      400,
      'VALIDATION_ERROR',
    );

    expect((await alerts('alerts', '?status=resolved')).map((a) => a.id)).toEqual([alert!.id]);
    expect((await alerts('alerts', '?status=open')).map((a) => a.id)).not.toContain(alert!.id);

    const audit = await t.app.inject({ method: 'GET', url: '/t/alerts/api/v1/admin/audit?action=security.alert_*', headers: bearer(admin.alerts!.token) });
    expect((audit.json().events as { action: string; actor_id: string }[]).map((e) => [e.action, e.actor_id])).toEqual([
      ['security.alert_resolved', admin.alerts!.sub],
      ['security.alert_acknowledged', admin.alerts!.sub],
    ]);

    // A manager has audit:read, not tenant:manage.
    const created = await t.app.inject({
      method: 'POST',
      url: '/t/alerts/api/v1/admin/users',
      headers: bearer(admin.alerts!.token),
      payload: { email: 'manager@alerts.test', password: STRONG_PASSWORD, role: 'manager' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const manager = (await login(t, 'alerts', 'manager@alerts.test')).json().access_token as string;
    expect((await alerts('alerts', '', manager)).length).toBeGreaterThan(0);
    const [open] = await alerts('alerts', '?status=open');
    expectError(
      await t.app.inject({ method: 'PATCH', url: `/t/alerts/api/v1/admin/security/alerts/${open!.id}`, headers: bearer(manager), payload: { status: 'acknowledged' } }),
      403,
      'FORBIDDEN',
    );
    expectError(
      await t.app.inject({ method: 'PUT', url: '/t/alerts/api/v1/admin/security/webhook', headers: bearer(manager), payload: { url: 'https://example.com/hook' } }),
      403,
      'FORBIDDEN',
    );
    // A plain user reads nothing.
    const user = (await login(t, 'alerts', 'reuser@alerts.test')).json().access_token as string;
    expectError(await t.app.inject({ method: 'GET', url: '/t/alerts/api/v1/admin/security/alerts', headers: bearer(user) }), 403, 'FORBIDDEN');
    expectError(await t.app.inject({ method: 'GET', url: '/t/alerts/api/v1/admin/security/alerts' }), 401, 'UNAUTHENTICATED');
  });

  it("cross-tenant: another tenant's admin neither sees nor changes A's alerts", async () => {
    const mine = await alerts('alerts');
    expect(mine.length).toBeGreaterThan(0);
    expect(await alerts('other')).toEqual([]);
    expectError(
      await t.app.inject({ method: 'GET', url: '/t/alerts/api/v1/admin/security/alerts', headers: bearer(admin.other!.token) }),
      403,
      'TENANT_MISMATCH',
    );
    expectError(
      await t.app.inject({ method: 'PATCH', url: `/t/other/api/v1/admin/security/alerts/${mine[0]!.id}`, headers: bearer(admin.other!.token), payload: { status: 'resolved' } }),
      404,
      'NOT_FOUND',
    );
    expect((await alerts('alerts')).find((a) => a.id === mine[0]!.id)!.status).toBe(mine[0]!.status);
    const deliveries = await t.app.inject({ method: 'GET', url: '/t/other/api/v1/admin/security/webhook/deliveries', headers: bearer(admin.other!.token) });
    expect(deliveries.json().deliveries).toEqual([]);
  });

  it('only http(s) URLs without credentials are accepted for the webhook', async () => {
    const put = (url: string) =>
      t.app.inject({ method: 'PUT', url: '/t/hooks/api/v1/admin/security/webhook', headers: bearer(admin.hooks!.token), payload: { url } });
    for (const bad of ['ftp://example.com/hook', 'javascript:alert(1)', 'not a url at all', 'https://user:pw@example.com/hook']) {
      expectError(await put(bad), 400, 'VALIDATION_ERROR');
    }
    expectError(
      await t.app.inject({ method: 'GET', url: '/t/hooks/api/v1/admin/security/webhook', headers: bearer(admin.hooks!.token) }),
      404,
      'NOT_FOUND',
    );
  });

  it('a webhook receives each alert, signed with the secret PUT returned; delivery is logged', async () => {
    const receiver = await startReceiver();
    try {
      const put = await t.app.inject({
        method: 'PUT',
        url: '/t/hooks/api/v1/admin/security/webhook',
        headers: bearer(admin.hooks!.token),
        payload: { url: receiver.url },
      });
      expect(put.statusCode, put.body).toBe(200);
      const { url, secret } = put.json() as { url: string; secret: string };
      expect(url).toBe(receiver.url);
      expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      // Sealed at rest, never returned again.
      const stored = await withPlatformTx(t.gh.db, (tx) => tx.query<{ secret_enc: string }>('SELECT secret_enc FROM webhook_endpoints'));
      for (const row of stored.rows) expect(row.secret_enc).not.toContain(secret.slice(6));
      const shown = await t.app.inject({ method: 'GET', url: '/t/hooks/api/v1/admin/security/webhook', headers: bearer(admin.hooks!.token) });
      expect(shown.json()).toMatchObject({ url: receiver.url, enabled: true });
      expect(shown.body).not.toContain(secret);

      const u = await newUser('hooks', 'target@hooks.test');
      expect((await promote('hooks', u.id, 'admin')).statusCode).toBe(200);
      const [alert] = await alerts('hooks', '?type=privilege_escalation');

      // The delivery was queued with the alert (outbox) and is sent by the worker.
      const run = await deliverDueWebhooks(t.gh);
      expect(run).toMatchObject({ attempted: 1, delivered: 1 });
      expect(receiver.received).toHaveLength(1);
      const got = receiver.received[0]!;
      expect(got.headers['content-type']).toBe('application/json');
      expect(got.headers['x-gatehouse-event']).toBe('security.alert');
      const sig = verifySignature(secret, got.headers['x-gatehouse-signature'], got.body);
      expect(sig.ok).toBe(true);
      expect(Math.abs(sig.t - Date.now() / 1000)).toBeLessThan(60);
      expect(verifySignature('whsec_wrong', got.headers['x-gatehouse-signature'], got.body).ok).toBe(false);
      const body = JSON.parse(got.body);
      expect(body).toMatchObject({ event: 'security.alert', alert: { id: alert!.id, type: 'privilege_escalation', severity: 'high', user_id: u.id } });

      const log = await t.app.inject({ method: 'GET', url: '/t/hooks/api/v1/admin/security/webhook/deliveries', headers: bearer(admin.hooks!.token) });
      expect(log.statusCode, log.body).toBe(200);
      expect(log.json().deliveries).toHaveLength(1);
      expect(log.json().deliveries[0]).toMatchObject({
        id: got.headers['x-gatehouse-delivery'],
        alert_id: alert!.id,
        url: receiver.url,
        status: 'delivered',
        attempts: 1,
        last_status: 200,
        last_error: null,
      });
      expect(log.json().deliveries[0].delivered_at).toBeTruthy();
      // Nothing left to send.
      expect((await deliverDueWebhooks(t.gh)).attempted).toBe(0);
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('a failed delivery is retried with backoff and the same delivery id; every attempt is logged', async () => {
    const receiver = await startReceiver([500]);
    try {
      const put = await t.app.inject({
        method: 'PUT',
        url: '/t/hooks/api/v1/admin/security/webhook',
        headers: bearer(admin.hooks!.token),
        payload: { url: receiver.url },
      });
      const { secret } = put.json() as { secret: string };
      const u = await newUser('hooks', 'retry@hooks.test');
      expect((await promote('hooks', u.id, 'admin')).statusCode).toBe(200);

      expect(await deliverDueWebhooks(t.gh)).toMatchObject({ attempted: 1, delivered: 0, retrying: 1 });
      const after1 = await deliveriesOf('hooks');
      const d = after1.find((x) => x.status === 'pending')!;
      expect(d).toMatchObject({ attempts: 1, last_status: 500, last_error: 'HTTP 500' });
      const wait = Date.parse(d.next_attempt_at) - Date.now();
      expect(wait).toBeGreaterThan(3_000);
      expect(wait).toBeLessThanOrEqual(5_500);

      // Not due yet: nothing is sent.
      expect((await deliverDueWebhooks(t.gh)).attempted).toBe(0);
      expect(receiver.received).toHaveLength(1);

      // Time passes (moved in storage rather than waited for).
      await makeDue(d.id);
      expect(await deliverDueWebhooks(t.gh)).toMatchObject({ attempted: 1, delivered: 1 });
      expect(receiver.received).toHaveLength(2);
      expect(receiver.received.map((r) => r.headers['x-gatehouse-delivery'])).toEqual([d.id, d.id]);
      for (const r of receiver.received) expect(verifySignature(secret, r.headers['x-gatehouse-signature'], r.body).ok).toBe(true);
      expect((await deliveriesOf('hooks')).find((x) => x.id === d.id)).toMatchObject({ status: 'delivered', attempts: 2, last_status: 200, last_error: null });
    } finally {
      await receiver.close();
    }
  });

  it('backoff doubles per attempt; after the last attempt a delivery is failed; an unreachable receiver is logged', async () => {
    const receiver = await startReceiver([503, 503, 503]);
    try {
      await t.app.inject({ method: 'PUT', url: '/t/hooks/api/v1/admin/security/webhook', headers: bearer(admin.hooks!.token), payload: { url: receiver.url } });
      const u = await newUser('hooks', 'giveup@hooks.test');
      expect((await promote('hooks', u.id, 'admin')).statusCode).toBe(200);
      const opts = { maxAttempts: 3, baseBackoffMs: 10_000 };
      const waits: number[] = [];
      let id = '';
      for (let i = 0; i < 3; i++) {
        await deliverDueWebhooks(t.gh, opts);
        const d = (await deliveriesOf('hooks'))[0]!;
        id = d.id;
        expect(d.attempts).toBe(i + 1);
        waits.push(Date.parse(d.next_attempt_at) - Date.now());
        if (i < 2) await makeDue(d.id);
      }
      expect(waits[0]).toBeGreaterThan(8_000);
      expect(waits[1]).toBeGreaterThan(18_000);
      const last = (await deliveriesOf('hooks')).find((x) => x.id === id)!;
      expect(last).toMatchObject({ status: 'failed', attempts: 3, last_status: 503 });
      await makeDue(id);
      expect((await deliverDueWebhooks(t.gh, opts)).attempted).toBe(0);
    } finally {
      await receiver.close();
    }

    // The receiver is gone: the connection error is recorded without a status.
    const u = await newUser('hooks', 'unreachable@hooks.test');
    expect((await promote('hooks', u.id, 'admin')).statusCode).toBe(200);
    expect(await deliverDueWebhooks(t.gh)).toMatchObject({ attempted: 1, retrying: 1 });
    const d = (await deliveriesOf('hooks'))[0]!;
    expect(d).toMatchObject({ status: 'pending', attempts: 1, last_status: null });
    expect(d.last_error).toBeTruthy();
  });

  it('after DELETE no delivery is queued, and pending ones are given up', async () => {
    const url = '/t/hooks/api/v1/admin/security/webhook';
    const before = (await deliveriesOf('hooks')).length;
    const pending = (await deliveriesOf('hooks')).filter((x) => x.status === 'pending');
    expect(pending.length).toBeGreaterThan(0);
    const del = await t.app.inject({ method: 'DELETE', url, headers: bearer(admin.hooks!.token) });
    expect(del.statusCode).toBe(204);
    expectError(await t.app.inject({ method: 'DELETE', url, headers: bearer(admin.hooks!.token) }), 404, 'NOT_FOUND');
    const u = await newUser('hooks', 'late@hooks.test');
    expect((await promote('hooks', u.id, 'admin')).statusCode).toBe(200);
    expect(await deliveriesOf('hooks')).toHaveLength(before);
    for (const p of pending) await makeDue(p.id);
    await deliverDueWebhooks(t.gh);
    const log = await deliveriesOf('hooks');
    for (const p of pending) expect(log.find((x) => x.id === p.id)).toMatchObject({ status: 'failed', last_error: 'webhook endpoint removed' });
    const audit = await t.app.inject({ method: 'GET', url: '/t/hooks/api/v1/admin/audit?action=security.webhook_*', headers: bearer(admin.hooks!.token) });
    expect((audit.json().events as { action: string }[]).map((e) => e.action)[0]).toBe('security.webhook_deleted');
  });

  async function deliveriesOf(slug: string) {
    const r = await t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/admin/security/webhook/deliveries`, headers: bearer(admin[slug]!.token) });
    expect(r.statusCode, r.body).toBe(200);
    return r.json().deliveries as {
      id: string;
      status: string;
      attempts: number;
      next_attempt_at: string;
      last_status: number | null;
      last_error: string | null;
    }[];
  }

  async function makeDue(id: string) {
    const tenantId = (await t.gh.tenants.bySlug('hooks'))!.id;
    await withTenantTx(t.gh.db, tenantId, (tx) => tx.query(`UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 second' WHERE id = $1`, [id]));
  }
});

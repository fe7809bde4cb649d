import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, bearer, buildTestApp, createTenant, login, register, type TestApp } from '../../helpers/test-app.ts';

/** The value of one sample line, e.g. sample(text, 'auth_attempts_total{tenant="acme",result="success",method="password"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe(`metrics (${backendName})`, () => {
  let t: TestApp;
  let userId: string;
  beforeAll(async () => {
    t = await buildTestApp();
    await createTenant(t, 'acme');
    const reg = await register(t, 'acme', 'user@acme.test');
    userId = reg.json().user.id;
    const l = await login(t, 'acme', 'user@acme.test');
    expect((await login(t, 'acme', 'user@acme.test', 'wrong password entirely')).statusCode).toBe(401);
    expect((await login(t, 'acme', 'nobody@acme.test')).statusCode).toBe(401);
    const rf = await t.app.inject({ method: 'POST', url: '/t/acme/api/v1/auth/refresh', payload: { refresh_token: l.json().refresh_token } });
    expect(rf.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/t/acme/api/v1/me', headers: bearer(rf.json().access_token) })).statusCode).toBe(200);
    const admin = (await login(t, 'acme', 'admin@acme.test')).json().access_token;
    expect((await t.app.inject({ method: 'GET', url: `/t/acme/api/v1/admin/users/${userId}`, headers: bearer(admin) })).statusCode).toBe(200);
    await t.app.inject({ method: 'GET', url: '/no-such-route-4711' });
  });
  afterAll(() => t.close());

  async function metrics(): Promise<string> {
    const r = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    return r.body;
  }

  it('counts auth attempts by tenant, result and method', async () => {
    const text = await metrics();
    expect(text).toContain('# TYPE auth_attempts_total counter');
    expect(sample(text, 'auth_attempts_total{tenant="acme",result="success",method="register"}')).toBe(1);
    expect(sample(text, 'auth_attempts_total{tenant="acme",result="success",method="password"}')).toBe(2);
    expect(sample(text, 'auth_attempts_total{tenant="acme",result="failure",method="password"}')).toBe(2);
  });

  it('reports active sessions from the database', async () => {
    const text = await metrics();
    const live = await t.gh.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sessions WHERE revoked_at IS NULL AND idle_expires_at > now() AND absolute_expires_at > now()`,
    );
    expect(sample(text, 'active_sessions')).toBe(live.rows[0]!.n);
    expect(live.rows[0]!.n).toBe(3);
  });

  it('times token operations and HTTP requests, labelled by route template (not raw URL)', async () => {
    const text = await metrics();
    expect(text).toContain('# TYPE token_operation_duration_seconds histogram');
    for (const op of ['sign', 'verify', 'refresh']) {
      expect(sample(text, `token_operation_duration_seconds_count{operation="${op}"}`), op).toBeGreaterThan(0);
    }
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(sample(text, 'http_request_duration_seconds_count{method="POST",route="/t/:tenant/api/v1/auth/login",status="200"}')).toBe(2);
    expect(sample(text, 'http_request_duration_seconds_count{method="POST",route="/t/:tenant/api/v1/auth/login",status="401"}')).toBe(2);
    expect(text).toContain('route="/t/:tenant/api/v1/admin/users/:id"');
    // No per-user or per-URL label values (unbounded cardinality, personal data).
    expect(text).not.toContain(userId);
    expect(text).not.toContain('no-such-route-4711');
    expect(text).not.toContain('user@acme.test');
  });

  it('exposes the rate-limit counter and process metrics', async () => {
    const text = await metrics();
    expect(text).toContain('# TYPE rate_limit_hits_total counter');
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
  });
});

describe(`OpenAPI document and docs (${backendName})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('/openapi.json is an OpenAPI 3.1 document of the tenant and platform routes', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json() as {
      openapi: string;
      info: { title: string };
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; security?: unknown[]; responses?: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Gatehouse');
    const paths = Object.keys(doc.paths);
    for (const p of [
      '/t/{tenant}/api/v1/auth/register',
      '/t/{tenant}/api/v1/auth/login',
      '/t/{tenant}/api/v1/auth/refresh',
      '/t/{tenant}/api/v1/auth/logout',
      '/t/{tenant}/api/v1/me',
      '/t/{tenant}/api/v1/me/password',
      '/t/{tenant}/api/v1/me/sessions',
      '/t/{tenant}/api/v1/admin/users',
      '/t/{tenant}/api/v1/admin/users/{id}',
      '/t/{tenant}/api/v1/admin/audit',
      '/t/{tenant}/.well-known/jwks.json',
      '/api/v1/platform/tenants',
      '/api/v1/platform/tenants/{tenant}',
      '/api/v1/platform/credentials',
    ]) {
      expect(paths, p).toContain(p);
    }
    // The root-mounted duplicates and operational endpoints stay out of the document.
    expect(paths).not.toContain('/api/v1/auth/login');
    expect(paths).not.toContain('/api/v1/me');
    expect(paths).not.toContain('/health');
    expect(paths).not.toContain('/openapi.json');

    const loginOp = doc.paths['/t/{tenant}/api/v1/auth/login']!.post!;
    expect(loginOp.parameters?.some((p) => p.name === 'tenant' && p.in === 'path')).toBe(true);
    expect(Object.keys(loginOp.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401']));
    expect(doc.paths['/t/{tenant}/api/v1/me']!.get!.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/api/v1/platform/tenants']!.post!.security).toEqual([{ platformAuth: [] }]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearerAuth', 'platformAuth']);

    // Every {name} in a path is a declared path parameter of each of its operations (OpenAPI requires it, and SDK
    // generators fail without it): also where a route declares parameters of its own besides the tenant.
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      for (const [method, op] of Object.entries(ops)) {
        for (const name of names) {
          if (!op.parameters?.some((p) => p.name === name && p.in === 'path')) missing.push(`${method.toUpperCase()} ${path}: ${name}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('/docs answers 200 with an HTML page', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
  });
});

describe(`metrics behind GATEHOUSE_METRICS_TOKEN (${backendName})`, () => {
  let t: TestApp;
  const TOKEN = 'scrape-token-0123456789abcdef';
  beforeAll(async () => {
    t = await buildTestApp({ GATEHOUSE_METRICS_TOKEN: TOKEN });
  });
  afterAll(() => t.close());

  it('refuses a scrape without the token or with another one, and serves the one holding it', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(none.json().error.code).toBe('UNAUTHENTICATED');
    expect((await t.app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKEN.slice(0, -1) + 'X') })).statusCode).toBe(401);
    const ok = await t.app.inject({ method: 'GET', url: '/metrics', headers: bearer(TOKEN) });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('rate_limit_hits_total');
  });
});

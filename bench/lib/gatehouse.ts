import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { profileArgs, ROOT, spawnChild, type Child } from './child.ts';

export const PASSWORD = 'correct horse battery staple 42';

export interface GatehouseProcess {
  url: string;
  platformToken: string;
  child: Child;
  dataDir: string;
  /** e.g. pglite+memory */
  backend: string;
  stop(): Promise<void>;
}

/**
 * Starts Gatehouse in a child process (bench/lib/serve.ts) on a fresh temporary data directory: embedded PGlite
 * and in-memory KV unless env names DATABASE_URL / REDIS_URL. Default argon2 parameters unless env overrides.
 *
 * `backend: 'server'` (what BENCH_BACKEND=server selects in login/me/refresh) instead uses a fresh database on the
 * local PostgreSQL (dropped at stop) and the local Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379).
 */
export async function startGatehouse(
  env: Record<string, string> = {},
  opts: { backend?: Backend } = {},
): Promise<GatehouseProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-bench-'));
  let child: Child;
  let pgDb: Awaited<ReturnType<typeof freshPostgres>> | undefined;
  try {
    if (opts.backend === 'server') {
      pgDb = await freshPostgres();
      env = { DATABASE_URL: pgDb.url, REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', ...env };
    }
    child = await spawnChild(join(ROOT, 'bench/lib/serve.ts'), {
      nodeArgs: profileArgs(),
      env: {
        PORT: '0',
        HOST: '127.0.0.1',
        GATEHOUSE_DATA_DIR: dataDir,
        GATEHOUSE_LOG_LEVEL: 'error',
        GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64url'),
        ...env,
      },
      timeoutMs: 120_000,
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    await pgDb?.drop();
    throw err;
  }
  return {
    url: child.ready.url as string,
    platformToken: child.ready.platformToken as string,
    child,
    dataDir,
    backend: `${child.ready.database as string}+${child.ready.kv as string}`,
    async stop() {
      await child.stop();
      rmSync(dataDir, { recursive: true, force: true });
      await pgDb?.drop();
    },
  };
}

export type Backend = 'embedded' | 'server';

/** BENCH_BACKEND: `embedded` (default: PGlite + in-memory KV) or `server` (PostgreSQL + Redis on localhost). */
export function backendFromEnv(): Backend {
  const v = process.env.BENCH_BACKEND ?? 'embedded';
  if (v !== 'embedded' && v !== 'server') throw new Error('BENCH_BACKEND must be "embedded" or "server"');
  return v;
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export async function api<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string } = {},
): Promise<ApiResponse<T>> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    },
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: body as T };
}

function expect<T>(r: ApiResponse<T>, status: number, what: string): T {
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`);
  return r.body;
}

export interface TenantInfo {
  id: string;
  slug: string;
  issuer: string;
  adminEmail: string;
}

/**
 * A load test is one client hammering one tenant: its request budgets are raised as an operator would for one,
 * not turned off, so every measured request still pays for its rate-limit check.
 */
const BENCH_RATE_LIMITS = {
  auth: { points: 10_000_000, window: 60 },
  api: { points: 10_000_000, window: 60 },
  admin: { points: 10_000_000, window: 60 },
};

export async function createTenant(gh: GatehouseProcess, slug: string, extra: Record<string, unknown> = {}): Promise<TenantInfo> {
  const adminEmail = `admin@${slug}.bench`;
  const settings = { rate_limits: BENCH_RATE_LIMITS, ...((extra.settings as Record<string, unknown> | undefined) ?? {}) };
  extra = { ...extra, settings };
  const body = expect(
    await api<{ id: string; slug: string; issuer: string }>(gh.url, 'POST', '/api/v1/platform/tenants', {
      token: gh.platformToken,
      body: { slug, name: slug, admin: { email: adminEmail, password: PASSWORD }, ...extra },
    }),
    201,
    `create tenant ${slug}`,
  );
  return { ...body, adminEmail };
}

/** Creates users through the platform API (each costs one argon2 hash), a few at a time. */
export async function createUsers(gh: GatehouseProcess, slug: string, emails: string[], parallel = 4): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < emails.length) {
      const email = emails[i++]!;
      expect(
        await api(gh.url, 'POST', `/api/v1/platform/tenants/${slug}/users`, {
          token: gh.platformToken,
          body: { email, password: PASSWORD, role: 'user', verified: true },
        }),
        201,
        `create user ${email}`,
      );
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  user: { id: string; email: string };
}

export async function login(gh: GatehouseProcess, slug: string, email: string, password = PASSWORD): Promise<Tokens> {
  return expect(
    await api<Tokens>(gh.url, 'POST', `/t/${slug}/api/v1/auth/login`, { body: { email, password } }),
    200,
    `login ${email}`,
  );
}

/** A fresh database on the local PostgreSQL server, dropped by `drop` (also on failure paths). */
export async function freshPostgres(
  serverUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `gh_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = '/' + name;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

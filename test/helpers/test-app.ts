import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createGatehouse, type Gatehouse } from '../../src/context.ts';
import type { Database } from '../../src/db/database.ts';
import { listMigrations, migrate } from '../../src/db/migrate.ts';
import { createPgliteDatabase } from '../../src/db/pglite.ts';
import { createPostgresDatabase } from '../../src/db/postgres.ts';
import { withPlatformTx } from '../../src/db/tenant-tx.ts';
import type { KvStore } from '../../src/kv/kv-store.ts';
import { createRedisKv } from '../../src/kv/redis-kv.ts';
import { createPlatformCredential } from '../../src/platform/platform-credentials.ts';

/**
 * Storage under test: the embedded defaults, or the real services when CI sets GATEHOUSE_TEST_DATABASE_URL
 * (a server URL; each test app gets a fresh database on it) and GATEHOUSE_TEST_REDIS_URL.
 */
export const TEST_PG = process.env.GATEHOUSE_TEST_DATABASE_URL;
export const TEST_REDIS = process.env.GATEHOUSE_TEST_REDIS_URL;
export const backendName = `${TEST_PG ? 'postgres' : 'pglite'}+${TEST_REDIS ? 'redis' : 'memory'}`;

/** A fresh database on the test PostgreSQL server, dropped by the returned cleanup. */
export async function freshPostgres(serverUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `gh_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = '/' + name;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * A new embedded cluster costs about a second (PGlite runs initdb); loading a dump of one already migrated costs a
 * third of that. So the first test app on a machine writes the migrated template to the temporary directory, keyed
 * by the migrations and the PGlite version, and every later one (in any test process) loads it.
 */
async function migratedPglite(): Promise<Database> {
  const pkg = join(process.cwd(), 'node_modules/@electric-sql/pglite/package.json');
  const version = existsSync(pkg) ? (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version : 'unknown';
  const key = createHash('sha256').update(version).update(JSON.stringify(listMigrations())).digest('hex').slice(0, 16);
  const file = join(tmpdir(), `gatehouse-test-pglite-${key}.tar`);
  if (existsSync(file)) {
    const db = await createPgliteDatabase(undefined, { loadDataDir: new Blob([readFileSync(file)]) });
    await migrate(db); // nothing to apply: the template holds them all
    return db;
  }
  const db = await createPgliteDatabase();
  await migrate(db);
  // Written beside, then renamed: a parallel test process never reads half a template.
  const partial = `${file}.${process.pid}.part`;
  writeFileSync(partial, Buffer.from(await (await db.dump()).arrayBuffer()));
  renameSync(partial, file);
  return db;
}

export interface TestApp {
  gh: Gatehouse;
  app: FastifyInstance;
  platformToken: string;
  close(): Promise<void>;
}

export async function buildTestApp(
  env: Record<string, string> = {},
  opts: { userCacheMs?: number; kv?: KvStore; logger?: Logger; routes?: (app: FastifyInstance) => void } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-test-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dataDir, { recursive: true, force: true })];
  let db: Database | undefined;
  let databaseUrl: string | undefined;
  if (TEST_PG) {
    const fresh = await freshPostgres(TEST_PG);
    databaseUrl = fresh.url;
    db = createPostgresDatabase(fresh.url, { max: 10 });
    cleanups.push(fresh.drop);
  } else {
    db = await migratedPglite();
  }
  const config = loadConfig({
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_LOG_LEVEL: 'silent',
    GATEHOUSE_ARGON2_MEMORY_KIB: '8192',
    GATEHOUSE_ARGON2_TIME_COST: '1',
    GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64url'),
    GATEHOUSE_PUBLIC_URL: 'http://gatehouse.test',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...env,
  });
  const kv = opts.kv ?? (TEST_REDIS ? createRedisKv(TEST_REDIS, { prefix: `ght:${randomBytes(4).toString('hex')}:` }) : undefined);
  const gh = await createGatehouse(config, { db, kv, inMemory: true, userCacheMs: opts.userCacheMs, logger: opts.logger });
  const app = await buildApp(gh);
  // Routes a test adds before the app is sealed (the browser test's page).
  opts.routes?.(app);
  await app.ready();
  const { secret } = await withPlatformTx(gh.db, (tx) => createPlatformCredential(tx, 'test', 'api'));
  return {
    gh,
    app,
    platformToken: secret,
    async close() {
      await app.close();
      await gh.close();
      for (const c of cleanups.reverse()) await c();
    },
  };
}

/**
 * Every request in these tests comes from 127.0.0.1, so tenants made by createTenant get generous login and
 * registration budgets unless a test sets its own; the limits themselves are tested with their real defaults in
 * test/e2e/protection.
 */
/** One test client drives a whole tenant from one IP: budgets no ordinary test reaches (rate-limit tests set their own). */
export const RELAXED_LIMITS = {
  login_max_failures_per_ip: 10_000,
  register_max_per_ip_per_hour: 10_000,
  rate_limits: { auth: { points: 100_000, window: 60 }, api: { points: 100_000, window: 60 }, admin: { points: 100_000, window: 60 } },
};

export const STRONG_PASSWORD = 'correct horse battery staple 42';

/** Creates a tenant (with an admin) through the platform API. */
export async function createTenant(
  t: TestApp,
  slug: string,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; slug: string; issuer: string; adminEmail: string }> {
  const adminEmail = `admin@${slug}.test`;
  const settings = { ...RELAXED_LIMITS, ...((extra.settings as Record<string, unknown> | undefined) ?? {}) };
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/platform/tenants',
    headers: { authorization: `Bearer ${t.platformToken}` },
    payload: { slug, name: slug.toUpperCase(), admin: { email: adminEmail, password: STRONG_PASSWORD }, ...extra, settings },
  });
  if (res.statusCode !== 201) throw new Error(`createTenant ${slug}: ${res.statusCode} ${res.body}`);
  return { ...(res.json() as { id: string; slug: string; issuer: string }), adminEmail };
}

export async function register(t: TestApp, slug: string, email: string, password = STRONG_PASSWORD) {
  return t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/register`, payload: { email, password } });
}

export async function login(t: TestApp, slug: string, email: string, password = STRONG_PASSWORD, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/login`, payload: { email, password }, headers });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * A bare database on the backend under test (a fresh PostgreSQL database, else in-memory PGlite), not migrated:
 * for tests of migrations and of the database's own guarantees.
 */
export async function openTestDatabase(): Promise<{ db: Database; url: string | undefined; close(): Promise<void> }> {
  if (TEST_PG) {
    const fresh = await freshPostgres(TEST_PG);
    const db = createPostgresDatabase(fresh.url, { max: 5 });
    return {
      db,
      url: fresh.url,
      async close() {
        await db.close();
        await fresh.drop();
      },
    };
  }
  const db = await createPgliteDatabase();
  return { db, url: undefined, close: () => db.close() };
}

/** Asserts the one error shape: {error: {code, message, requestId}}, with the expected status and code. */
export function expectError(res: { statusCode: number; body: string; headers: Record<string, unknown> }, status: number, code: string) {
  if (res.statusCode !== status) throw new Error(`expected ${status} ${code}, got ${res.statusCode}: ${res.body}`);
  const body = JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown; requestId?: unknown } };
  if (!body.error || body.error.code !== code || typeof body.error.message !== 'string' || typeof body.error.requestId !== 'string') {
    throw new Error(`expected error ${code}, got: ${res.body}`);
  }
  if (body.error.requestId !== res.headers['x-request-id']) throw new Error(`requestId ${body.error.requestId} is not the x-request-id header`);
  return body.error as { code: string; message: string; requestId: string; details?: { field: string; message: string; code?: string }[] };
}

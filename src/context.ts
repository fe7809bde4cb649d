import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, type Config } from './config/config.ts';
import type { Database } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { createPgliteDatabase } from './db/pglite.ts';
import { createPostgresDatabase } from './db/postgres.ts';
import { createUserCache, type UserCache } from './identity/user-cache.ts';
import { createKeyRingCache, type KeyRingCache } from './keys/signing-keys.ts';
import { createSealer, loadMasterKey, type Sealer } from './keys/master-key.ts';
import type { KvStore } from './kv/kv-store.ts';
import { createMemoryKv } from './kv/memory-kv.ts';
import { createRedisKv } from './kv/redis-kv.ts';
import { createLogger } from './observability/logger.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { createLimiterFactory } from './protection/limiter-factory.ts';
import { createLoginThrottle, type LoginThrottle } from './protection/login-throttle.ts';
import { createPasswordHasher, type PasswordHasher } from './passwords/password-hasher.ts';
import { openGeoIp, type GeoLocator } from './risk/geoip.ts';
import { createClientCache, type ClientCache } from './oauth/clients/client-cache.ts';
import { createClientJwksCache, type ClientJwksCache } from './oauth/clients/client-jwks.ts';
import { createTenantDirectory, type TenantDirectory } from './tenancy/tenant-directory.ts';

/** Everything a request handler needs, built once per process from the configuration. */
export interface Gatehouse {
  config: Config;
  db: Database;
  kv: KvStore;
  hasher: PasswordHasher;
  sealer: Sealer;
  keys: KeyRingCache;
  tenants: TenantDirectory;
  users: UserCache;
  /** OAuth client rows for the token endpoints (embedded database only, as the user cache). */
  clients: ClientCache;
  /** Public keys of private_key_jwt clients that publish them at a jwks_uri. */
  clientJwks: ClientJwksCache;
  /** Progressive login delays, lockout counters and registration budgets (Redis-shared when configured). */
  throttle: LoginThrottle;
  metrics: Metrics;
  logger: Logger;
  /** Locates client addresses for the impossible-travel signal when GATEHOUSE_GEOIP_DB is set. */
  geo: GeoLocator | null;
  close(): Promise<void>;
}

function openConfiguredGeoIp(path: string | undefined): GeoLocator | null {
  if (!path) return null;
  try {
    return openGeoIp(path);
  } catch (err) {
    throw new ConfigError(`GATEHOUSE_GEOIP_DB: cannot open ${path} as a MaxMind database: ${(err as Error).message}`);
  }
}

export interface GatehouseOverrides {
  db?: Database;
  kv?: KvStore;
  logger?: Logger;
  /** Keep the embedded database in memory (tests). */
  inMemory?: boolean;
  userCacheMs?: number;
  /** Another login throttle (the limiter-overhead benchmark measures the server without one). */
  throttle?: LoginThrottle;
}

export async function createGatehouse(config: Config, o: GatehouseOverrides = {}): Promise<Gatehouse> {
  const geo = openConfiguredGeoIp(config.geoipDb);
  const logger =
    o.logger ?? createLogger(config.logLevel);
  const db =
    o.db ??
    (config.databaseUrl
      ? createPostgresDatabase(config.databaseUrl)
      : await createPgliteDatabase(o.inMemory ? undefined : join(config.dataDir, 'pgdata')));
  if (config.migrateOnStart || (!config.databaseUrl && !o.db)) {
    const r = await migrate(db);
    if (r.applied.length) logger.info({ applied: r.applied }, 'migrations applied');
  }
  const kv = o.kv ?? (config.redisUrl ? createRedisKv(config.redisUrl) : createMemoryKv());
  const master = loadMasterKey(config.masterKey, config.dataDir);
  if (master.source === 'file' && config.databaseUrl) {
    logger.warn('GATEHOUSE_MASTER_KEY is not set: using a key generated in the data directory; every node must share one key');
  }
  const sealer = createSealer(master.key);
  const userCacheMs = o.userCacheMs ?? (db.kind === 'pglite' ? 60_000 : 0);
  return {
    config,
    db,
    kv,
    sealer,
    hasher: createPasswordHasher(config.argon2, { concurrency: config.hashConcurrency, maxQueue: config.hashQueue }),
    keys: createKeyRingCache(db, sealer),
    tenants: createTenantDirectory(db, { publicUrl: config.publicUrl, baseDomain: config.baseDomain }),
    users: createUserCache(userCacheMs),
    clients: createClientCache(userCacheMs),
    clientJwks: createClientJwksCache({ allowPrivate: config.jwksAllowPrivate }),
    throttle: o.throttle ?? createLoginThrottle(createLimiterFactory(kv)),
    metrics: createMetrics(),
    logger,
    geo,
    async close() {
      await kv.close();
      await db.close();
    },
  };
}

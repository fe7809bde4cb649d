import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every environment variable Gatehouse reads, with its default. Documented in the README. */
const envSchema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  GATEHOUSE_DATA_DIR: z.string().min(1).default('./.gatehouse'),
  GATEHOUSE_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  GATEHOUSE_MASTER_KEY: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)').optional(),
  GATEHOUSE_BASE_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d+)?$/, 'must be a host name such as auth.example.com')
    .optional(),
  GATEHOUSE_TENANT_HEADER: bool.default(false),
  GATEHOUSE_TRUST_PROXY: z.string().default('false'),
  GATEHOUSE_MIGRATE_ON_START: bool.default(true),
  GATEHOUSE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GATEHOUSE_BODY_LIMIT: int(1024, 10 * 1024 * 1024).default(64 * 1024),
  GATEHOUSE_ARGON2_MEMORY_KIB: int(8 * 1024, 4 * 1024 * 1024).default(19456),
  GATEHOUSE_ARGON2_TIME_COST: int(1, 20).default(2),
  GATEHOUSE_ARGON2_PARALLELISM: int(1, 16).default(1),
  GATEHOUSE_HASH_CONCURRENCY: int(1, 64).optional(),
  GATEHOUSE_HASH_QUEUE: int(1, 100_000).default(256),
  GATEHOUSE_SESSION_CLEANUP_SECONDS: int(0, 86_400).default(300),
  GATEHOUSE_WEBHOOK_INTERVAL_MS: int(0, 3_600_000).default(2000),
  GATEHOUSE_GEOIP_DB: z.string().min(1).optional(),
  GATEHOUSE_WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  GATEHOUSE_JWKS_ALLOW_PRIVATE: bool.default(false),
  GATEHOUSE_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be smtp://[user:pass@]host:port or smtps://...' }).optional(),
  MAIL_FROM: z.string().min(3).max(320).default('Gatehouse <no-reply@localhost>'),
  GATEHOUSE_MAIL_INTERVAL_MS: int(0, 3_600_000).default(2000),
  GATEHOUSE_MAIL_DIR: z.string().min(1).optional(),
  GATEHOUSE_BACKCHANNEL_INTERVAL_MS: int(0, 3_600_000).default(2000),
});

export type Env = z.input<typeof envSchema>;

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  publicUrl: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  masterKey: string | undefined;
  baseDomain: string | undefined;
  tenantHeader: boolean;
  /** Fastify's trustProxy: false, true, a hop count, or a list of addresses/CIDRs. */
  trustProxy: boolean | number | string[];
  migrateOnStart: boolean;
  logLevel: string;
  bodyLimit: number;
  argon2: { memoryCost: number; timeCost: number; parallelism: number };
  hashConcurrency: number | undefined;
  hashQueue: number;
  sessionCleanupSeconds: number;
  /** How often due alert webhooks are sent (0 = never). */
  webhookIntervalMs: number;
  /** A MaxMind-format city database (.mmdb) for the impossible-travel risk signal; none = signal off. */
  geoipDb: string | undefined;
  /** Let tenant webhooks reach loopback and private addresses (a self-hosted receiver on the same network). */
  webhookAllowPrivate: boolean;
  /** Clients' jwks_uri may name private or loopback hosts (self-hosted clients on an internal network). */
  jwksAllowPrivate: boolean;
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** SMTP delivery (`smtp://user:pass@host:port`, `smtps://...`); unset = mail is written to mailDir. Never logged itself. */
  smtpUrl: string | undefined;
  /** Default sender (`Name <address>`); a tenant may override name and address. */
  mailFrom: string;
  /** How often due mail is sent (0 = never). */
  mailIntervalMs: number;
  /** Where mail is written as .eml files (0600, in a 0700 directory) when no SMTP server is configured (development). */
  mailDir: string;
  /** How often due OIDC Back-Channel Logout tokens are sent (0 = never). */
  backchannelIntervalMs: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function parseTrustProxy(raw: string): Config['trustProxy'] {
  const v = raw.trim();
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Reads configuration from the environment, over an optional JSON file named by GATEHOUSE_CONFIG whose keys are
 * the same variable names. Throws ConfigError naming each bad variable; values (which may be secrets) are never echoed.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  let fileValues: Record<string, string> = {};
  if (env.GATEHOUSE_CONFIG) {
    let text: string;
    try {
      text = readFileSync(env.GATEHOUSE_CONFIG, 'utf8');
    } catch (err) {
      throw new ConfigError(`GATEHOUSE_CONFIG: cannot read ${env.GATEHOUSE_CONFIG}: ${(err as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      // Not the parser's message: it quotes the file's text, which may hold secrets.
      throw new ConfigError(`GATEHOUSE_CONFIG: ${env.GATEHOUSE_CONFIG} is not valid JSON`);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ConfigError(`GATEHOUSE_CONFIG: ${env.GATEHOUSE_CONFIG} must hold a JSON object of variable names to values`);
    }
    fileValues = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
  }
  const merged: Record<string, string> = { ...fileValues };
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') merged[key] = value;
  }
  const parsed = envSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.GATEHOUSE_DATA_DIR);
  const displayHost = e.HOST === '0.0.0.0' || e.HOST === '::' ? '127.0.0.1' : e.HOST;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    publicUrl: (e.GATEHOUSE_PUBLIC_URL ?? `http://${displayHost}:${e.PORT}`).replace(/\/+$/, ''),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    masterKey: e.GATEHOUSE_MASTER_KEY,
    baseDomain: e.GATEHOUSE_BASE_DOMAIN,
    tenantHeader: e.GATEHOUSE_TENANT_HEADER,
    trustProxy: parseTrustProxy(e.GATEHOUSE_TRUST_PROXY),
    migrateOnStart: e.GATEHOUSE_MIGRATE_ON_START,
    logLevel: e.GATEHOUSE_LOG_LEVEL,
    bodyLimit: e.GATEHOUSE_BODY_LIMIT,
    argon2: {
      memoryCost: e.GATEHOUSE_ARGON2_MEMORY_KIB,
      timeCost: e.GATEHOUSE_ARGON2_TIME_COST,
      parallelism: e.GATEHOUSE_ARGON2_PARALLELISM,
    },
    hashConcurrency: e.GATEHOUSE_HASH_CONCURRENCY,
    hashQueue: e.GATEHOUSE_HASH_QUEUE,
    sessionCleanupSeconds: e.GATEHOUSE_SESSION_CLEANUP_SECONDS,
    webhookIntervalMs: e.GATEHOUSE_WEBHOOK_INTERVAL_MS,
    geoipDb: e.GATEHOUSE_GEOIP_DB ? resolve(e.GATEHOUSE_GEOIP_DB) : undefined,
    webhookAllowPrivate: e.GATEHOUSE_WEBHOOK_ALLOW_PRIVATE,
    jwksAllowPrivate: e.GATEHOUSE_JWKS_ALLOW_PRIVATE,
    metricsToken: e.GATEHOUSE_METRICS_TOKEN,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    mailIntervalMs: e.GATEHOUSE_MAIL_INTERVAL_MS,
    mailDir: e.GATEHOUSE_MAIL_DIR ? resolve(e.GATEHOUSE_MAIL_DIR) : join(dataDir, 'mail'),
    backchannelIntervalMs: e.GATEHOUSE_BACKCHANNEL_INTERVAL_MS,
  };
}

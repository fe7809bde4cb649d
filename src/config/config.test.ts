import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Loads and expects a ConfigError; returns its message. */
function configError(env: Record<string, string>): string {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ConfigError for ${Object.keys(env).join(', ')}`).toBeInstanceOf(ConfigError);
  return (caught as ConfigError).message;
}

describe('loadConfig defaults', () => {
  it('applies every default with an empty environment', () => {
    const c = loadConfig({});
    expect(c).toEqual({
      port: 3000,
      host: '127.0.0.1',
      dataDir: resolve('./.gatehouse'),
      publicUrl: 'http://127.0.0.1:3000',
      databaseUrl: undefined,
      redisUrl: undefined,
      masterKey: undefined,
      baseDomain: undefined,
      tenantHeader: false,
      trustProxy: false,
      migrateOnStart: true,
      logLevel: 'info',
      bodyLimit: 64 * 1024,
      argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
      hashConcurrency: undefined,
      hashQueue: 256,
      sessionCleanupSeconds: 300,
      webhookIntervalMs: 2000,
      geoipDb: undefined,
      webhookAllowPrivate: false,
      jwksAllowPrivate: false,
      metricsToken: undefined,
      smtpUrl: undefined,
      mailFrom: 'Gatehouse <no-reply@localhost>',
      mailIntervalMs: 2000,
      mailDir: resolve('./.gatehouse/mail'),
      backchannelIntervalMs: 2000,
    });
  });

  it('puts the mail drop in the data directory unless GATEHOUSE_MAIL_DIR names one', () => {
    expect(loadConfig({ GATEHOUSE_DATA_DIR: '/var/lib/gh' }).mailDir).toBe(resolve('/var/lib/gh/mail'));
    expect(loadConfig({ GATEHOUSE_DATA_DIR: '/var/lib/gh', GATEHOUSE_MAIL_DIR: 'dev-mail' }).mailDir).toBe(resolve('dev-mail'));
    expect(loadConfig({ GATEHOUSE_MAIL_DIR: '' }).mailDir).toBe(resolve('./.gatehouse/mail'));
  });

  it('SMTP_URL takes smtp:// or smtps:// only, and a bad one is reported without echoing it (it holds a password)', () => {
    expect(loadConfig({ SMTP_URL: 'smtps://u:p@mail.example.com:465' }).smtpUrl).toBe('smtps://u:p@mail.example.com:465');
    let message = '';
    try {
      loadConfig({ SMTP_URL: 'http://user:hunter2-secret@mail.example.com' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('SMTP_URL');
    expect(message).not.toContain('hunter2-secret');
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({ PORT: '', DATABASE_URL: '', GATEHOUSE_MASTER_KEY: '' });
    expect(c.port).toBe(3000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.masterKey).toBeUndefined();
  });

  it('derives the public URL from HOST and PORT, showing a wildcard bind as loopback', () => {
    expect(loadConfig({ HOST: '0.0.0.0', PORT: '8080' }).publicUrl).toBe('http://127.0.0.1:8080');
    expect(loadConfig({ HOST: 'auth.local', PORT: '8080' }).publicUrl).toBe('http://auth.local:8080');
  });

  it('strips trailing slashes from GATEHOUSE_PUBLIC_URL', () => {
    expect(loadConfig({ GATEHOUSE_PUBLIC_URL: 'https://id.example.com//' }).publicUrl).toBe('https://id.example.com');
  });

  it('parses booleans, numbers and the trusted proxy setting', () => {
    const c = loadConfig({
      PORT: '0',
      GATEHOUSE_TENANT_HEADER: 'yes',
      GATEHOUSE_MIGRATE_ON_START: '0',
      GATEHOUSE_BODY_LIMIT: '2048',
      GATEHOUSE_ARGON2_MEMORY_KIB: '8192',
      GATEHOUSE_ARGON2_TIME_COST: '1',
      GATEHOUSE_HASH_CONCURRENCY: '4',
    });
    expect(c.port).toBe(0);
    expect(c.tenantHeader).toBe(true);
    expect(c.migrateOnStart).toBe(false);
    expect(c.bodyLimit).toBe(2048);
    expect(c.argon2).toEqual({ memoryCost: 8192, timeCost: 1, parallelism: 1 });
    expect(c.hashConcurrency).toBe(4);
    expect(loadConfig({ GATEHOUSE_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ GATEHOUSE_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ GATEHOUSE_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ GATEHOUSE_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' }).trustProxy).toEqual(['127.0.0.1', '10.0.0.0/8']);
  });

  it('accepts postgres and redis URLs', () => {
    const c = loadConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/gh', REDIS_URL: 'rediss://cache:6380' });
    expect(c.databaseUrl).toBe('postgresql://u:p@db:5432/gh');
    expect(c.redisUrl).toBe('rediss://cache:6380');
  });
});

describe('loadConfig errors name the variable and never echo its value', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['non-numeric PORT', { PORT: 'eighty-eighty' }, 'PORT'],
    ['out-of-range PORT', { PORT: '70000' }, 'PORT'],
    ['negative PORT', { PORT: '-1' }, 'PORT'],
    ['DATABASE_URL with the wrong scheme', { DATABASE_URL: 'mysql://admin:Sup3rS3cretPw@db/gh' }, 'DATABASE_URL'],
    ['DATABASE_URL that is no URL', { DATABASE_URL: 'Sup3rS3cretPw' }, 'DATABASE_URL'],
    ['REDIS_URL with the wrong scheme', { REDIS_URL: 'http://:Sup3rS3cretPw@cache' }, 'REDIS_URL'],
    ['short master key', { GATEHOUSE_MASTER_KEY: 'Sup3rS3cretPw-short' }, 'GATEHOUSE_MASTER_KEY'],
    ['bad boolean', { GATEHOUSE_TENANT_HEADER: 'Sup3rS3cretPw' }, 'GATEHOUSE_TENANT_HEADER'],
    ['bad log level', { GATEHOUSE_LOG_LEVEL: 'Sup3rS3cretPw' }, 'GATEHOUSE_LOG_LEVEL'],
    ['argon2 memory below the floor', { GATEHOUSE_ARGON2_MEMORY_KIB: '1024' }, 'GATEHOUSE_ARGON2_MEMORY_KIB'],
    ['body limit too small', { GATEHOUSE_BODY_LIMIT: '7' }, 'GATEHOUSE_BODY_LIMIT'],
    ['public URL with a non-http scheme', { GATEHOUSE_PUBLIC_URL: 'ftp://Sup3rS3cretPw@x' }, 'GATEHOUSE_PUBLIC_URL'],
    ['base domain with a scheme', { GATEHOUSE_BASE_DOMAIN: 'https://Sup3rS3cretPw.example' }, 'GATEHOUSE_BASE_DOMAIN'],
  ];
  for (const [name, env, variable] of cases) {
    it(name, () => {
      const message = configError(env);
      expect(message).toContain(variable);
      const value = Object.values(env)[0]!;
      expect(message).not.toContain(value);
      expect(message).not.toContain('Sup3rS3cretPw');
    });
  }

  it('lists every bad variable at once', () => {
    const message = configError({ PORT: 'x', GATEHOUSE_MASTER_KEY: 'short', DATABASE_URL: 'nope' });
    expect(message).toContain('PORT');
    expect(message).toContain('GATEHOUSE_MASTER_KEY');
    expect(message).toContain('DATABASE_URL');
  });

  it('says how long the master key must be', () => {
    expect(configError({ GATEHOUSE_MASTER_KEY: 'short' })).toMatch(/32/);
  });
});

describe('config file (GATEHOUSE_CONFIG)', () => {
  it('reads variables from a JSON file, numbers and booleans included', () => {
    const file = configFile(
      'ok.json',
      JSON.stringify({ PORT: 4100, GATEHOUSE_TENANT_HEADER: true, GATEHOUSE_BASE_DOMAIN: 'auth.example.com', GATEHOUSE_LOG_LEVEL: 'warn' }),
    );
    const c = loadConfig({ GATEHOUSE_CONFIG: file });
    expect(c.port).toBe(4100);
    expect(c.tenantHeader).toBe(true);
    expect(c.baseDomain).toBe('auth.example.com');
    expect(c.logLevel).toBe('warn');
    expect(c.publicUrl).toBe('http://127.0.0.1:4100');
  });

  it('lets the environment override the file', () => {
    const file = configFile('override.json', JSON.stringify({ PORT: 4100, GATEHOUSE_LOG_LEVEL: 'warn' }));
    const c = loadConfig({ GATEHOUSE_CONFIG: file, PORT: '4200' });
    expect(c.port).toBe(4200);
    expect(c.logLevel).toBe('warn');
  });

  it('validates values from the file the same way, without echoing them', () => {
    const file = configFile('bad-value.json', JSON.stringify({ GATEHOUSE_MASTER_KEY: 'FileS3cretValue' }));
    const message = configError({ GATEHOUSE_CONFIG: file });
    expect(message).toContain('GATEHOUSE_MASTER_KEY');
    expect(message).not.toContain('FileS3cretValue');
  });

  it('reports a missing file', () => {
    const message = configError({ GATEHOUSE_CONFIG: join(dir, 'does-not-exist.json') });
    expect(message).toContain('GATEHOUSE_CONFIG');
    expect(message).toContain('does-not-exist.json');
  });

  it('reports invalid JSON without quoting the file (it may hold secrets)', () => {
    const file = configFile('broken.json', '{"GATEHOUSE_MASTER_KEY": FileS3cretValueNotQuoted-aaaaaaaaaaaaaaaaaaaaaa}');
    const message = configError({ GATEHOUSE_CONFIG: file });
    expect(message).toContain('GATEHOUSE_CONFIG');
    expect(message).toMatch(/not valid JSON/);
    expect(message).not.toMatch(/FileS3cret|S3cret|aaaa/);
  });

  it('refuses a file that is not a JSON object', () => {
    for (const [name, text] of [
      ['null.json', 'null'],
      ['array.json', '["PORT", 1]'],
      ['number.json', '42'],
    ] as const) {
      const message = configError({ GATEHOUSE_CONFIG: configFile(name, text) });
      expect(message).toContain('GATEHOUSE_CONFIG');
      expect(message).toMatch(/JSON object/);
    }
  });
});

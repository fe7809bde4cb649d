import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisKv } from '../../../src/kv/redis-kv.ts';
import { backendName, buildTestApp, createTenant, STRONG_PASSWORD, type TestApp } from '../../helpers/test-app.ts';

const WRONG = 'not the right password at all';
const HAS_REDIS = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A private, throw-away redis-server on 127.0.0.1:port (no persistence); resolves once it accepts connections. */
function startRedis(port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server on ${port} not ready:\n${out}`)), 10_000);
    p.stdout!.setEncoding('utf8');
    p.stdout!.on('data', (d: string) => {
      out += d;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(p);
      }
    });
    p.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${out}`));
    });
  });
}

function kill(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T;
  do {
    last = await fn();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < deadline);
  throw new Error(`${what}: still ${JSON.stringify(last)} after ${ms} ms`);
}

describe.skipIf(!HAS_REDIS)(
  `login limiting survives a Redis outage (private redis-server, ${backendName.split('+')[0]}+redis)${HAS_REDIS ? '' : ' [skipped: redis-server is not on PATH]'}`,
  () => {
    let redis: ChildProcess | undefined;
    let port: number;
    let t: TestApp;
    const defaults = { login_max_failures_per_ip: 20, register_max_per_ip_per_hour: 3 };
    const attempt = (email: string, password: string, ip: string) =>
      t.app.inject({ method: 'POST', url: '/t/outage/api/v1/auth/login', payload: { email, password }, remoteAddress: ip });
    const ready = () => t.app.inject({ method: 'GET', url: '/ready' });

    beforeAll(async () => {
      port = await freePort();
      redis = await startRedis(port);
      const kv = createRedisKv(`redis://127.0.0.1:${port}`, { prefix: `ght-outage:${randomBytes(4).toString('hex')}:` });
      t = await buildTestApp({}, { kv });
      await createTenant(t, 'outage', { settings: defaults });
      for (const [email, ip] of [
        ['target@outage.test', '198.51.100.1'],
        ['bystander@outage.test', '198.51.100.2'],
      ] as const) {
        const r = await t.app.inject({ method: 'POST', url: '/t/outage/api/v1/auth/register', payload: { email, password: STRONG_PASSWORD }, remoteAddress: ip });
        expect(r.statusCode).toBe(201);
      }
    });
    afterAll(async () => {
      await kill(redis);
      await t?.close();
    });

    it('limits in Redis, keeps limiting in memory while Redis is down, and recovers when it is back', async () => {
      const r0 = await ready();
      expect(r0.statusCode).toBe(200);
      expect(r0.json()).toMatchObject({ status: 'healthy', checks: { kv: 'ok' }, storage: { kv: 'redis' } });

      // Redis up: brute force on one account is delayed after 5 failures, even with the right password.
      for (let i = 0; i < 5; i++) expect((await attempt('target@outage.test', WRONG, '203.0.113.1')).statusCode).toBe(401);
      expect((await attempt('target@outage.test', STRONG_PASSWORD, '203.0.113.2')).statusCode).toBe(429);

      // Redis dies mid-run.
      await kill(redis);
      const statuses: number[] = [];
      const during = async (email: string, password: string, ip: string) => {
        const r = await attempt(email, password, ip);
        statuses.push(r.statusCode);
        return r;
      };
      // A fresh email: the in-memory insurance limiter counts it, 5 failures then 429.
      for (let i = 0; i < 5; i++) expect((await during('fresh@outage.test', WRONG, '203.0.113.10')).statusCode).toBe(401);
      const limited = await during('fresh@outage.test', WRONG, '203.0.113.11');
      expect(limited.statusCode).toBe(429);
      expect(limited.json().error.code).toBe('RATE_LIMITED');
      // Login is not taken down: an untouched account signs in.
      const ok = await during('bystander@outage.test', STRONG_PASSWORD, '203.0.113.12');
      expect(ok.statusCode).toBe(200);
      expect(typeof ok.json().access_token).toBe('string');
      expect(statuses.filter((s) => s >= 500)).toEqual([]);

      // Readiness says degraded (still 200: the node serves), naming the key-value store.
      const degraded = await ready();
      expect(degraded.statusCode).toBe(200);
      expect(degraded.json()).toMatchObject({ status: 'degraded', checks: { kv: 'fail', database: 'ok', signing: 'ok' } });

      // Redis is back on the same port: healthy again within a few seconds, without a restart.
      redis = await startRedis(port);
      const back = await until('/ready after Redis restart', async () => (await ready()).json() as { status: string }, (b) => b.status === 'healthy');
      expect(back).toMatchObject({ status: 'healthy', checks: { kv: 'ok' } });
      // And limiting is in Redis again (a fresh identity, counted from zero in the new, empty Redis).
      for (let i = 0; i < 5; i++) expect((await attempt('again@outage.test', WRONG, '203.0.113.20')).statusCode).toBe(401);
      expect((await attempt('again@outage.test', WRONG, '203.0.113.21')).statusCode).toBe(429);
      const keys = await t.gh.kv.redis!.keys('*');
      expect(keys.some((k) => k.includes('again@outage.test'))).toBe(true);
    });
  },
);

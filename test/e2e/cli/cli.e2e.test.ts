import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFromMail } from '../../helpers/smtp-sink.ts';
import { backendName, freshPostgres, STRONG_PASSWORD, TEST_PG } from '../../helpers/test-app.ts';

const BIN = fileURLToPath(new URL('../../../bin/gatehouse.js', import.meta.url));
const ADMIN_PASSWORD = 'the operator passphrase 31 xq';
const mode = (path: string) => statSync(path).mode & 0o777;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The CLI as an operator runs it: a separate `node bin/gatehouse.js` process with a temporary data directory
 * (and, on the PostgreSQL run, a fresh database), offline and then next to a running server.
 */
describe(`gatehouse CLI (${backendName})`, () => {
  let root: string;
  let dataDir: string;
  let env: Record<string, string>;
  let dropDb: (() => Promise<void>) | undefined;
  let server: ChildProcess | undefined;
  let serverOut = '';
  let serverUrl = '';

  function run(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  const json = (r: Run) => {
    expect(r.code, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  const expectFailure = (r: Run, message: RegExp) => {
    expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at |node_modules/);
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'gh-cli-'));
    // Not created in advance: the CLI makes it.
    dataDir = join(root, 'data');
    env = {
      PATH: process.env.PATH ?? '',
      HOME: root,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_ARGON2_MEMORY_KIB: '8192',
      GATEHOUSE_ARGON2_TIME_COST: '1',
      GATEHOUSE_LOG_LEVEL: 'warn',
    };
    if (TEST_PG) {
      const fresh = await freshPostgres(TEST_PG);
      env.DATABASE_URL = fresh.url;
      dropDb = fresh.drop;
    }
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await dropDb?.();
    rmSync(root, { recursive: true, force: true });
  });

  describe('without a server', () => {
    it('tenant create prints the tenant as JSON', async () => {
      const t = json(
        await run(['tenant', 'create', '--slug', 'acme', '--name', 'Acme', '--admin-email', 'admin@acme.test', '--admin-password', ADMIN_PASSWORD, '--json']),
      );
      expect(t).toMatchObject({ slug: 'acme', name: 'Acme', plan: 'basic', status: 'active' });
      expect(t.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(t.issuer).toMatch(/\/t\/acme$/);
      expect(t.admin).toMatchObject({ email: 'admin@acme.test', role: 'admin' });
    }, 60_000);

    it('keeps its secrets owner-only: master.key and cli-credential are 0600, the data directory 0700', () => {
      expect(mode(join(dataDir, 'master.key')).toString(8)).toBe('600');
      expect(mode(join(dataDir, 'cli-credential')).toString(8)).toBe('600');
      expect(mode(dataDir).toString(8)).toBe('700');
      if (!TEST_PG) expect(mode(join(dataDir, 'pgdata')).toString(8)).toBe('700');
      expect(readFileSync(join(dataDir, 'cli-credential'), 'utf8')).toMatch(/^ghp_/);
    });

    it('user create prints the user as JSON', async () => {
      const u = json(await run(['user', 'create', '--tenant', 'acme', '--email', 'Ops@Acme.test', '--password', STRONG_PASSWORD, '--role', 'admin', '--verified', '--json']));
      expect(u).toMatchObject({ email: 'ops@acme.test', role: 'admin', email_verified: true, status: 'active' });
      expect(u.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(u.password_hash).toBeUndefined();
    }, 60_000);

    it('keys rotate prints the new key and the retired one', async () => {
      const k = json(await run(['keys', 'rotate', '--tenant', 'acme', '--json']));
      expect(k).toMatchObject({ tenant: 'acme', alg: 'ES256' });
      expect(k.kid).toEqual(expect.any(String));
      expect(k.retired).toHaveLength(1);
    }, 60_000);

    it('errors exit non-zero with a clear message and no stack trace', async () => {
      // Refused before storage is opened, so these may run side by side.
      const [noSlug, unknown, badOption, badPort] = await Promise.all([
        run(['tenant', 'create', '--name', 'No slug']),
        run(['frobnicate']),
        run(['tenant', 'create', '--slug', 'x', '--bogus']),
        run(['tenant', 'list'], { PORT: 'not-a-port' }),
      ]);
      expectFailure(noSlug, /--slug is required/);
      expectFailure(unknown, /Unknown command "frobnicate"/);
      expectFailure(badOption, /Unknown option '--bogus'/);
      expectFailure(badPort, /PORT/);
      // Refused by the API (the CLI speaks it in-process here).
      expectFailure(await run(['tenant', 'create', '--slug', 'acme', '--name', 'Again']), /TENANT_SLUG_TAKEN/);
    }, 60_000);

    it('migrate is idempotent', async () => {
      const r = json(await run(['migrate', '--json']));
      expect(r.applied).toEqual([]);
      expect(r.total).toBeGreaterThan(0);
    }, 60_000);
  });

  describe('next to a running server', () => {
    let bootstrap: string | undefined;

    beforeAll(async () => {
      const port = await freePort();
      serverUrl = `http://127.0.0.1:${port}`;
      server = spawn(process.execPath, [BIN, 'start'], {
        env: { ...env, PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_PUBLIC_URL: serverUrl },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      server.stderr!.on('data', (d: Buffer) => (serverOut += d.toString()));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`server did not start:\n${serverOut}`)), 30_000);
        server!.stdout!.on('data', (d: Buffer) => {
          serverOut += d.toString();
          if (/listening on http/.test(serverOut)) {
            clearTimeout(timer);
            resolve();
          }
        });
        server!.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${serverOut}`)));
      });
      bootstrap = /^\s+(ghp_\S+)$/m.exec(serverOut)?.[1];
    });

    it('the server announces its URL and prints the bootstrap credential once, outside the log', async () => {
      expect(serverOut).toContain(`Gatehouse is listening on ${serverUrl}`);
      expect(bootstrap).toMatch(/^ghp_/);
      const r = await fetch(`${serverUrl}/api/v1/platform/tenants`, { headers: { authorization: `Bearer ${bootstrap}` } });
      expect(r.status).toBe(200);
      if (!TEST_PG) {
        expect(existsSync(join(dataDir, 'server.json'))).toBe(true);
        expect(mode(join(dataDir, 'server.json')).toString(8)).toBe('600');
      }
    });

    it('commands work while the server holds the data directory, and their results are live in the server', async () => {
      const t = json(await run(['tenant', 'create', '--slug', 'globex', '--name', 'Globex', '--admin-email', 'hank@globex.test', '--admin-password', ADMIN_PASSWORD, '--json']));
      expect(t).toMatchObject({ slug: 'globex' });
      const u = json(await run(['user', 'create', '--tenant', 'acme', '--email', 'live@acme.test', '--password', STRONG_PASSWORD, '--role', 'manager', '--verified', '--json']));
      expect(u).toMatchObject({ email: 'live@acme.test', role: 'manager' });

      // The new tenant's admin and the new user sign in through the server's HTTP API.
      const hank = await fetch(`${serverUrl}/t/globex/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'hank@globex.test', password: ADMIN_PASSWORD }),
      });
      expect(hank.status, await hank.clone().text()).toBe(200);
      const live = await fetch(`${serverUrl}/t/acme/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'live@acme.test', password: STRONG_PASSWORD }),
      });
      expect(live.status).toBe(200);
      const liveToken = ((await live.json()) as { access_token: string }).access_token;

      // A key rotated by the CLI is published at once and old tokens keep working. Through the server (embedded
      // database) it also signs the very next token; another node (PostgreSQL) picks it up within its key-cache TTL.
      const k = json(await run(['keys', 'rotate', '--tenant', 'acme', '--json']));
      const jwks = (await (await fetch(`${serverUrl}/t/acme/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
      expect(jwks.keys.map((key) => key.kid)).toContain(k.kid);
      const again = await fetch(`${serverUrl}/t/acme/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'live@acme.test', password: STRONG_PASSWORD }),
      });
      const newToken = ((await again.json()) as { access_token: string }).access_token;
      if (!TEST_PG) expect(JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString()).kid).toBe(k.kid);
      for (const token of [liveToken, newToken]) {
        const me = await fetch(`${serverUrl}/t/acme/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
        expect(me.status).toBe(200);
      }

      // With the embedded database the CLI must have gone through the server (PGlite allows one process per
      // directory): the audit trail shows the request arriving over HTTP, not from an in-process app.
      const admin = await fetch(`${serverUrl}/t/acme/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ops@acme.test', password: STRONG_PASSWORD }),
      });
      const adminToken = ((await admin.json()) as { access_token: string }).access_token;
      const audit = await fetch(`${serverUrl}/t/acme/api/v1/admin/audit?action=user.created&limit=500`, { headers: { authorization: `Bearer ${adminToken}` } });
      const events = ((await audit.json()) as { events: { subject_id: string; actor_type: string; user_agent: string | null }[] }).events;
      const created = events.find((e) => e.subject_id === u.id);
      expect(created).toMatchObject({ actor_type: 'platform' });
      if (!TEST_PG) expect(created!.user_agent).not.toBe('lightMyRequest');
    }, 60_000);

    it('a newcomer finishes sign-up verification from the mail drop the server announces (no SMTP)', async () => {
      const mailDir = join(dataDir, 'mail');
      expect(serverOut).toContain(`No SMTP_URL: mail is written to ${mailDir}`);
      const email = 'newcomer@acme.test';
      const reg = await fetch(`${serverUrl}/t/acme/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: STRONG_PASSWORD }),
      });
      expect(reg.status, await reg.clone().text()).toBe(201);
      // The server's own mail worker (every 2 s by default) writes the file.
      let text: string | undefined;
      let file = '';
      for (let i = 0; i < 50 && text === undefined; i++) {
        for (const f of existsSync(mailDir) ? readdirSync(mailDir).filter((n) => n.includes('-acme-email_verification-')) : []) {
          const parsed = await simpleParser(readFileSync(join(mailDir, f)));
          if (parsed.text && (Array.isArray(parsed.to) ? parsed.to : [parsed.to]).some((a) => a?.text === email)) [text, file] = [parsed.text, f];
        }
        if (text === undefined) await new Promise((r) => setTimeout(r, 200));
      }
      expect(text, `no verification mail in ${mailDir}`).toBeDefined();
      expect(mode(mailDir).toString(8)).toBe('700');
      expect(mode(join(mailDir, file)).toString(8)).toBe('600');
      expect(text).toContain(`${serverUrl}/t/acme/verify-email?token=`);
      const token = tokenFromMail({ text: text! });
      // The link opens the confirmation page; its button posts the token.
      const page = await fetch(`${serverUrl}/t/acme/verify-email?token=${token}`);
      expect(page.status).toBe(200);
      const verify = await fetch(`${serverUrl}/t/acme/api/v1/auth/verify-email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      expect(verify.status, await verify.clone().text()).toBe(204);
      const login = await fetch(`${serverUrl}/t/acme/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: STRONG_PASSWORD }),
      });
      expect(((await login.json()) as { user: { email_verified: boolean } }).user.email_verified).toBe(true);
      expect(serverOut).not.toContain(token);
    }, 60_000);

    it('errors from the server come back as clear messages with a non-zero exit', async () => {
      const runs = await Promise.all([
        run(['tenant', 'create', '--slug', 'globex', '--name', 'Again']),
        run(['tenant', 'create', '--slug', 'api', '--name', 'Reserved']),
        run(['tenant', 'create', '--slug', 'weak-co', '--name', 'W', '--admin-email', 'a@w.test', '--admin-password', 'short']),
        run(['user', 'create', '--tenant', 'acme', '--email', 'LIVE@acme.test']),
        run(['user', 'create', '--tenant', 'nope-co', '--email', 'x@nope.test']),
        run(['user', 'create', '--tenant', 'acme', '--email', 'not-an-email']),
        run(['user', 'create', '--tenant', 'acme', '--email', 'r@acme.test', '--role', 'owner']),
        run(['keys', 'rotate', '--tenant', 'nope-co']),
        run(['tenant', 'update', '--tenant', 'acme', '--status', 'paused']),
      ]);
      const expected = [
        /TENANT_SLUG_TAKEN/,
        /TENANT_SLUG_INVALID: .*reserved/,
        /PASSWORD_POLICY/,
        /EMAIL_TAKEN/,
        /TENANT_NOT_FOUND/,
        /VALIDATION_ERROR[\s\S]*email/,
        /VALIDATION_ERROR[\s\S]*role/,
        /TENANT_NOT_FOUND/,
        /VALIDATION_ERROR[\s\S]*status/,
      ];
      runs.forEach((r, i) => expectFailure(r, expected[i]!));
      // Nothing was created by the refused commands.
      const list = json(await run(['tenant', 'list', '--json']));
      expect((list.tenants as { slug: string }[]).map((t) => t.slug)).toEqual(['acme', 'globex']);
    }, 60_000);

    it('finds a tenant by id as well as by slug, and prints human-readable output without --json', async () => {
      const list = json(await run(['tenant', 'list', '--json']));
      const acme = (list.tenants as { id: string; slug: string }[]).find((t) => t.slug === 'acme')!;
      const v = json(await run(['user', 'create', '--tenant', acme.id, '--email', 'viewer@acme.test', '--role', 'viewer', '--json']));
      expect(v).toMatchObject({ email: 'viewer@acme.test', role: 'viewer', email_verified: false });
      const human = await run(['tenant', 'list']);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/^acme\tbasic\tactive\tAcme$/m);
      expect(human.stdout).toMatch(/^globex\tbasic\tactive\tGlobex$/m);
    }, 60_000);

    it('a second server on the same embedded data directory refuses to start', async () => {
      const r = await run(['migrate', '--json']);
      expect(r.code, r.stderr).toBe(0);
      if (!TEST_PG) {
        expect(JSON.parse(r.stdout).note).toMatch(/running server/);
        const second = await run(['start'], { PORT: String(await freePort()), HOST: '127.0.0.1' });
        expectFailure(second, /Another Gatehouse \(pid \d+/);
      }
    }, 60_000);

    it('stops on SIGTERM, releasing the directory; the data stays', async () => {
      const exited = new Promise<number | null>((r) => server!.once('exit', (code) => r(code)));
      server!.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(existsSync(join(dataDir, 'server.json'))).toBe(false);
      const list = json(await run(['tenant', 'list', '--json']));
      expect((list.tenants as { slug: string }[]).map((t) => t.slug)).toEqual(['acme', 'globex']);
    }, 60_000);
  });
});

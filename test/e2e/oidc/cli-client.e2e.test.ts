import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, freshPostgres, TEST_PG } from '../../helpers/test-app.ts';

const BIN = fileURLToPath(new URL('../../../bin/gatehouse.js', import.meta.url));

/** `gatehouse client create` exactly as the issue pins it, run as an operator runs it (a separate process). */
describe(`gatehouse client create (${backendName})`, () => {
  let root: string;
  let env: Record<string, string>;
  let dropDb: (() => Promise<void>) | undefined;

  const run = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'gh-cli-oidc-'));
    env = { PATH: process.env.PATH ?? '', HOME: root, GATEHOUSE_DATA_DIR: join(root, 'data'), GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_ARGON2_MEMORY_KIB: '8192', GATEHOUSE_ARGON2_TIME_COST: '1' };
    if (TEST_PG) {
      const fresh = await freshPostgres(TEST_PG);
      env.DATABASE_URL = fresh.url;
      dropDb = fresh.drop;
    }
    const r = await run(['tenant', 'create', '--slug', 'acme', '--name', 'Acme', '--json']);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await dropDb?.();
    rmSync(root, { recursive: true, force: true });
  });

  it('creates a public client with several redirect URIs and prints JSON without a secret', async () => {
    const r = await run([
      'client', 'create', '--tenant', 'acme', '--name', 'web', '--type', 'public',
      '--redirect-uri', 'https://app.example/cb', '--redirect-uri', 'http://127.0.0.1/cb',
      '--post-logout-redirect-uri', 'https://app.example/bye', '--scope', 'openid email', '--first-party', '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c).toMatchObject({ name: 'web', type: 'public', token_endpoint_auth_method: 'none', redirect_uris: ['https://app.example/cb', 'http://127.0.0.1/cb'], post_logout_redirect_uris: ['https://app.example/bye'], scope: 'openid email', first_party: true });
    expect(c.client_id).toMatch(/^ghc_/);
    expect(c.client_secret).toBeUndefined();
  }, 60_000);

  it('creates a service client (client_credentials only) whose secret is printed once', async () => {
    const r = await run(['client', 'create', '--tenant', 'acme', '--name', 'worker', '--type', 'service', '--scope', 'jobs:run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c).toMatchObject({ type: 'service', grant_types: ['client_credentials'], scope: 'jobs:run' });
    expect(c.client_secret).toMatch(/^ghcs_/);
  }, 60_000);

  it('--jwks-uri creates a private_key_jwt service client with no secret', async () => {
    const r = await run(['client', 'create', '--tenant', 'acme', '--name', 'signer', '--type', 'service', '--jwks-uri', 'https://keys.example/jwks.json', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c).toMatchObject({ type: 'service', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://keys.example/jwks.json', jwks: null });
    expect(c.client_secret).toBeUndefined();
  }, 60_000);

  it('--backchannel-logout-uri registers where Logout Tokens go', async () => {
    const r = await run([
      'client', 'create', '--tenant', 'acme', '--name', 'rp', '--type', 'confidential',
      '--redirect-uri', 'https://rp.example/cb', '--backchannel-logout-uri', 'https://rp.example/backchannel', '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: 'confidential', backchannel_logout_uri: 'https://rp.example/backchannel', backchannel_logout_session_required: true });
  }, 60_000);

  it('refuses an invalid client with the reason and no stack trace', async () => {
    const r = await run(['client', 'create', '--tenant', 'acme', '--name', 'bad', '--type', 'confidential', '--redirect-uri', 'http://app.example/cb']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/VALIDATION_ERROR[\s\S]*redirect_uris/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

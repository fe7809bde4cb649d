import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import { createPgliteDatabase } from '../db/pglite.ts';
import { createPostgresDatabase } from '../db/postgres.ts';
import { migrate } from '../db/migrate.ts';
import { runningServer } from '../ops/local-credential.ts';
import { startServer, StartupError } from '../server.ts';
import { openPlatformClient, type ApiResult } from './platform-client.ts';
import { join } from 'node:path';

const USAGE = `Usage: gatehouse <command> [options]

  start                                   run the server (env: PORT, HOST, DATABASE_URL, ...)
  migrate                                 apply database migrations
  tenant create --slug S --name N [--plan basic|pro|enterprise] [--admin-email E --admin-password P] [--json]
  tenant list [--json]
  tenant update --tenant S [--name N] [--plan P] [--status active|suspended|canceled] [--json]
  user create --tenant S --email E [--password P] [--name N] [--role admin|manager|user|viewer] [--verified] [--json]
  keys rotate --tenant S [--json]
  client create --tenant S --name N --type public|confidential|service [--redirect-uri URL ...]
                [--post-logout-redirect-uri URL ...] [--scope "openid email ..."] [--first-party]
                [--jwks-uri URL] [--backchannel-logout-uri URL] [--json]
                (--jwks-uri: a private_key_jwt client with its keys at URL;
                 --backchannel-logout-uri: where OIDC Back-Channel Logout tokens are POSTed)
  credential create --name N [--json]      a platform API credential (secret shown once)
`;

class CliError extends Error {}

function fail(result: ApiResult): never {
  const err = (result.body as { error?: { code: string; message: string; details?: { field: string; message: string }[] } })?.error;
  const details = err?.details?.map((d) => `\n  ${d.field}: ${d.message}`).join('') ?? '';
  throw new CliError(err ? `${err.code}: ${err.message}${details}` : `HTTP ${result.status}`);
}

function print(json: boolean, body: unknown, human: string) {
  process.stdout.write((json ? JSON.stringify(body) : human) + '\n');
}

async function withClient<T>(config: Config, fn: (c: Awaited<ReturnType<typeof openPlatformClient>>) => Promise<T>): Promise<T> {
  const client = await openPlatformClient(config);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      slug: { type: 'string' },
      name: { type: 'string' },
      plan: { type: 'string' },
      status: { type: 'string' },
      'admin-email': { type: 'string' },
      'admin-password': { type: 'string' },
      tenant: { type: 'string' },
      email: { type: 'string' },
      password: { type: 'string' },
      role: { type: 'string' },
      verified: { type: 'boolean' },
      type: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      scope: { type: 'string' },
      'first-party': { type: 'boolean' },
      'jwks-uri': { type: 'string' },
      'backchannel-logout-uri': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const cmd = positionals.join(' ');
  if (v.help || !cmd) {
    process.stdout.write(USAGE);
    return v.help ? 0 : 2;
  }
  const need = (name: keyof typeof v) => {
    const value = v[name];
    if (typeof value !== 'string' || value === '') throw new CliError(`--${name} is required for "${cmd}"`);
    return value;
  };
  const json = v.json ?? false;
  const config = loadConfig();

  switch (cmd) {
    case 'start': {
      const server = await startServer(config);
      const stop = async () => {
        await server.stop();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      process.stdout.write(`Gatehouse is listening on ${server.url} (public URL ${config.publicUrl})\n`);
      // Where a newcomer finds the verification and reset links (tenants with their own SMTP server still use it).
      if (!config.smtpUrl) process.stdout.write(`No SMTP_URL: mail is written to ${config.mailDir} as .eml files (open them in any mail program)\n`);
      return -1;
    }
    case 'migrate': {
      if (!config.databaseUrl && runningServer(config.dataDir)) {
        print(json, { applied: [], note: 'the running server applied migrations at start' }, 'The running server holds the data directory; it migrated at start.');
        return 0;
      }
      const db = config.databaseUrl ? createPostgresDatabase(config.databaseUrl) : await createPgliteDatabase(join(config.dataDir, 'pgdata'));
      try {
        const r = await migrate(db);
        print(json, r, r.applied.length ? `Applied ${r.applied.join(', ')}` : `Up to date (${r.total} migrations)`);
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'tenant create': {
      const body: Record<string, unknown> = { slug: need('slug'), name: need('name') };
      if (v.plan) body.plan = v.plan;
      if (v['admin-email'] || v['admin-password']) body.admin = { email: need('admin-email'), password: need('admin-password') };
      const r = await withClient(config, (c) => c.call('POST', '/api/v1/platform/tenants', body));
      if (r.status !== 201) fail(r);
      const t = r.body as { id: string; slug: string; issuer: string };
      print(json, r.body, `Created tenant ${t.slug} (${t.id})\n  issuer: ${t.issuer}`);
      return 0;
    }
    case 'tenant list': {
      const r = await withClient(config, (c) => c.call('GET', '/api/v1/platform/tenants?limit=500'));
      if (r.status !== 200) fail(r);
      const list = (r.body as { tenants: { slug: string; name: string; plan: string; status: string }[] }).tenants;
      print(json, r.body, list.map((t) => `${t.slug}\t${t.plan}\t${t.status}\t${t.name}`).join('\n') || '(no tenants)');
      return 0;
    }
    case 'tenant update': {
      const body: Record<string, unknown> = {};
      if (v.name) body.name = v.name;
      if (v.plan) body.plan = v.plan;
      if (v.status) body.status = v.status;
      const r = await withClient(config, (c) => c.call('PATCH', `/api/v1/platform/tenants/${encodeURIComponent(need('tenant'))}`, body));
      if (r.status !== 200) fail(r);
      print(json, r.body, `Updated tenant ${(r.body as { slug: string }).slug}`);
      return 0;
    }
    case 'user create': {
      const tenant = need('tenant');
      const body: Record<string, unknown> = { email: need('email') };
      if (v.password) body.password = v.password;
      if (v.name) body.name = v.name;
      if (v.role) body.role = v.role;
      if (v.verified) body.verified = true;
      const r = await withClient(config, (c) => c.call('POST', `/api/v1/platform/tenants/${encodeURIComponent(tenant)}/users`, body));
      if (r.status !== 201) fail(r);
      const u = r.body as { id: string; email: string; role: string };
      print(json, r.body, `Created ${u.role} ${u.email} (${u.id}) in ${tenant}`);
      return 0;
    }
    case 'keys rotate': {
      const tenant = need('tenant');
      const r = await withClient(config, (c) => c.call('POST', `/api/v1/platform/tenants/${encodeURIComponent(tenant)}/keys/rotate`));
      if (r.status !== 200) fail(r);
      const k = r.body as { kid: string; retired: string[] };
      print(json, r.body, `New signing key ${k.kid} for ${tenant}; retired: ${k.retired.join(', ') || 'none'}`);
      return 0;
    }
    case 'client create': {
      const tenant = need('tenant');
      const body: Record<string, unknown> = { name: need('name'), type: need('type') };
      if (v['redirect-uri']?.length) body.redirect_uris = v['redirect-uri'];
      if (v['post-logout-redirect-uri']?.length) body.post_logout_redirect_uris = v['post-logout-redirect-uri'];
      if (v.scope !== undefined) body.scope = v.scope;
      if (v['first-party']) body.first_party = true;
      if (v['jwks-uri']) Object.assign(body, { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: v['jwks-uri'] });
      if (v['backchannel-logout-uri']) body.backchannel_logout_uri = v['backchannel-logout-uri'];
      const r = await withClient(config, (c) => c.call('POST', `/api/v1/platform/tenants/${encodeURIComponent(tenant)}/clients`, body));
      if (r.status !== 201) fail(r);
      const cl = r.body as { client_id: string; client_secret?: string; name: string; type: string };
      print(json, r.body, `Created ${cl.type} client ${cl.name} in ${tenant}\n  client_id: ${cl.client_id}${cl.client_secret ? `\n  client_secret (shown once): ${cl.client_secret}` : ''}`);
      return 0;
    }
    case 'credential create': {
      const r = await withClient(config, (c) => c.call('POST', '/api/v1/platform/credentials', { name: need('name') }));
      if (r.status !== 201) fail(r);
      const cr = r.body as { id: string; secret: string };
      print(json, r.body, `Platform credential ${cr.id} (shown once):\n  ${cr.secret}`);
      return 0;
    }
    default:
      process.stderr.write(`Unknown command "${cmd}".\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof CliError || err instanceof ConfigError || err instanceof StartupError) process.stderr.write(`gatehouse: ${err.message}\n`);
    else if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') process.stderr.write(`gatehouse: ${(err as Error).message}\n\n${USAGE}`);
    else process.stderr.write(`gatehouse: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import type { Config } from './config/config.ts';
import { createGatehouse, type Gatehouse, type GatehouseOverrides } from './context.ts';
import { bootstrapPlatformCredential } from './platform/platform-credentials.ts';
import { startWebhookWorker } from './security/webhook-worker.ts';
import { cleanupExpiredCodes } from './oauth/authorize/code-cleanup.ts';
import { startMailWorker } from './mail/mail-worker.ts';
import { startBackchannelWorker } from './oauth/backchannel/backchannel-worker.ts';
import { ensureLocalCredential, removeServerFile, runningServer, writeServerFile } from './ops/local-credential.ts';

/** Removes sessions (and, by cascade, their refresh tokens) a day after they can no longer be used. */
export async function cleanupExpiredSessions(gh: Gatehouse): Promise<number> {
  const r = await gh.db.query(
    `DELETE FROM sessions WHERE absolute_expires_at < now() - interval '1 day'
        OR idle_expires_at < now() - interval '1 day' OR revoked_at < now() - interval '1 day'`,
  );
  return r.rowCount;
}

/** A reason not to start that the operator can act on: reported as a message, without a stack trace. */
export class StartupError extends Error {
  override name = 'StartupError';
}

export interface RunningServer {
  gh: Gatehouse;
  app: FastifyInstance;
  url: string;
  stop(): Promise<void>;
}

/** Starts Gatehouse: storage, migrations, first-start bootstrap, HTTP listener, background clean-up, alert webhooks, mail and back-channel logouts. */
export async function startServer(
  config: Config,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
  overrides: GatehouseOverrides = {},
): Promise<RunningServer> {
  if (!config.databaseUrl) {
    const other = runningServer(config.dataDir);
    if (other) throw new StartupError(`Another Gatehouse (pid ${other.pid}, ${other.url}) is using ${config.dataDir}`);
  }
  const gh = await createGatehouse(config, overrides);
  const bootstrap = await bootstrapPlatformCredential(gh.db);
  if (bootstrap) {
    // Printed once, straight to the terminal and never through the logger; only its hash is stored.
    out(
      [
        '',
        '  Gatehouse first start: platform admin credential (shown once, store it now):',
        `    ${bootstrap}`,
        '  Use it as "Authorization: Bearer <credential>" on /api/v1/platform/... ; the CLI needs no credential.',
        '',
      ].join('\n'),
    );
  }
  await ensureLocalCredential(gh.db, config.dataDir);
  const app = await buildApp(gh);
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  if (!config.databaseUrl) writeServerFile(config.dataDir, { pid: process.pid, url });

  let timer: NodeJS.Timeout | undefined;
  if (config.sessionCleanupSeconds > 0) {
    timer = setInterval(() => {
      cleanupExpiredSessions(gh).catch((err) => gh.logger.warn({ err }, 'session clean-up failed'));
      cleanupExpiredCodes(gh).catch((err) => gh.logger.warn({ err }, 'authorization code clean-up failed'));
    }, config.sessionCleanupSeconds * 1000);
    timer.unref();
  }
  const webhooks = config.webhookIntervalMs > 0 ? startWebhookWorker(gh, config.webhookIntervalMs) : undefined;
  const mail = config.mailIntervalMs > 0 ? startMailWorker(gh, config.mailIntervalMs) : undefined;
  const backchannel = config.backchannelIntervalMs > 0 ? startBackchannelWorker(gh, config.backchannelIntervalMs) : undefined;
  if (!config.smtpUrl) {
    gh.logger.warn({ mailDir: config.mailDir }, 'SMTP_URL is not set: mail (tenants without their own SMTP server) is written as .eml files to the mail drop (development only)');
  }
  gh.logger.info({ url, publicUrl: config.publicUrl, database: gh.db.kind, kv: gh.kv.kind }, 'Gatehouse listening');
  return {
    gh,
    app,
    url,
    async stop() {
      clearInterval(timer);
      await webhooks?.stop();
      await mail?.stop();
      await backchannel?.stop();
      await app.close();
      await gh.close();
      removeServerFile(config.dataDir);
    },
  };
}

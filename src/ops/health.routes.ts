import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { AppError } from '../errors/app-error.ts';
import { checkSigning } from '../keys/signing-keys.ts';
import { constantTimeEqual } from '../shared/crypto.ts';

async function timed<T>(fn: () => Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([fn(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * /health: the process answers. /ready: database, key-value store and signing work; `degraded` (still 200) when only
 * the key-value store is down, `unhealthy` (503) when the database or signing is.
 */
export async function healthRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const hide = { hide: true, tags: ['operations'] };
  app.get('/health', { schema: { ...hide, summary: 'Liveness' } }, async () => ({ status: 'ok' }));

  app.get('/ready', { schema: { ...hide, summary: 'Readiness' } }, async (_request, reply) => {
    const checks: Record<string, 'ok' | 'fail'> = {};
    const run = async (name: string, fn: () => Promise<unknown>) => {
      try {
        await timed(fn, 2000);
        checks[name] = 'ok';
      } catch {
        checks[name] = 'fail';
      }
    };
    await Promise.all([
      run('database', () => gh.db.query('SELECT 1')),
      run('kv', async () => {
        if (!(await gh.kv.ping())) throw new Error('kv down');
      }),
      run('signing', () => checkSigning(gh.db, gh.sealer)),
    ]);
    const status = checks.database === 'fail' || checks.signing === 'fail' ? 'unhealthy' : checks.kv === 'fail' ? 'degraded' : 'healthy';
    reply.code(status === 'unhealthy' ? 503 : 200);
    return { status, checks, storage: { database: gh.db.kind, kv: gh.kv.kind } };
  });

  app.get('/metrics', { schema: { ...hide, summary: 'Prometheus metrics' } }, async (request, reply) => {
    // Per-tenant counters name tenants: with GATEHOUSE_METRICS_TOKEN set, only a scraper holding it reads them.
    const required = gh.config.metricsToken;
    if (required) {
      const h = request.headers.authorization;
      if (!h || !h.startsWith('Bearer ') || !constantTimeEqual(h.slice(7), required)) {
        reply.header('www-authenticate', 'Bearer realm="metrics"');
        throw new AppError('UNAUTHENTICATED');
      }
    }
    try {
      const r = await gh.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM sessions WHERE revoked_at IS NULL AND idle_expires_at > now() AND absolute_expires_at > now()`,
      );
      gh.metrics.activeSessions.set(r.rows[0]!.n);
    } catch {
      /* keep the node-local estimate */
    }
    reply.type(gh.metrics.registry.contentType);
    return gh.metrics.registry.metrics();
  });
}

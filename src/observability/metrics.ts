import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per app instance (tests build many apps in one process). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request durations by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // Label children resolved once per (method, route, status): observing then skips prom-client's label hashing.
  const httpChildren = new Map<string, ReturnType<typeof httpDuration.labels>>();
  return {
    registry,
    httpDuration,
    observeHttp(method: string, route: string, status: number, seconds: number) {
      const key = `${method} ${status} ${route}`;
      let child = httpChildren.get(key);
      if (!child) {
        child = httpDuration.labels(method, route, String(status));
        httpChildren.set(key, child);
      }
      child.observe(seconds);
    },
    authAttempts: new Counter({
      name: 'auth_attempts_total',
      help: 'Authentication attempts by tenant, result and method',
      labelNames: ['tenant', 'result', 'method'] as const,
      registers: [registry],
    }),
    activeSessions: new Gauge({
      name: 'active_sessions',
      help: 'Sessions opened minus sessions ended by this node since start (sampled from the database on /metrics when possible)',
      registers: [registry],
    }),
    tokenDuration: new Histogram({
      name: 'token_operation_duration_seconds',
      help: 'Duration of token operations',
      labelNames: ['operation'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    rateLimitHits: new Counter({
      name: 'rate_limit_hits_total',
      help: 'Requests refused by a rate limit',
      labelNames: ['tenant', 'limit'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The per-operation child of token_operation_duration_seconds (cached: verification runs on every request). */
export function tokenTimer(m: Metrics, operation: 'sign' | 'verify' | 'refresh') {
  return m.tokenDuration.labels(operation);
}

import autocannon from 'autocannon';
import { cpuSecondsOf } from './child.ts';

/** Settings shared by "ours" and "limit" in one comparison: same connections, same duration, pipelining 1. */
export interface LoadSettings {
  connections: number;
  duration: number;
}

export interface LoadTarget {
  url: string;
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /**
   * Per-request body, called for every request (e.g. a different user, the previous refresh token). Returning
   * {body, label} also files the response's latency under that label (LoadResult.byLabel), to compare two kinds
   * of request interleaved on the same connections; `path` overrides the target's path for that request.
   */
  body$?: (conn: number) => string | { body: string; label: string; path?: string };
  /** Sees every response with its connection index (e.g. to keep a refresh chain). */
  onResponse?: (conn: number, status: number, body: string) => void;
}

export interface LoadResult {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  /** 2xx responses per second over the run. */
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  statusCodes: Record<string, number>;
  /** First non-2xx body seen, to explain failures. */
  sampleError?: string;
  /** Latency percentiles per label returned by body$. */
  byLabel: Record<string, { n: number; p50: number; p95: number; p99: number }>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

interface IteratorInternals {
  requestIterator?: { initialContext: object; resetContext(): void; rebuildRequest(): void };
}

/**
 * One autocannon run from this process. Latency percentiles are computed from every response (autocannon's own
 * histogram has no p95). With body$/onResponse each connection gets a stable index 0..connections-1: autocannon
 * resets its per-request context on every loop, so the index is planted in each client's initial context.
 */
export function runLoad(target: LoadTarget, s: LoadSettings): Promise<LoadResult> {
  const latencies: number[] = [];
  let sampleError: string | undefined;
  let nextConn = 0;
  // Labels: sent (FIFO per connection, pipelining 1 keeps order) -> answered (set in onResponse, which autocannon
  // calls just before it emits 'response' for the same reply) -> latency filed under it.
  const sent = new Map<number, string[]>();
  const answered = new Map<number, string>();
  const connOf = new WeakMap<object, number>();
  const labelled = new Map<string, number[]>();
  const dynamic = Boolean(target.body$ || target.onResponse);
  const headers = { ...(target.body !== undefined || target.body$ ? { 'content-type': 'application/json' } : {}), ...target.headers };
  const request: autocannon.Request = {
    method: target.method ?? 'GET',
    path: target.path,
    headers,
    ...(target.body !== undefined ? { body: target.body } : {}),
  };
  if (dynamic) {
    request.setupRequest = (req, ctx) => {
      // autocannon builds each client's first request in its constructor, before setupClient plants the index;
      // that build is replaced by setupClient's rebuild and never sent, so it must not consume a body (or a label).
      const conn = (ctx as { conn?: number }).conn;
      if (conn === undefined || !target.body$) return req;
      const b = target.body$(conn);
      if (typeof b === 'string') return { ...req, body: b };
      let q = sent.get(conn);
      if (!q) sent.set(conn, (q = []));
      q.push(b.label);
      return { ...req, body: b.body, ...(b.path ? { path: b.path } : {}) };
    };
  }
  request.onResponse = (status, body, ctx) => {
    const conn = (ctx as { conn?: number }).conn ?? 0;
    if ((status < 200 || status >= 300) && sampleError === undefined) sampleError = `${status} ${body.slice(0, 300)}`;
    const label = sent.get(conn)?.shift();
    if (label !== undefined) answered.set(conn, label);
    target.onResponse?.(conn, status, body);
  };
  return new Promise<LoadResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        connections: s.connections,
        duration: s.duration,
        pipelining: 1,
        timeout: 30,
        requests: [request],
        setupClient: dynamic
          ? (client) => {
              const it = (client as unknown as IteratorInternals).requestIterator;
              if (!it) throw new Error('autocannon internals changed: no requestIterator on the client');
              connOf.set(client, nextConn);
              it.initialContext = { conn: nextConn++ };
              it.resetContext();
              it.rebuildRequest();
            }
          : undefined,
      },
      (err, result) => {
        if (err) return reject(err);
        latencies.sort((a, b) => a - b);
        const seconds = result.duration;
        const ok = result['2xx'];
        resolve({
          ok,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          seconds,
          rps: ok / seconds,
          p50: percentile(latencies, 50),
          p95: percentile(latencies, 95),
          p99: percentile(latencies, 99),
          statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count ?? 0])),
          sampleError,
          byLabel: Object.fromEntries(
            [...labelled].map(([k, xs]) => {
              xs.sort((a, b) => a - b);
              return [k, { n: xs.length, p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99) }];
            }),
          ),
        });
      },
    );
    instance.on('response', (client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
      const conn = connOf.get(client);
      const label = conn === undefined ? undefined : answered.get(conn);
      if (label === undefined || conn === undefined) return;
      answered.delete(conn);
      let xs = labelled.get(label);
      if (!xs) labelled.set(label, (xs = []));
      xs.push(responseTime);
    });
  });
}

/** Throws when a run had failures: a benchmark whose requests fail measures nothing. */
export function assertClean(name: string, r: LoadResult, allowNon2xx = 0): void {
  if (r.errors > 0 || r.timeouts > 0 || r.non2xx > allowNon2xx || r.ok === 0) {
    throw new Error(
      `${name}: ${r.ok} ok, ${r.non2xx} non-2xx ${JSON.stringify(r.statusCodes)}, ${r.errors} errors, ${r.timeouts} timeouts` +
        (r.sampleError ? `; first failure: ${r.sampleError}` : ''),
    );
  }
}

/**
 * runLoad, plus the CPU time the server process used during the run per 2xx response: a cross-check that holds
 * up when other processes make throughput noisy (it is what each request costs, not how fast it was served).
 */
export async function runLoadCpu(target: LoadTarget, s: LoadSettings, serverPid: number): Promise<LoadResult & { cpuUsPerReq: number }> {
  const before = await cpuSecondsOf(serverPid);
  const r = await runLoad(target, s);
  const after = await cpuSecondsOf(serverPid);
  return { ...r, cpuUsPerReq: ((after - before) * 1e6) / Math.max(1, r.ok) };
}

import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';

/**
 * Outbound requests a tenant admin can aim (security webhooks) must not reach the deployment's own network: a
 * webhook URL naming 127.0.0.1, a metadata service or an internal host would turn Gatehouse into a proxy (SSRF).
 * Addresses are checked when the connection is made, on the address actually dialled, so a DNS name that
 * resolves elsewhere later (rebinding) is caught too. GATEHOUSE_WEBHOOK_ALLOW_PRIVATE lifts this for
 * self-hosted receivers on a private network.
 */
const NOT_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7],
  ['fe80::', 10], ['ff00::', 8],
] as const) NOT_PUBLIC.addSubnet(net, bits, 'ipv6');

export function isPublicAddress(ip: string): boolean {
  const v = isIP(ip);
  if (v === 0) return false;
  // An IPv4-mapped IPv6 address is its IPv4 address (kept out of the list: BlockList would match every IPv4 on it).
  const mapped = v === 6 && /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return !NOT_PUBLIC.check(mapped[1]!, 'ipv4');
  return !NOT_PUBLIC.check(ip, v === 4 ? 'ipv4' : 'ipv6');
}

export class EgressBlockedError extends Error {
  readonly code = 'EGRESS_BLOCKED';
  constructor(host: string) {
    super(`${host} is not a public address`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http(s).request that only ever hands the socket public addresses. */
function publicOnlyLookup(hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    if (addresses.length === 0 || addresses.some((a) => !isPublicAddress(a.address))) return callback(new EgressBlockedError(hostname), []);
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

/** Whether a URL's host is an address literal (or `localhost`) that could never pass the connection check. */
export function namesPrivateHost(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return !isPublicAddress(host);
  return host === 'localhost' || host.endsWith('.localhost');
}

export interface PostResult {
  status: number;
}

/**
 * One guarded request: the address check on the URL and on every address dialled, no redirects (the status is the
 * answer), a timeout on the socket's idleness and one on the whole exchange (a receiver trickling bytes).
 */
function requestGuarded<T>(
  method: 'GET' | 'POST',
  target: string,
  headers: Record<string, string | number>,
  body: string | undefined,
  opts: { timeoutMs: number; allowPrivate: boolean },
  read: (res: http.IncomingMessage, req: http.ClientRequest, resolve: (v: T) => void, reject: (e: Error) => void) => void,
): Promise<T> {
  const url = new URL(target);
  if (!opts.allowPrivate && namesPrivateHost(url)) return Promise.reject(new EgressBlockedError(url.hostname));
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<T>((resolve, reject) => {
    const req = client.request(
      url,
      { method, headers, timeout: opts.timeoutMs, ...(opts.allowPrivate ? {} : { lookup: publicOnlyLookup as never }) },
      (res) => read(res, req, resolve, reject),
    );
    const timeout = () => req.destroy(Object.assign(new Error(`timed out after ${opts.timeoutMs} ms`), { name: 'TimeoutError' }));
    req.on('timeout', timeout);
    const whole = setTimeout(timeout, opts.timeoutMs);
    req.on('close', () => clearTimeout(whole));
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs a body and reads nothing back but the status; no redirects are followed. */
export function postGuarded(
  target: string,
  headers: Record<string, string>,
  body: string,
  opts: { timeoutMs: number; allowPrivate: boolean },
): Promise<PostResult> {
  return requestGuarded<PostResult>('POST', target, { ...headers, 'content-length': Buffer.byteLength(body) }, body, opts, (res, _req, resolve, reject) => {
    res.resume();
    res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    res.on('error', reject);
  });
}

/** GETs a small document (a client's JWKS) with a size cap; no redirects are followed. */
export function getGuarded(
  target: string,
  opts: { timeoutMs: number; maxBytes: number; allowPrivate: boolean; accept?: string },
): Promise<{ status: number; body: string }> {
  return requestGuarded('GET', target, { accept: opts.accept ?? 'application/json' }, undefined, opts, (res, req, resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > opts.maxBytes) req.destroy(new Error(`response larger than ${opts.maxBytes} bytes`));
      else chunks.push(c);
    });
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    res.on('error', reject);
  });
}

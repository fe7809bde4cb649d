import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import { getGuarded, namesPrivateHost } from '../../security/egress.ts';
import type { ClientRow } from './client.model.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/** Why a jwks_uri cannot be registered, or null: https (http only where private hosts are allowed), no credentials. */
export function jwksUriProblem(value: string, allowPrivate: boolean): string | null {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (u.protocol !== 'https:' && !(allowPrivate && u.protocol === 'http:')) return 'must be an https URL';
  if (u.username || u.password) return 'must not carry credentials';
  if (u.hash) return 'must not have a fragment';
  if (!allowPrivate && namesPrivateHost(u)) return 'must point to a public address';
  return null;
}

/** The client's jwks_uri could not be read (network, status, size, not a JWK set). */
export class JwksFetchError extends Error {
  override name = 'JwksFetchError';
}

/**
 * Keys of private_key_jwt clients that publish them at a jwks_uri, as jose's remote key sets: fetched on first use
 * (one fetch at a time), kept 5 minutes, fetched again early when an assertion names a key the set does not have
 * (the client rotated) at most every 30 s, so a flood of bad assertions cannot make Gatehouse hammer the client.
 * Fetched through the egress guard (no redirects, size cap, public addresses only unless allowed). Per process.
 */
export function createClientJwksCache(opts: { allowPrivate: boolean; timeoutMs?: number; max?: number }) {
  const sets = new Map<string, JWTVerifyGetKey>();
  const max = opts.max ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 5000;

  async function guardedFetch(url: string): Promise<Response> {
    let res: { status: number; body: string };
    try {
      res = await getGuarded(url, { timeoutMs, maxBytes: 256 * 1024, allowPrivate: opts.allowPrivate, accept: 'application/jwk-set+json, application/json' });
    } catch (err) {
      throw new JwksFetchError((err as Error).message);
    }
    if (res.status !== 200) throw new JwksFetchError(`jwks_uri answered ${res.status}`);
    let doc: { keys?: unknown };
    try {
      doc = JSON.parse(res.body) as { keys?: unknown };
    } catch {
      throw new JwksFetchError('jwks_uri did not return JSON');
    }
    if (!doc || !Array.isArray(doc.keys)) throw new JwksFetchError('jwks_uri did not return a JWK set');
    // Public keys only: a private or symmetric key published by mistake is never used to verify.
    const keys = doc.keys.filter((k) => k && typeof k === 'object' && !PRIVATE_MEMBERS.some((m) => m in k));
    return new Response(JSON.stringify({ keys }), { status: 200, headers: { 'content-type': 'application/json' } });
  }

  return {
    keys(tenantId: string, client: Pick<ClientRow, 'client_id' | 'jwks_uri'>): JWTVerifyGetKey {
      const key = `${tenantId}:${client.client_id}:${client.jwks_uri}`;
      let set = sets.get(key);
      if (!set) {
        set = createRemoteJWKSet(new URL(client.jwks_uri!), {
          cacheMaxAge: 5 * 60_000,
          cooldownDuration: 30_000,
          timeoutDuration: timeoutMs,
          [customFetch]: (url: string) => guardedFetch(url),
        });
        if (sets.size >= max) sets.delete(sets.keys().next().value!);
        sets.set(key, set);
      }
      return set;
    },
  };
}

export type ClientJwksCache = ReturnType<typeof createClientJwksCache>;

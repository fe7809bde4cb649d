import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { getGuarded, namesPrivateHost } from '../../security/egress.ts';
import type { ClientRow } from './client.model.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];
/** How long fetched keys are used before fetching again, and the least time between two fetches of one URL. */
const FRESH_MS = 5 * 60_000;
const COOLDOWN_MS = 30_000;

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

/**
 * Keys of private_key_jwt clients that publish them at a jwks_uri: fetched on first use, kept 5 minutes, and fetched
 * again early when an assertion names a key the set does not have (the client rotated), at most every 30 s per URL,
 * so a flood of bad assertions cannot make Gatehouse hammer the client. Per process; each node fetches for itself.
 */
export function createClientJwksCache(opts: { allowPrivate: boolean; timeoutMs?: number; max?: number }) {
  const sets = new Map<string, { keys: JWTVerifyGetKey; at: number }>();
  const max = opts.max ?? 1000;

  async function fetchSet(uri: string): Promise<JWTVerifyGetKey> {
    const res = await getGuarded(uri, { timeoutMs: opts.timeoutMs ?? 5000, maxBytes: 256 * 1024, allowPrivate: opts.allowPrivate, accept: 'application/jwk-set+json, application/json' });
    if (res.status !== 200) throw new Error(`jwks_uri answered ${res.status}`);
    const doc = JSON.parse(res.body) as JSONWebKeySet;
    if (!doc || !Array.isArray(doc.keys)) throw new Error('jwks_uri did not return a JWK set');
    // Public keys only: a private or symmetric key published by mistake is never used to verify.
    return createLocalJWKSet({ keys: doc.keys.filter((k) => k && typeof k === 'object' && !PRIVATE_MEMBERS.some((m) => m in k)) });
  }

  /** One fetch at a time per URL: concurrent assertions wait for the same answer. */
  const inFlight = new Map<string, Promise<JWTVerifyGetKey>>();

  async function load(key: string, uri: string, force: boolean): Promise<JWTVerifyGetKey> {
    const hit = sets.get(key);
    if (hit && Date.now() - hit.at < (force ? COOLDOWN_MS : FRESH_MS)) return hit.keys;
    const running = inFlight.get(key);
    if (running) return running;
    const pending = fetchSet(uri)
      .then((keys) => {
        if (sets.size >= max && !sets.has(key)) sets.delete(sets.keys().next().value!);
        sets.set(key, { keys, at: Date.now() });
        return keys;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
    return pending;
  }

  return {
    /** The client's key set; `refresh` asks for a new fetch (an unknown kid), honoured once the cooldown is over. */
    keys(tenantId: string, client: Pick<ClientRow, 'client_id' | 'jwks_uri'>, refresh = false): Promise<JWTVerifyGetKey> {
      return load(`${tenantId}:${client.client_id}:${client.jwks_uri}`, client.jwks_uri!, refresh);
    },
  };
}

export type ClientJwksCache = ReturnType<typeof createClientJwksCache>;

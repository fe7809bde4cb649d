import type { Gatehouse } from '../../context.ts';
import type { ClientRow } from './client.model.ts';
import { readClient } from './client.queries.ts';

/**
 * Client rows for the token, introspection and revocation endpoints, which read the client on every request.
 * Like the user cache it is on only where this process is the sole writer (the embedded database; 0 = off), every
 * change through client.service invalidates its entry after commit, and a generation per key keeps a read that
 * raced a change from putting the old row back.
 */
export function createClientCache(ttlMs: number, max = 10_000) {
  const rows = new Map<string, { client: ClientRow; at: number }>();
  const generations = new Map<string, number>();
  const key = (tenantId: string, clientId: string) => `${tenantId}:${clientId}`;
  return {
    enabled: ttlMs > 0,
    get(tenantId: string, clientId: string): ClientRow | undefined {
      const hit = rows.get(key(tenantId, clientId));
      if (!hit) return undefined;
      if (Date.now() - hit.at < ttlMs) return hit.client;
      rows.delete(key(tenantId, clientId));
      return undefined;
    },
    generation(tenantId: string, clientId: string): number {
      return generations.get(key(tenantId, clientId)) ?? 0;
    },
    set(tenantId: string, client: ClientRow, generation: number) {
      const k = key(tenantId, client.client_id);
      if (ttlMs <= 0 || (generations.get(k) ?? 0) !== generation) return;
      if (rows.size >= max) rows.delete(rows.keys().next().value!);
      rows.set(k, { client, at: Date.now() });
    },
    invalidate(tenantId: string, clientId: string) {
      const k = key(tenantId, clientId);
      rows.delete(k);
      generations.set(k, (generations.get(k) ?? 0) + 1);
    },
  };
}

export type ClientCache = ReturnType<typeof createClientCache>;

/** The client, from the cache when it holds it. */
export async function findClientCached(gh: Gatehouse, tenantId: string, clientId: string): Promise<ClientRow | undefined> {
  const hit = gh.clients.get(tenantId, clientId);
  if (hit) return hit;
  const generation = gh.clients.generation(tenantId, clientId);
  const client = await readClient(gh.db, tenantId, clientId);
  if (client) gh.clients.set(tenantId, client, generation);
  return client;
}

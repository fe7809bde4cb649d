import { readFileSync } from 'node:fs';
import { buildApp } from '../app.ts';
import type { Config } from '../config/config.ts';
import { createGatehouse } from '../context.ts';
import { ensureLocalCredential, localCredentialFile, runningServer } from '../ops/local-credential.ts';

export interface ApiResult {
  status: number;
  body: unknown;
}

export interface PlatformClient {
  call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<ApiResult>;
  close(): Promise<void>;
}

/**
 * The CLI speaks the platform API either way: to the server that holds the embedded data directory (PGlite allows
 * one process per directory) with the local 0600 credential, or, when none runs, to an in-process app on the same
 * storage. One code path for both, and the same validation as the HTTP API.
 */
export async function openPlatformClient(config: Config): Promise<PlatformClient> {
  const server = config.databaseUrl ? undefined : runningServer(config.dataDir);
  if (server) {
    const secret = readFileSync(localCredentialFile(config.dataDir), 'utf8').trim();
    return {
      async call(method, path, body) {
        const res = await fetch(server.url + path, {
          method,
          headers: { authorization: `Bearer ${secret}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body: body !== undefined ? JSON.stringify(body) : null,
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      },
      async close() {},
    };
  }
  const gh = await createGatehouse({ ...config, logLevel: 'silent' });
  const app = await buildApp(gh);
  await app.ready();
  const secret = await ensureLocalCredential(gh.db, config.dataDir);
  return {
    async call(method, path, body) {
      const res = await app.inject({ method, url: path, headers: { authorization: `Bearer ${secret}` }, ...(body !== undefined ? { payload: body as object } : {}) });
      return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null };
    },
    async close() {
      await app.close();
      await gh.close();
    },
  };
}

import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../db/database.ts';
import { withPlatformTx } from '../db/tenant-tx.ts';
import { authenticatePlatform, createPlatformCredential } from '../platform/platform-credentials.ts';

/** Files in the data directory that let the CLI reach a running server. */
export const localCredentialFile = (dataDir: string) => join(dataDir, 'cli-credential');
export const serverFile = (dataDir: string) => join(dataDir, 'server.json');

/** The CLI's platform credential, kept 0600 in the data directory; created or replaced when missing or revoked. */
export async function ensureLocalCredential(db: Database, dataDir: string): Promise<string> {
  const file = localCredentialFile(dataDir);
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (await authenticatePlatform(db, secret)) return secret;
  }
  const { secret } = await withPlatformTx(db, (tx) => createPlatformCredential(tx, 'local cli', 'local'));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  rmSync(file, { force: true });
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

export interface ServerInfo {
  pid: number;
  url: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The server holding this data directory, if one is running. */
export function runningServer(dataDir: string): ServerInfo | undefined {
  const file = serverFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as ServerInfo;
    if (info.pid !== process.pid && alive(info.pid)) return info;
  } catch {
    /* stale or partial file */
  }
  return undefined;
}

export function writeServerFile(dataDir: string, info: ServerInfo) {
  writeFileSync(serverFile(dataDir), JSON.stringify(info), { mode: 0o600 });
}

export function removeServerFile(dataDir: string) {
  const file = serverFile(dataDir);
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as ServerInfo;
    if (info.pid === process.pid) rmSync(file, { force: true });
  } catch {
    /* already gone */
  }
}

import { chmod, lstat, mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';

/** Which message a dropped file holds: names the file, so a run that is repeated after a crash rewrites the same one. */
export interface DropName {
  id: string;
  createdAt: Date;
  tenant: string;
  template: string;
}

export interface DropMessage {
  from: { name?: string; address: string };
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Composes the MIME message nodemailer would send over SMTP, as a Buffer with CRLF line ends (RFC 5322). */
const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

/** `20250101T120000.123Z-acme-password_reset-<id>.eml`: sorts oldest first; slugs, template names and ids are file-safe. */
export function dropFileName(n: DropName): string {
  return `${n.createdAt.toISOString().replace(/[-:]/g, '')}-${n.tenant}-${n.template}-${n.id}.eml`;
}

/** What dropFileName makes: a dropped message, or (`.<name>.part`) one being written or left by a crash. */
const DROP_FILE = /^\d{8}T\d{6}\.\d{3}Z-[a-z0-9-]+-[a-z_]+-[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\.eml$/;
const isDropFile = (name: string) => DROP_FILE.test(/^\.(.+)\.part$/.exec(name)?.[1] ?? name);

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

/**
 * Deletes the drop's own files (named as dropFileName names them) last modified before `before`; returns how many.
 * Only regular files directly in `dir`: anything else (another name, a directory, a symlink, which is never
 * followed) stays. A missing directory holds nothing; a file removed meanwhile is skipped.
 */
export async function sweepMailDrop(dir: string, before: Date): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return 0;
    throw err;
  }
  let removed = 0;
  for (const name of names.filter(isDropFile)) {
    const file = join(dir, name);
    try {
      const st = await lstat(file);
      if (!st.isFile() || st.mtimeMs >= before.getTime()) continue;
      // Should the name become a symlink meanwhile, unlink removes the link, never what it points to.
      await unlink(file);
      removed++;
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
  }
  return removed;
}

/**
 * Writes a message as an .eml file into `dir` (the development mail drop, used when no SMTP server is configured),
 * like Django's file EmailBackend: it holds one-time links and codes, so the directory is 0700 and the file 0600,
 * and it appears whole (written beside it, then renamed). Returns the file's path and the message's Message-ID.
 */
export async function dropMail(dir: string, name: DropName, message: DropMessage): Promise<{ file: string; messageId: string }> {
  const info = await composer.sendMail(message);
  // Made on demand, so deleting the directory to clear it is fine while the server runs.
  if (await mkdir(dir, { recursive: true, mode: 0o700 })) await chmod(dir, 0o700);
  const file = join(dir, dropFileName(name));
  const partial = join(dir, `.${dropFileName(name)}.part`);
  await writeFile(partial, info.message as Buffer, { mode: 0o600 });
  // A leftover from a crash keeps its old mode through writeFile: set it either way.
  await chmod(partial, 0o600);
  await rename(partial, file);
  return { file, messageId: info.messageId };
}

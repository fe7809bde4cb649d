import { availableParallelism } from 'node:os';
import { Algorithm, hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { verify as bcryptVerify } from '@node-rs/bcrypt';
import { AppError } from '../errors/app-error.ts';

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Verifies against an argon2id or imported bcrypt hash; `rehash` says the stored hash should be upgraded. */
  verify(stored: string, password: string): Promise<{ ok: boolean; rehash: boolean }>;
  /** Spends the same work as a real verification; used when the account does not exist. */
  verifyDummy(password: string): Promise<void>;
  readonly params: Argon2Params;
}

/** A counting semaphore with a bounded queue: a flood of logins waits, then gets 503, but never exhausts memory. */
function createLimiter(concurrency: number, maxQueue: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async function run<T>(fn: () => Promise<T>): Promise<T> {
    if (active >= concurrency) {
      if (queue.length >= maxQueue) throw new AppError('SERVER_BUSY', { headers: { 'retry-after': '1' } });
      await new Promise<void>((resolve) => queue.push(resolve));
    } else {
      active++;
    }
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else active--;
    }
  };
}

function parseArgon2(stored: string): Argon2Params | null {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
  if (!m) return null;
  return { memoryCost: Number(m[1]), timeCost: Number(m[2]), parallelism: Number(m[3]) };
}

/**
 * Hashes computed at once by default: one per CPU, but at most one less than libuv's thread pool (UV_THREADPOOL_SIZE,
 * 4 unless set before Node starts), which hashing shares with the signing of client_credentials tokens (jws-sign.ts): a signature then never
 * waits behind a full pool of hashes. With more than 3 CPUs, set UV_THREADPOOL_SIZE to hash on all of them.
 */
export function defaultHashConcurrency(cpus = availableParallelism(), pool = Number(process.env.UV_THREADPOOL_SIZE) || 4): number {
  return Math.max(1, Math.min(cpus, pool - 1));
}

export function createPasswordHasher(
  params: Argon2Params,
  opts: { concurrency?: number; maxQueue?: number } = {},
): PasswordHasher {
  const run = createLimiter(opts.concurrency ?? defaultHashConcurrency(), opts.maxQueue ?? 256);
  const options = { algorithm: Algorithm.Argon2id, ...params };
  let dummy: Promise<string> | undefined;

  const hash = (password: string) => run(() => argonHash(password, options));

  return {
    params,
    hash,
    async verify(stored, password) {
      if (stored.startsWith('$argon2')) {
        const ok = await run(() => argonVerify(stored, password).catch(() => false));
        const p = parseArgon2(stored);
        const rehash =
          ok &&
          (!p || p.memoryCost !== params.memoryCost || p.timeCost !== params.timeCost || p.parallelism !== params.parallelism);
        return { ok, rehash };
      }
      if (/^\$2[aby]\$\d{2}\$/.test(stored)) {
        const ok = await run(() => bcryptVerify(password, stored).catch(() => false));
        return { ok, rehash: ok };
      }
      return { ok: false, rehash: false };
    },
    async verifyDummy(password) {
      dummy ??= argonHash('gatehouse-dummy-password', options);
      const stored = await dummy;
      await run(() => argonVerify(stored, password).catch(() => false));
    },
  };
}

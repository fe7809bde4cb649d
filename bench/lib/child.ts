import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: children run with it as cwd so `--import tsx` resolves. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const live = new Set<ChildProcess>();

/** Last resort: never leave a server behind, whatever way the bench process ends. */
process.on('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Stops every child still running (after a failed or timed-out benchmark). */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...live].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(() => c.kill('SIGKILL'), 5000);
          c.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
  live.clear();
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** The JSON printed on the child's `BENCH_READY {...}` line. */
  ready: Record<string, unknown>;
  /** Tail of the child's stderr, for error reports. */
  stderr(): string;
  /** Every stdout line seen so far. */
  lines: string[];
  /** Sends an IPC message and waits for the first reply. */
  request<T>(msg: unknown, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Environment on top of a cleaned copy of ours (no DATABASE_URL/REDIS_URL/GATEHOUSE_* leak in). */
  env?: Record<string, string>;
  nodeArgs?: string[];
  /** Waits for a stdout line matching this; default the `BENCH_READY {json}` line our scripts print. */
  readyPattern?: RegExp;
  timeoutMs?: number;
  /** Script args (after the file). */
  args?: string[];
  /** Run the file with plain node (no `--import tsx`), e.g. bin/gatehouse.js which registers tsx itself. */
  noTsx?: boolean;
}

export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GATEHOUSE_') || k === 'DATABASE_URL' || k === 'REDIS_URL' || k === 'PORT' || k === 'HOST') continue;
    if (k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Extra node flags for server children: BENCH_CPU_PROF=<dir> writes a .cpuprofile per server process. */
export function profileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

export function spawnChild(file: string, o: SpawnOptions = {}): Promise<Child> {
  const args = [...(o.nodeArgs ?? []), ...(o.noTsx ? [] : ['--import', 'tsx']), file, ...(o.args ?? [])];
  const proc = spawn(process.execPath, args, { cwd: ROOT, env: cleanEnv(o.env), stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  live.add(proc);
  let errTail = '';
  const lines: string[] = [];
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => {
    errTail = (errTail + d).slice(-8000);
  });
  const pattern = o.readyPattern ?? /^BENCH_READY (\{.*\})$/;
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      live.delete(proc);
      return;
    }
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 8000);
    await exited;
    clearTimeout(t);
    live.delete(proc);
  };
  return new Promise<Child>((resolve, reject) => {
    let buf = '';
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      void stop();
      reject(new Error(`${file}: not ready after ${o.timeoutMs ?? 60_000} ms\n${errTail}`));
    }, o.timeoutMs ?? 60_000);
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trimEnd();
        buf = buf.slice(i + 1);
        lines.push(line);
        const m = pattern.exec(line);
        if (m && !done) {
          done = true;
          clearTimeout(timer);
          let ready: Record<string, unknown> = {};
          if (m[1]?.startsWith('{')) ready = JSON.parse(m[1]) as Record<string, unknown>;
          else if (m[1]) ready = { match: m[1] };
          resolve({
            proc,
            pid: proc.pid!,
            ready,
            lines,
            stderr: () => errTail,
            request<T>(msg: unknown, timeoutMs = 120_000) {
              return new Promise<T>((res, rej) => {
                const t = setTimeout(() => rej(new Error(`${file}: no IPC reply in ${timeoutMs} ms`)), timeoutMs);
                proc.once('message', (reply) => {
                  clearTimeout(t);
                  const r = reply as { error?: string };
                  if (r && typeof r === 'object' && r.error) rej(new Error(r.error));
                  else res(reply as T);
                });
                proc.send(msg as never);
              });
            },
            stop,
          });
        }
      }
    });
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(new Error(`${file} exited (${code ?? signal}) before it was ready\n${errTail}`));
      }
    });
  });
}

/** Resident set size of a process in bytes (Linux /proc). */
export async function rssOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const { readFile } = await import('node:fs/promises');
  const s = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

let clockTicks: number | undefined;

/** CPU time (user + system, all threads) a process has used so far, in seconds (Linux /proc). */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  if (clockTicks === undefined) {
    const { execFileSync } = await import('node:child_process');
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the whole line.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / clockTicks;
}

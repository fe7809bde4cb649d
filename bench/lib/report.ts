/** Output helpers: human lines go to stdout as they come; the pinned BENCH line is always last. */

export function info(line: string): void {
  process.stdout.write(`  ${line}\n`);
}

export const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'NaN');
export const ms = (n: number) => `${fmt(n, 1)} ms`;
export const mib = (bytes: number) => `${fmt(bytes / 1024 / 1024, 1)} MiB`;

/** The one machine-read line: `BENCH NAME ours=X/s limit=Y/s ratio=Z`, ratio = ours/limit. */
export function benchLine(name: string, ours: number, limit: number): string {
  const line = `BENCH ${name} ours=${fmt(ours)}/s limit=${fmt(limit)}/s ratio=${fmt(ours / limit)}`;
  process.stdout.write(line + '\n');
  return line;
}

/** A side figure in the BENCH format but marked informational, so readers of BENCH lines skip it. */
export function benchInfo(name: string, ours: number, limit: number): void {
  info(`BENCH-INFO ${name} ours=${fmt(ours)}/s limit=${fmt(limit)}/s ratio=${fmt(ours / limit)}`);
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Bench knobs from the environment, e.g. BENCH_DURATION=10 for longer runs. */
export function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
}

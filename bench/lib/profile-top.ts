/**
 * Top self-time functions of a V8 .cpuprofile (as written by `BENCH_CPU_PROF=<dir> npm run bench -- NAME`, which
 * passes --cpu-prof to every Gatehouse child). Usage: node --import tsx bench/lib/profile-top.ts FILE [N] [FROM_S TO_S]
 * (FROM_S/TO_S: only samples in that window of seconds since the profile started, e.g. the measured phase).
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, nArg, fromArg, toArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-top.ts FILE.cpuprofile [N]\n');
  process.exit(2);
}
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
const from = Number(fromArg ?? 0) * 1e6;
const to = toArg ? Number(toArg) * 1e6 : Infinity;
let clock = 0;
for (let i = 0; i < p.samples.length; i++) {
  clock += p.timeDeltas[i] ?? 0;
  if (clock < from || clock > to) continue;
  self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
}

const label = (n: Node) => {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/work\/main\//, '');
  return `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
};
const totals = new Map<string, number>();
let all = 0;
for (const [id, us] of self) {
  const key = label(byId.get(id)!);
  totals.set(key, (totals.get(key) ?? 0) + us);
  all += us;
}
// Also per package/area, to see where the time goes at a glance.
const areas = new Map<string, number>();
for (const [key, us] of totals) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(key);
  const area = m
    ? m[1]!
    : key.includes('src/')
      ? 'gatehouse src'
      : key.includes('wasm://')
        ? 'wasm (PGlite postgres)'
        : key.includes('node:')
          ? 'node internals (JS)'
          : key.startsWith('(') && key.endsWith(')')
            ? key
            : 'native/builtin (no url)';
  areas.set(area, (areas.get(area) ?? 0) + us);
}
const n = Number(nArg ?? 25);
process.stdout.write(`total sampled ${(all / 1e6).toFixed(2)} s (profile wall ${((p.endTime - p.startTime) / 1e6).toFixed(2)} s)\n`);
process.stdout.write('-- by area --\n');
for (const [k, us] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
  process.stdout.write(`${((100 * us) / all).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
}
process.stdout.write('-- top self time --\n');
for (const [k, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, n)) {
  process.stdout.write(`${((100 * us) / all).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
}

/**
 * tenants-scale: start-up time and memory with 10 vs 10,000 tenants, on the embedded default (PGlite).
 *
 * Two data directories are seeded with SQL (bench/lib/seed-tenants.ts: tenants, a signing key, an admin and an
 * audit row each). Gatehouse is then started as a user starts it, `node bin/gatehouse.js start` (PORT=0), and
 * start-up is the wall time from spawning the process to the first 200 from GET /ready (polled every 10 ms).
 * Each directory's first start (bootstrap credential, not measured) comes first; then measured restarts alternate
 * 10 / 10k BENCH_ROUNDS times (default 3) and medians are reported.
 *
 * Memory: RSS of the server process right after /ready (plus a 300 ms settle), and again after touching 5 tenants
 * (JWKS, password login of the tenant admin, GET /me each), compared between 10 and 10,000 tenants.
 *
 * BENCH framing: ours = 1/startup_seconds (median, 10,000 tenants); limit = 1/5 s, the start-up budget; so
 * ratio = 5 s / startup and ratio >= 1.00 means within budget. The RSS comparison is printed on the lines before.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, rssOf, spawnChild } from './lib/child.ts';
import { api, PASSWORD } from './lib/gatehouse.ts';
import { benchLine, envNumber, fmt, info, median, mib, ms } from './lib/report.ts';

const BUDGET_S = 5;
const TOUCHED = 5;

interface StartResult {
  listenMs: number;
  readyMs: number;
  rssStart: number;
  rssTouched: number;
}

async function startOnce(dataDir: string, masterKey: string, count: number): Promise<StartResult> {
  const t0 = performance.now();
  const child = await spawnChild(join(ROOT, 'bin/gatehouse.js'), {
    noTsx: true,
    args: ['start'],
    env: { PORT: '0', HOST: '127.0.0.1', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_MASTER_KEY: masterKey, GATEHOUSE_LOG_LEVEL: 'warn' },
    readyPattern: /^Gatehouse is listening on (\S+)/,
    timeoutMs: 60_000,
  });
  try {
    const listenMs = performance.now() - t0;
    const url = child.ready.match as string;
    let readyMs = 0;
    for (;;) {
      const r = await fetch(url + '/ready').catch(() => undefined);
      if (r?.status === 200) {
        await r.arrayBuffer();
        readyMs = performance.now() - t0;
        break;
      }
      if (r) await r.arrayBuffer();
      if (performance.now() - t0 > 60_000) throw new Error(`/ready not 200 after 60 s (last ${r?.status})`);
      await new Promise((res) => setTimeout(res, 10));
    }
    await new Promise((res) => setTimeout(res, 300));
    const rssStart = (await rssOf(child.pid)).rss;
    // Touch a few tenants spread over the range: key ring, tenant cache, user cache, login path.
    for (let k = 0; k < TOUCHED; k++) {
      const slug = `tenant-${String(1 + Math.floor(((k + 0.5) * count) / TOUCHED)).padStart(6, '0')}`;
      const jwks = await api(url, 'GET', `/t/${slug}/.well-known/jwks.json`);
      const tok = await api<{ access_token: string }>(url, 'POST', `/t/${slug}/api/v1/auth/login`, {
        body: { email: `admin@${slug}.bench`, password: PASSWORD },
      });
      const me = await api(url, 'GET', `/t/${slug}/api/v1/me`, { token: tok.body.access_token });
      if (jwks.status !== 200 || tok.status !== 200 || me.status !== 200) {
        throw new Error(`touching ${slug}: jwks ${jwks.status}, login ${tok.status}, me ${me.status}`);
      }
    }
    await new Promise((res) => setTimeout(res, 300));
    const rssTouched = (await rssOf(child.pid)).rss;
    return { listenMs, readyMs, rssStart, rssTouched };
  } finally {
    await child.stop();
  }
}

export async function run(): Promise<void> {
  const rounds = envNumber('BENCH_ROUNDS', 3);
  const counts = [10, envNumber('BENCH_TENANTS', 10_000)] as const;
  const masterKey = randomBytes(32).toString('base64url');
  const dirs = counts.map(() => mkdtempSync(join(tmpdir(), 'gh-bench-tenants-')));
  try {
    for (let i = 0; i < counts.length; i++) {
      const seeder = await spawnChild(join(ROOT, 'bench/lib/seed-tenants.ts'), {
        args: [dirs[i]!, String(counts[i])],
        env: { GATEHOUSE_MASTER_KEY: masterKey },
        timeoutMs: 120_000,
      });
      await seeder.stop();
      info(`seeded ${counts[i]} tenants (key, admin, audit row each) in ${fmt(seeder.ready.seconds as number, 1)} s`);
    }
    for (let i = 0; i < counts.length; i++) {
      const first = await startOnce(dirs[i]!, masterKey, counts[i]!);
      info(`first start (bootstrap, not measured), ${counts[i]} tenants: ready in ${ms(first.readyMs)}`);
    }
    const results: StartResult[][] = counts.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < counts.length; i++) {
        const s = await startOnce(dirs[i]!, masterKey, counts[i]!);
        results[i]!.push(s);
        info(
          `restart ${r + 1}, ${String(counts[i]).padStart(5)} tenants: listening ${ms(s.listenMs)}, /ready 200 at ${ms(s.readyMs)}; ` +
            `RSS ${mib(s.rssStart)} after start, ${mib(s.rssTouched)} after touching ${TOUCHED} tenants`,
        );
      }
    }
    const med = results.map((rs) => ({
      ready: median(rs.map((x) => x.readyMs)),
      rssStart: median(rs.map((x) => x.rssStart)),
      rssTouched: median(rs.map((x) => x.rssTouched)),
    }));
    const [few, many] = med as [(typeof med)[0], (typeof med)[0]];
    info(`median start-up to /ready: ${counts[0]} tenants ${ms(few.ready)}, ${counts[1]} tenants ${ms(many.ready)} (budget ${BUDGET_S} s: ${many.ready <= BUDGET_S * 1000 ? 'met' : 'MISSED'})`);
    info(
      `median RSS after start: ${mib(few.rssStart)} vs ${mib(many.rssStart)} (${fmt(((many.rssStart - few.rssStart) / 1024 / 1024), 1)} MiB, ` +
        `${fmt((many.rssStart / few.rssStart - 1) * 100, 1)}%); after touching ${TOUCHED}: ${mib(few.rssTouched)} vs ${mib(many.rssTouched)} ` +
        `(${fmt((many.rssTouched / few.rssTouched - 1) * 100, 1)}%)`,
    );
    benchLine('tenants-scale', 1000 / many.ready, 1 / BUDGET_S);
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

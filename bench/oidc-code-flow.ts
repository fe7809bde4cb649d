/**
 * oidc-code-flow: latency of the authorization code flow end to end, as a relying party and a browser without a
 * session see it: GET /authorize → 303 → the hosted login page → the login form posted (email, password, CSRF
 * field) → 303s → the redirect URI with the code → POST /oauth/token (authorization_code, PKCE S256,
 * client_secret_basic) → access, ID and refresh tokens. One flow at a time on a fresh cookie jar each
 * (bench/lib/oidc.ts), embedded default (PGlite + in-memory KV), default argon2 parameters.
 *
 * Reference: the password login alone, `POST /t/{slug}/api/v1/auth/login` (the same password check, session and
 * tokens, without the protocol around it), measured in the same loop: requests alternate flow / login one by one,
 * so both see the same machine. BENCH_ROUNDS (default 3) runs of BENCH_DURATION (default 8 s) seconds; users
 * round-robin (BENCH_CODE_FLOW_USERS, default 200), the tenant's default session cap.
 *
 * The BENCH line keeps the runner's convention with rates derived from medians: ours = 1 / flow p50, limit =
 * 1 / login p50 (per second), so ratio = login p50 / flow p50 (the share of the flow's median spent in a login of
 * the same cost). p50 and p95 of both, and the median time per step of the flow, are printed above it.
 * BENCH_BACKEND=server runs Gatehouse on the local PostgreSQL + Redis instead.
 */
import { percentile } from './lib/load.ts';
import { backendFromEnv, createTenant, createUsers, login, startGatehouse } from './lib/gatehouse.ts';
import { Browser, codeFlow, createClient, REDIRECT_URI } from './lib/oidc.ts';
import { benchLine, envNumber, fmt, info, median, ms } from './lib/report.ts';

export async function run(): Promise<void> {
  const duration = envNumber('BENCH_DURATION', 8);
  const rounds = envNumber('BENCH_ROUNDS', 3);
  const userCount = envNumber('BENCH_CODE_FLOW_USERS', 200);
  const gh = await startGatehouse({}, { backend: backendFromEnv() });
  try {
    const slug = 'bench-oidc-code';
    // The tenant's default session cap (5 per user): every flow opens a browser session and a grant session, every
    // login one more, and the oldest are evicted as in production. Enough users that none piles up a long history:
    // on the embedded database a user's sign-in gets slower with their number of live sessions (PGlite has no
    // autovacuum; a user with hundreds of live sessions signs in several times slower until VACUUM).
    await createTenant(gh, slug);
    const client = await createClient(gh, slug, {
      name: 'bench web',
      type: 'confidential',
      redirect_uris: [REDIRECT_URI],
      scope: 'openid email profile offline_access',
      first_party: true,
    });
    const emails = Array.from({ length: userCount }, (_, i) => `user${i}@oidc-code.bench`);
    await createUsers(gh, slug, emails);
    info(`${gh.backend}; one flow at a time, ${rounds} runs of ${duration} s, flow and login alternating; ${userCount} users`);

    const flowOnce = async (i: number, stages?: Record<string, number>) => {
      const r = await codeFlow(gh, slug, client, new Browser(gh.url), emails[i % emails.length]!, 'openid email profile offline_access', stages);
      if (!r.signedIn || !r.id_token || !r.refresh_token) throw new Error('the flow did not sign in on the hosted page or gave no ID/refresh token');
    };
    // Warm-up: a few of each (JIT, caches, the tenant's key).
    for (let i = 0; i < 5; i++) {
      await flowOnce(i);
      await login(gh, slug, emails[i % emails.length]!);
    }

    const flows: number[] = [];
    const logins: number[] = [];
    const steps: Record<string, number[]> = { authorize: [], login: [], token: [] };
    const runP50s: { flow: number; login: number }[] = [];
    let n = 0;
    for (let r = 0; r < rounds; r++) {
      const f: number[] = [];
      const l: number[] = [];
      const stepsFrom = steps.token!.length;
      const deadline = performance.now() + duration * 1000;
      while (performance.now() < deadline) {
        const stages: Record<string, number> = {};
        let t = performance.now();
        await flowOnce(n, stages);
        f.push(performance.now() - t);
        for (const k of Object.keys(steps)) steps[k]!.push(stages[k] ?? 0);
        t = performance.now();
        await login(gh, slug, emails[(n + 7) % emails.length]!);
        l.push(performance.now() - t);
        n++;
      }
      f.sort((a, b) => a - b);
      l.sort((a, b) => a - b);
      runP50s.push({ flow: percentile(f, 50), login: percentile(l, 50) });
      info(
        `run ${r + 1}: ${f.length} flows, p50 ${ms(percentile(f, 50))} p95 ${ms(percentile(f, 95))} | ` +
          `login alone p50 ${ms(percentile(l, 50))} p95 ${ms(percentile(l, 95))} | steps p50: ` +
          Object.entries(steps).map(([k, xs]) => `${k} ${ms(median(xs.slice(stepsFrom)))}`).join(', '),
      );
      flows.push(...f);
      logins.push(...l);
    }
    flows.sort((a, b) => a - b);
    logins.sort((a, b) => a - b);
    const flowP50 = percentile(flows, 50);
    const loginP50 = percentile(logins, 50);
    info(
      `median per step of the flow: authorize + login page ${ms(median(steps.authorize!))}, login post + redirects ` +
        `${ms(median(steps.login!))}, token ${ms(median(steps.token!))}`,
    );
    info(
      `all runs: flow p50 ${ms(flowP50)} p95 ${ms(percentile(flows, 95))} (${flows.length} flows) | ` +
        `login alone p50 ${ms(loginP50)} p95 ${ms(percentile(logins, 95))}; flow - login p50 ${ms(flowP50 - loginP50)} ` +
        `(median of run p50s: flow ${ms(median(runP50s.map((x) => x.flow)))}, login ${ms(median(runP50s.map((x) => x.login)))})`,
    );
    info(`rates below are 1 / p50; ratio = login p50 / flow p50 = ${fmt(loginP50 / flowP50)}`);
    benchLine('oidc-code-flow', 1000 / flowP50, 1000 / loginP50);
  } finally {
    await gh.stop();
  }
}

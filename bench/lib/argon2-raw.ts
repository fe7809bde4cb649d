/**
 * Limit process for `login`: raw @node-rs/argon2 `verify` throughput with the given parameters and concurrency,
 * nothing else. Hashes one password at start, then on each IPC message {run: seconds, concurrency} keeps
 * `concurrency` verifications in flight until the deadline and replies {count, seconds, rps, latencies}.
 *
 * env: BENCH_ARGON2_M (KiB), BENCH_ARGON2_T, BENCH_ARGON2_P.
 */
import { Algorithm, hash, verify } from '@node-rs/argon2';

const params = {
  algorithm: Algorithm.Argon2id,
  memoryCost: Number(process.env.BENCH_ARGON2_M ?? 19456),
  timeCost: Number(process.env.BENCH_ARGON2_T ?? 2),
  parallelism: Number(process.env.BENCH_ARGON2_P ?? 1),
};
const password = 'correct horse battery staple 42';
const stored = await hash(password, params);

async function run(seconds: number, concurrency: number) {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let failures = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      const ok = await verify(stored, password);
      latencies.push(performance.now() - t);
      if (!ok) failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  return { count: latencies.length, failures, seconds: elapsed, rps: latencies.length / elapsed, latencies };
}

process.on('message', (msg: { run: number; concurrency: number }) => {
  run(msg.run, msg.concurrency).then(
    (r) => process.send!(r),
    (err: unknown) => process.send!({ error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
process.stdout.write('BENCH_READY ' + JSON.stringify({ hash: stored, params }) + '\n');

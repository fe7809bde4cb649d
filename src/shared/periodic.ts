/**
 * Runs `run` every `intervalMs`, never two runs at once (a slow run makes the next tick skip, not pile up); the
 * timer does not keep the process alive. stop() clears it and waits for a run in flight. Background workers
 * (alert webhooks, mail) are built on it.
 */
export function startPeriodic(intervalMs: number, run: () => Promise<unknown>, onError: (err: unknown) => void): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = run()
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

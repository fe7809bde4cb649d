import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One test file per CPU, not vitest's CPUs − 1: the suites wait on the database, sockets and Chromium much of the
    // time. Measured on the 2-core CI machine: `.ci/run`'s two passes 1,134 s with one worker, 817 s with two.
    maxWorkers: availableParallelism(),
  },
});

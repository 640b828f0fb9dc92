import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // test/cluster starts its own Redis Clusters (6 redis-server processes on free loopback ports, one per file).
    // Integration and e2e suites share one Redis; each uses its own key prefix, so files may run in parallel,
    // but the machine has two cores: keep the pool small so timing-sensitive tests are not starved.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: ['test/money/**'], sequence: { groupOrder: 0 } } },
      // The money test kills workers and restarts Redis under 1.5 s job locks: a CPU starved by other files makes
      // locks lapse while their workers still run (a load the bot's 30 s locks do not see). It runs after the rest,
      // on its own.
      { extends: true, test: { name: 'money', include: ['test/money/**/*.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});

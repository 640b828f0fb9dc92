import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // test/cluster starts its own Redis Clusters (6 redis-server processes on free loopback ports, one per file).
    // Integration and e2e suites share one Redis; each uses its own key prefix, so files may run in parallel,
    // but the machine has two cores: keep the pool small so timing-sensitive tests are not starved.
    maxWorkers: 2,
  },
});

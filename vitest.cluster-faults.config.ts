import { defineConfig } from 'vitest/config';

// `npm run test:cluster-faults`: the Redis Cluster failover test alone (opt-in, about a minute;
// not matched by vitest.config.ts's test/**/*.test.ts).
export default defineConfig({
  test: {
    include: ['test/integration/*.faults.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});

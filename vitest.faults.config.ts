import { defineConfig } from 'vitest/config';

/**
 * Opt-in fault tests against a stack of their own (`npm run test:kafka-faults`): not in `npm
 * test`, which they would outlast and whose shared single-broker stack they cannot use.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.fault.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 240_000,
    reporters: ['default'],
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that start redis-server or capture on lo use their own ports; files still run
    // one at a time so live captures do not see each other's traffic.
    fileParallelism: false,
  },
});

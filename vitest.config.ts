import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Servers with real models run one file at a time: on 2 cores, parallel files would
    // compete for the same cores and make the timing assertions (ticker, overlap) flaky.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    setupFiles: ["test/support/env.ts"],
  },
});

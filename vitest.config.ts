import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // one process imports the toolkit once for every file, rather than once per file: the
    // files share no state (each makes its own temp folders and restores what it sets)
    isolate: false,
  },
});

import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // vitest's default leaves one core idle (one test file at a time on CI's 2 cores); many
    // files wait on child processes, Chromium or files, so every core runs a file
    maxWorkers: availableParallelism(),
  },
});

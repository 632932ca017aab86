import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { wgslInclude } from './scripts/wgsl_include.ts';

export default defineConfig({
  plugins: [wgslInclude()], // the shaders' #include lines, as in vite.config.ts
  test: {
    include: ['tests/**/*.test.ts'],
    // Two test files at a time even on 2 cores (Vitest's default there is one): a file's own CPU use is about 1.3 cores
    // (SwiftShader's threads besides the test's), so a second file fills the gaps: 318 s against 347 s for the unit
    // tests on 2 cores, 2026-12-04. The browser tests run one file at a time (scripts/test.mjs).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // A worker runs its test files in one module graph: tests/helpers/gpu.ts's device, and with it every compiled
    // shader pipeline, serves all the files a worker runs instead of being created again for each (on SwiftShader a
    // model's passes compile for seconds). Tests share no other state: each makes its own sessions and databases.
    isolate: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

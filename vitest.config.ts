import { defineConfig } from 'vitest/config';
import { wgslInclude } from './scripts/wgsl_include.ts';

export default defineConfig({
  plugins: [wgslInclude()], // the shaders' #include lines, as in vite.config.ts
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

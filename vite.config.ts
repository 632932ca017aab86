import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { wgslInclude } from './scripts/wgsl_include.ts';

export default defineConfig({
  plugins: [react(), wgslInclude()],
  // `plugins` reaches workers only in dev; the build bundles the engine worker (and its shaders) with `worker.plugins`.
  worker: { format: 'es', plugins: () => [wgslInclude()] },
  build: { target: 'es2022' },
});

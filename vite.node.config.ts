// Bundles the Node entry points (benchmark, headless runs) so they run with plain `node`, WGSL `?raw` imports inlined
// with their `#include`s resolved (scripts/wgsl_include.ts).
// `webgpu` stays external: it is a native addon resolved from node_modules at run time.
import { defineConfig } from 'vite';
import { wgslInclude } from './scripts/wgsl_include.ts';

export default defineConfig({
  plugins: [wgslInclude()],
  // Bundle every dependency (zod, …) so the output runs where only `webgpu` is installed (the lent GPU machine).
  ssr: { noExternal: true, external: ['webgpu'] },
  build: {
    ssr: true,
    target: 'node20',
    outDir: 'dist-node',
    emptyOutDir: true,
    minify: false,
    rollupOptions: {
      input: {
        bench: 'bench/bench.ts',
        experiment: 'src/headless/cli.ts',
        report: 'src/headless/report_cli.ts',
        export: 'src/headless/export_cli.ts',
      },
      external: ['webgpu'],
      output: { format: 'es', entryFileNames: '[name].mjs' },
    },
  },
});

#!/usr/bin/env node
// Before/after timings of one change in one process: `node bench/before_after.mjs BEFORE [AFTER]` (git revisions;
// AFTER defaults to HEAD). Each revision is exported (git archive) to a temporary folder, bench/before_after_entry.ts
// of this tree is built there (Vite, as vite.node.config.ts does), and both builds run on their own device in this
// process, alternating round by round (order flipped every round), so a busy machine's load falls on both alike.
// Prints and writes (bench-results/before_after.json) the median over rounds of: all attention dispatches of one
// training step, and a whole training step, per case; and each tree's training memory.
// Options: --rounds N (3)  --cases tiny:8:64,selftest:16:7 (model:B:T; model is a preset name or 'selftest')
//          --att-reps N (1)  --steps N (1)  --out PATH
import { execSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { webgpuEnv } from '../scripts/webgpu-env.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? fallback : argv.splice(i, 2)[1];
};
const rounds = Number(option('rounds', '3'));
const attReps = Number(option('att-reps', '1'));
const steps = Number(option('steps', '1'));
const out = option('out', 'bench-results/before_after.json');
const cases = option('cases', 'tiny:8:64,selftest:16:7')
  .split(',')
  .map((c) => c.split(':'))
  .map(([model, B, T]) => ({ model, B: Number(B), T: Number(T) }));
const [before, after = 'HEAD'] = argv;
if (!before) throw new Error('usage: node bench/before_after.mjs BEFORE [AFTER] [options]');

// The Vulkan driver settings (LD_LIBRARY_PATH among them) must be in place when the process starts: run again with them.
if (!process.env.BEFORE_AFTER_CHILD) {
  const child = spawnSync(process.execPath, process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...webgpuEnv(), BEFORE_AFTER_CHILD: '1' },
  });
  process.exit(child.status ?? 1);
}

const VITE_CONFIG = `import { defineConfig } from 'vite';
import { wgslInclude } from './scripts/wgsl_include.ts';
export default defineConfig({
  plugins: [wgslInclude()],
  ssr: { noExternal: true, external: ['webgpu'] },
  build: { ssr: true, target: 'node20', outDir: 'dist-before-after', emptyOutDir: true, minify: false,
    rollupOptions: { input: { entry: 'bench/before_after_entry.ts' }, external: ['webgpu'],
      output: { format: 'es', entryFileNames: '[name].mjs' } } },
});
`;

/** Exports `rev`, builds the entry there and imports it. */
async function load(rev) {
  const commit = execSync(`git rev-parse --short ${rev}`, { cwd: root }).toString().trim();
  const dir = mkdtempSync(join(tmpdir(), `before-after-${commit}-`));
  execSync(`git archive ${commit} | tar -x -C ${dir}`, { cwd: root });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  copyFileSync(join(root, 'bench/before_after_entry.ts'), join(dir, 'bench/before_after_entry.ts'));
  writeFileSync(join(dir, 'vite.before_after.config.ts'), VITE_CONFIG);
  const build = spawnSync('npx', ['vite', 'build', '--config', 'vite.before_after.config.ts', '--logLevel', 'warn'], {
    cwd: dir,
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error(`building ${rev} (${commit}) in ${dir} failed`);
  return { rev, commit, dir, module: await import(join(dir, 'dist-before-after/entry.mjs')) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

const trees = [await load(before), await load(after)];
for (const t of trees) t.ctx = await t.module.context();
console.log(`adapter: ${trees[0].ctx.adapterName}; before ${trees[0].commit}, after ${trees[1].commit}`);
const report = { adapter: trees[0].ctx.adapterName, date: new Date().toISOString(), before: trees[0].commit };
report.after = trees[1].commit;
report.rounds = rounds;
report.cases = [];
for (const { model, B, T } of cases) {
  const prepared = [];
  for (const t of trees) prepared.push(await t.module.prepareCase(t.ctx, model, B, T));
  const times = prepared.map(() => ({ attentionMs: [], stepMs: [] }));
  for (let r = 0; r < rounds; r++) {
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      times[i].attentionMs.push(await prepared[i].attentionMs(attReps));
      times[i].stepMs.push(await prepared[i].stepMs(steps));
    }
    const last = (i, k) => times[i][k].at(-1).toFixed(1);
    console.log(
      `${model} B${B} T${T} round ${r}: attention ${last(0, 'attentionMs')} -> ${last(1, 'attentionMs')} ms, step ${last(0, 'stepMs')} -> ${last(1, 'stepMs')} ms`,
    );
  }
  const side = (i) => ({
    attentionKernels: prepared[i].attentionKernels,
    attentionMedianMs: median(times[i].attentionMs),
    stepMedianMs: median(times[i].stepMs),
    ...prepared[i].memory,
    raw: times[i],
  });
  const entry = { model, B, T, before: side(0), after: side(1) };
  report.cases.push(entry);
  console.log(
    `${model} B${B} T${T} medians: attention ${entry.before.attentionMedianMs.toFixed(1)} -> ${entry.after.attentionMedianMs.toFixed(1)} ms, step ${entry.before.stepMedianMs.toFixed(1)} -> ${entry.after.stepMedianMs.toFixed(1)} ms; step must hold ${entry.before.requiredBytes} -> ${entry.after.requiredBytes} bytes`,
  );
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote ${out}`);
for (const t of trees) rmSync(t.dir, { recursive: true, force: true });
process.exit(0);

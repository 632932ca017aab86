/**
 * `npm run bench`: measures the engine on whatever WebGPU adapter Dawn finds and prints, and writes as JSON
 * (bench-results/bench.json):
 *   - matmul GFLOP/s at the model's shapes (forward, dX and dW of every Linear),
 *   - each Linear of one decode step (M = the batch, the generator's rows) with the tiled kernel and with
 *     shaders/matmul_rows.wgsl, and which one prepareMatmul takes on this adapter,
 *   - one training step's time and tokens/s (forward + loss + backward + clip + AdamW, one command buffer),
 *   - generation tokens/s (KV-cache sampling as torch_side.py: prompts of 8 random tokens, temperature 0.7, to the
 *     context length), and one decode step's per-kernel GPU time (where the adapter has timestamp queries; on a
 *     software adapter only with --profile),
 *   - prompt prefill: 8 rows of ragged prompts (~150 tokens where the context allows) + 32 new tokens, generated with
 *     parallel prefill and token by token (GenerateOptions.prefill), wall time of each and whether the tokens agree,
 *   - training memory: what the step must hold vs what the engine allocated,
 * for each preset run. Timings are wall-clock over many queued repetitions (submit, then wait for the queue), so
 * per-submit overhead is amortised; the adapter is named in the output.
 *
 * Options: --preset tiny:64,small:64,medium:32,medium:64 (preset or preset:batch; that list is the default on a GPU,
 * the runs ../shared/gpu/torch_side.py measures)  --batch N (override)  --steps N  --out path  --profile (per-kernel
 * times on software too)  --anchor FILE (torch_side.py's JSON: prints the ratio table of bench/anchor.ts, adds it to
 * the JSON under `anchor` and writes it as Markdown beside --out, <out>-anchor.md).
 * On a software adapter (SwiftShader) the default runs are small and tiny at batch 4, so the run ends in a few
 * minutes; the JSON says so.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type GpuContext, isSoftwareAdapter, waitIdle } from '../src/gpu/context';
import { type Dispatch, runDispatches } from '../src/gpu/dispatch';
import { chooseMatmulTile, type MatmulTile, prepareMatmul, ROWS_TILE } from '../src/gpu/ops/matmul';
import { createStorage, type TensorRef, whole } from '../src/gpu/tensor';
import { createNodeGpuContext } from '../src/headless/dawn';
import { MODEL_PRESETS, type ModelConfig, type ModelPreset, mlpWidth } from '../src/model/config';
import { Generator } from '../src/model/generate';
import type { Batch } from '../src/train/backend';
import { DEFAULT_OPTIM_CONFIG } from '../src/train/config';
import { Trainer } from '../src/train/trainer';
import { createRng } from '../src/util/rng';
import {
  adapterWarning,
  type BenchPresetResult,
  compareWithAnchor,
  formatAnchorTable,
  parseAnchor,
  type TorchAnchor,
} from './anchor';
import { benchPlayground } from './playground';
import { benchSuites } from './suites';

interface PresetRun {
  preset: ModelPreset;
  /** null: --batch, else the adapter's default (64 on a GPU, 4 on software). */
  batch: number | null;
}

/** The runs torch_side.py measures: tiny and small at batch 64, medium at 32 and 64. */
const GPU_RUNS: PresetRun[] = [
  { preset: 'tiny', batch: 64 },
  { preset: 'small', batch: 64 },
  { preset: 'medium', batch: 32 },
  { preset: 'medium', batch: 64 },
];
const SOFTWARE_RUNS: PresetRun[] = [
  { preset: 'small', batch: null },
  { preset: 'tiny', batch: null },
];

/** Generation settings of torch_side.py's KV-cache sampling. */
const GENERATION_PROMPT_TOKENS = 8;
const GENERATION_TEMPERATURE = 0.7;

interface Args {
  /** null: GPU_RUNS on a GPU, SOFTWARE_RUNS on a software adapter. */
  presets: PresetRun[] | null;
  batch: number | null;
  steps: number;
  out: string;
  /** Per-kernel timestamp profile even on a software adapter. */
  profile: boolean;
  anchor: TorchAnchor | null;
  anchorPath: string | null;
}

/** Reads and validates torch_side.py's JSON (before any GPU work, so a bad file fails at once). */
function readAnchor(path: string): TorchAnchor {
  const why = (err: unknown) => (err instanceof Error ? err.message : String(err));
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`--anchor ${path}: cannot read it (${why(err)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`--anchor ${path}: not JSON (${why(err)})`);
  }
  try {
    return parseAnchor(json);
  } catch (err) {
    throw new Error(`--anchor ${path}: ${why(err)}`);
  }
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    presets: null,
    batch: null,
    steps: 20,
    out: 'bench-results/bench.json',
    profile: false,
    anchor: null,
    anchorPath: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (key === '--profile') {
      args.profile = true;
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${key} needs a value`);
    if (key === '--preset') {
      args.presets = value.split(',').map((item) => {
        const [n, b] = item.split(':') as [string, string | undefined];
        if (!(n in MODEL_PRESETS))
          throw new Error(`unknown preset ${n}; choose from ${Object.keys(MODEL_PRESETS).join(', ')}`);
        const batch = b === undefined ? null : Number(b);
        if (batch !== null && !(Number.isInteger(batch) && batch > 0))
          throw new Error(`--preset ${item}: the batch after ':' must be a positive integer`);
        return { preset: n as ModelPreset, batch };
      });
    } else if (key === '--anchor') {
      args.anchorPath = value;
      args.anchor = readAnchor(value);
    } else if (key === '--batch') args.batch = Number.parseInt(value, 10);
    else if (key === '--steps') args.steps = Number.parseInt(value, 10);
    else if (key === '--out') args.out = value;
    else throw new Error(`unknown option ${key}`);
    i++;
  }
  return args;
}

async function timeMs(ctx: GpuContext, reps: number, submit: () => void): Promise<number> {
  submit(); // warm-up (pipeline compilation, first-touch allocation)
  await waitIdle(ctx);
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) submit();
  await waitIdle(ctx);
  return (performance.now() - t0) / reps;
}

/** The model's Linear layers: [name, output features, input features]. */
function linearLayers(c: ModelConfig): (readonly [string, number, number])[] {
  const C = c.dModel;
  const F = mlpWidth(c);
  return [
    ['c_attn', 3 * C, C],
    ['attn.c_proj', C, C],
    ['c_fc', F, C],
    ['mlp.c_proj', C, F],
    ['lm_head', c.vocabSize, C],
  ];
}

/** A fresh storage tensor of n floats (contents unset), for timing. */
function benchTensor(ctx: GpuContext): (n: number) => TensorRef {
  return (n) => ({ ...whole(createStorage(ctx.device, n, 'bench')), length: n });
}

interface MatmulResult {
  name: string;
  M: number;
  N: number;
  K: number;
  ms: number;
  gflops: number;
}

async function benchMatmuls(
  ctx: GpuContext,
  c: ModelConfig,
  B: number,
  T: number,
  software: boolean,
): Promise<MatmulResult[]> {
  const N = B * T;
  const C = c.dModel;
  const F = mlpWidth(c);
  const V = c.vocabSize;
  const tensor = benchTensor(ctx);
  const scratch = tensor(8 * Math.max(3 * C * C, F * C, V * C));
  const shapes: { name: string; M: number; N: number; K: number; transA?: boolean; transB?: boolean }[] = [];
  for (const [layer, out, inp] of linearLayers(c)) {
    shapes.push({ name: `${layer} forward`, M: N, N: out, K: inp, transB: true });
    shapes.push({ name: `${layer} dX`, M: N, N: inp, K: out });
    shapes.push({ name: `${layer} dW`, M: out, N: inp, K: N, transA: true });
  }
  const results: MatmulResult[] = [];
  for (const s of shapes) {
    const a = tensor(s.M * s.K);
    const b = tensor(s.K * s.N);
    const out = tensor(s.M * s.N);
    const dispatches: Dispatch[] = prepareMatmul(ctx, {
      a,
      b,
      c: out,
      M: s.M,
      N: s.N,
      K: s.K,
      transA: s.transA,
      transB: s.transB,
      scratch,
    });
    const reps = software ? 3 : 50;
    const ms = await timeMs(ctx, reps, () => runDispatches(ctx, dispatches, s.name));
    results.push({ name: s.name, M: s.M, N: s.N, K: s.K, ms, gflops: (2 * s.M * s.N * s.K) / (ms * 1e6) });
    for (const t of [a, b, out]) t.buffer.destroy();
  }
  scratch.buffer.destroy();
  return results;
}

interface DecodeMatmulResult {
  name: string;
  M: number;
  N: number;
  K: number;
  /** The tiled kernels' choice (chooseMatmulTile with rows: false) and shaders/matmul_rows.wgsl. */
  tiledKernel: string;
  tiledMs: number;
  rowsMs: number;
  /** The kernel prepareMatmul takes for this shape on this adapter. */
  chosen: string;
}

/**
 * The Linear layers of one decode step (M = `rows`, the generator's rows): each timed with the tiled kernel it would
 * take without the rows kernel and with the rows kernel, so one GPU run says which is faster at these shapes.
 */
async function benchDecodeMatmuls(
  ctx: GpuContext,
  c: ModelConfig,
  rows: number,
  software: boolean,
): Promise<DecodeMatmulResult[]> {
  const tensor = benchTensor(ctx);
  const results: DecodeMatmulResult[] = [];
  for (const [name, N, K] of linearLayers(c)) {
    const M = rows;
    const [a, b, bias, out] = [tensor(M * K), tensor(N * K), tensor(N), tensor(M * N)];
    const args = { a, b, c: out, M, N, K, transB: true, bias };
    const tiled = chooseMatmulTile(M, N, K, { transB: true, rows: false, cpuAdapter: software });
    const reps = software ? 3 : 200;
    const time = (tile: MatmulTile) => {
      const dispatches = prepareMatmul(ctx, args, tile);
      return timeMs(ctx, reps, () => runDispatches(ctx, dispatches, `decode ${name}`));
    };
    const tiledMs = await time(tiled);
    const rowsMs = await time(ROWS_TILE);
    const chosen = chooseMatmulTile(M, N, K, { transB: true, cpuAdapter: software });
    results.push({ name, M, N, K, tiledKernel: tileLabel(tiled), tiledMs, rowsMs, chosen: tileLabel(chosen) });
    for (const t of [a, b, bias, out]) t.buffer.destroy();
  }
  return results;
}

function tileLabel(t: MatmulTile): string {
  return `${t.kernel} ${t.tileM}×${t.tileN}`;
}

/**
 * Per-kernel GPU time of one training step, from timestamp queries around each dispatch (each in its own compute
 * pass), summed by kernel label with the layer index removed. Null when the adapter has no 'timestamp-query'.
 */
async function profileStep(ctx: GpuContext, dispatches: readonly Dispatch[]): Promise<Record<string, number> | null> {
  if (!ctx.device.features.has('timestamp-query')) return null;
  const count = dispatches.length * 2;
  const querySet = ctx.device.createQuerySet({ type: 'timestamp', count });
  const resolve = ctx.device.createBuffer({
    size: count * 8,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const read = ctx.device.createBuffer({ size: count * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = ctx.device.createCommandEncoder();
  dispatches.forEach((d, i) => {
    const pass = encoder.beginComputePass({
      timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    });
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(...d.workgroups);
    pass.end();
  });
  encoder.resolveQuerySet(querySet, 0, count, resolve, 0);
  encoder.copyBufferToBuffer(resolve, 0, read, 0, count * 8);
  ctx.device.queue.submit([encoder.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const t = new BigInt64Array(read.getMappedRange().slice(0));
  read.unmap();
  const byKernel: Record<string, number> = {};
  dispatches.forEach((d, i) => {
    const key = d.label.replace(/^(gen\.)?h\d+\./, '');
    byKernel[key] = (byKernel[key] ?? 0) + Number(t[2 * i + 1]! - t[2 * i]!) / 1e6;
  });
  querySet.destroy();
  resolve.destroy();
  read.destroy();
  return byKernel;
}

/** Rows, prompt length and new tokens of the prefill measurement (prompts shortened to fit small contexts). */
const PREFILL_BENCH_ROWS = 8;
const PREFILL_BENCH_PROMPT_TOKENS = 150;
const PREFILL_BENCH_NEW_TOKENS = 32;

interface PrefillResult {
  rows: number;
  /** Shortest and longest prompt (ragged: the longest rows' tails go token by token). */
  promptTokensMin: number;
  promptTokensMax: number;
  maxNewTokens: number;
  prefillOnMs: number;
  prefillOffMs: number;
  /** prefillOffMs / prefillOnMs. */
  speedup: number;
  /** Rows whose tokens are the same both ways (all, up to f32 near-ties). */
  rowsSameTokens: number;
}

/** Generation of ragged prompts with parallel prefill and token by token, on a fresh generator of 8 rows. */
async function benchPrefill(
  ctx: GpuContext,
  model: ConstructorParameters<typeof Generator>[1],
  config: ModelConfig,
): Promise<PrefillResult> {
  const T = config.contextLength;
  const maxNewTokens = Math.max(1, Math.min(PREFILL_BENCH_NEW_TOKENS, Math.floor(T / 4)));
  const longest = Math.min(PREFILL_BENCH_PROMPT_TOKENS + 3, T - 1 - maxNewTokens);
  const rng = createRng(11);
  const prompts = Array.from({ length: PREFILL_BENCH_ROWS }, (_, b) =>
    Array.from({ length: Math.max(1, longest - (b % 4)) }, () => rng.int(config.vocabSize)),
  );
  const gen = new Generator(ctx, model, PREFILL_BENCH_ROWS);
  const sampling = { temperature: 1, topK: 0, topP: 1, stopTokenId: -1, stopTemperature: 1, stopLogitBias: 0 };
  const o = { maxNewTokens, sampling, seed: 3, eosId: -1, stepsPerChunk: 32 };
  await gen.generate(prompts, { ...o, maxNewTokens: 1 }); // warm-up: the prefill pass's pipelines
  const timed = async (prefill: boolean) => {
    const t0 = performance.now();
    const out = await gen.generate(prompts, { ...o, prefill });
    return { ms: performance.now() - t0, tokens: out.map((c) => c.tokens.join(',')) };
  };
  const on = await timed(true);
  const off = await timed(false);
  gen.destroy();
  const lengths = prompts.map((p) => p.length);
  return {
    rows: PREFILL_BENCH_ROWS,
    promptTokensMin: Math.min(...lengths),
    promptTokensMax: Math.max(...lengths),
    maxNewTokens,
    prefillOnMs: on.ms,
    prefillOffMs: off.ms,
    speedup: off.ms / on.ms,
    rowsSameTokens: on.tokens.filter((t, b) => t === off.tokens[b]).length,
  };
}

function randomBatch(c: ModelConfig, B: number, T: number, seed: number): Batch {
  const rng = createRng(seed);
  const n = B * T;
  const tokens = Int32Array.from({ length: n }, () => rng.int(c.vocabSize));
  const targets = Int32Array.from({ length: n }, () => rng.int(c.vocabSize));
  const weights = new Float32Array(n).fill(1 / n);
  return { tokens, targets, weights };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const ctx = await createNodeGpuContext();
  const software = isSoftwareAdapter(ctx);
  console.log(`adapter: ${ctx.adapterName}${software ? ' (software)' : ''}`);
  console.log(`subgroup reductions: ${ctx.subgroupReductions ? 'on' : `off (${ctx.subgroupProblem})`}`);
  const report: Record<string, unknown> = {
    adapter: ctx.adapterName,
    software,
    subgroupReductions: ctx.subgroupReductions,
    subgroupProblem: ctx.subgroupProblem,
    date: new Date().toISOString(),
    note: software
      ? 'software adapter: batch reduced so the run ends in minutes; figures are not comparable to a GPU'
      : undefined,
    presets: [] as unknown[],
  };
  const results: BenchPresetResult[] = [];
  for (const run of args.presets ?? (software ? SOFTWARE_RUNS : GPU_RUNS)) {
    const name = run.preset;
    const config = MODEL_PRESETS[name];
    const T = config.contextLength;
    const B = args.batch ?? run.batch ?? (software ? 4 : 64);
    console.log(
      `\n== preset ${name}: vocab ${config.vocabSize}, context ${T}, d ${config.dModel}, ${config.nLayers} layers, ${config.nHeads} heads; batch ${B}`,
    );
    const matmuls = await benchMatmuls(ctx, config, B, T, software);
    for (const m of matmuls) {
      console.log(
        `  matmul ${m.name.padEnd(20)} ${`${m.M}x${m.N}x${m.K}`.padEnd(16)} ${m.ms.toFixed(3).padStart(9)} ms ${m.gflops.toFixed(1).padStart(9)} GFLOP/s`,
      );
    }
    const decodeMatmuls = await benchDecodeMatmuls(ctx, config, B, software);
    for (const m of decodeMatmuls) {
      console.log(
        `  decode matmul ${m.name.padEnd(13)} ${`${m.M}x${m.N}x${m.K}`.padEnd(16)} ${m.tiledKernel} ${(m.tiledMs * 1000).toFixed(1)} µs, rows ${(m.rowsMs * 1000).toFixed(1)} µs (rows speed-up ${(m.tiledMs / m.rowsMs).toFixed(2)}×; taken: ${m.chosen})`,
      );
    }
    const trainer = new Trainer(ctx, config, DEFAULT_OPTIM_CONFIG, B, T);
    const batches = [0, 1, 2].map((s) => randomBatch(config, B, T, s));
    for (let s = 0; s < 3; s++) await trainer.step(batches[s % 3]!);
    const steps = software ? Math.min(args.steps, 3) : args.steps;
    const t0 = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let s = 0; s < steps; s++) pending.push(trainer.step(batches[s % 3]!));
    await Promise.all(pending);
    const stepTimeMs = (performance.now() - t0) / steps;
    const trainTokensPerSecond = (B * T * 1000) / stepTimeMs;
    const mem = trainer.memory();
    console.log(
      `  training step       ${stepTimeMs.toFixed(2)} ms/step, ${(trainTokensPerSecond / 1e6).toFixed(4)} M tokens/s`,
    );
    console.log(
      `  training memory     allocated ${(mem.allocatedBytes / 2 ** 20).toFixed(1)} MiB, step must hold ${(mem.requiredBytes / 2 ** 20).toFixed(1)} MiB (ratio ${(mem.allocatedBytes / mem.requiredBytes).toFixed(3)})`,
    );
    let memoryAtBatch64: { allocatedBytes: number; requiredBytes: number } | null = null;
    if (B !== 64) {
      // The memory target is stated for batch 64: allocate that trainer too (no steps) and report its memory.
      const full = new Trainer(ctx, config, DEFAULT_OPTIM_CONFIG, 64, T);
      memoryAtBatch64 = full.memory();
      full.destroy();
      console.log(
        `  memory at batch 64  allocated ${(memoryAtBatch64.allocatedBytes / 2 ** 20).toFixed(1)} MiB, step must hold ${(memoryAtBatch64.requiredBytes / 2 ** 20).toFixed(1)} MiB (ratio ${(memoryAtBatch64.allocatedBytes / memoryAtBatch64.requiredBytes).toFixed(3)})`,
      );
    }
    // Timestamp queries on a software adapter measure the CPU emulation, not a GPU: skip the profile there.
    const profile = software && !args.profile ? null : await profileStep(ctx, trainer.stepDispatches());
    if (profile) {
      const total = Object.values(profile).reduce((a, b) => a + b, 0);
      console.log(`  per-kernel GPU time (timestamp queries, one pass per dispatch; total ${total.toFixed(2)} ms):`);
      for (const [k, ms] of Object.entries(profile)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)) {
        console.log(`    ${k.padEnd(34)} ${ms.toFixed(3).padStart(9)} ms`);
      }
    }

    const gen = new Generator(ctx, { config, layout: trainer.model.layout, params: trainer.model.params }, B);
    const promptRng = createRng(7);
    const prompts = Array.from({ length: B }, () =>
      Array.from({ length: GENERATION_PROMPT_TOKENS }, () => promptRng.int(config.vocabSize)),
    );
    const sampling = {
      temperature: GENERATION_TEMPERATURE,
      topK: 0,
      topP: 1,
      stopTokenId: -1,
      stopTemperature: 1,
      stopLogitBias: 0,
    };
    const newTokens = T - GENERATION_PROMPT_TOKENS;
    const maxNewTokens = software ? Math.min(16, newTokens) : newTokens;
    await gen.generate(prompts, { maxNewTokens: 4, sampling, seed: 1, eosId: -1 }); // warm-up
    const g0 = performance.now();
    const out = await gen.generate(prompts, { maxNewTokens, sampling, seed: 2, eosId: -1, stepsPerChunk: 32 });
    const genMs = performance.now() - g0;
    const generated = out.reduce((s, c) => s + c.tokens.length, 0);
    const generateTokensPerSecond = (generated * 1000) / genMs;
    console.log(
      `  generation          ${generated} tokens in ${genMs.toFixed(1)} ms: ${generateTokensPerSecond.toFixed(1)} tokens/s (KV cache, ${B} rows)`,
    );
    // One decode step of B rows at mid-context, each dispatch in its own timed pass (as the training step's profile).
    const decodeProfile =
      software && !args.profile
        ? null
        : await profileStep(
            ctx,
            gen.prepareStepForProfile(B, { maxNewTokens: 1, sampling, seed: 3, eosId: -1 }, Math.floor(T / 2)),
          );
    if (decodeProfile) {
      const total = Object.values(decodeProfile).reduce((a, b) => a + b, 0);
      console.log(
        `  decode step per-kernel GPU time (${B} rows at position ${Math.floor(T / 2)}; total ${total.toFixed(3)} ms):`,
      );
      for (const [k, ms] of Object.entries(decodeProfile)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)) {
        console.log(`    ${k.padEnd(34)} ${(ms * 1000).toFixed(1).padStart(9)} µs`);
      }
    }
    const prefill = await benchPrefill(ctx, gen.model, config);
    console.log(
      `  prompt prefill      ${prefill.rows} rows, prompts ${prefill.promptTokensMin}–${prefill.promptTokensMax} + ${prefill.maxNewTokens} new tokens: ${prefill.prefillOnMs.toFixed(1)} ms with parallel prefill, ${prefill.prefillOffMs.toFixed(1)} ms token by token (${prefill.speedup.toFixed(2)}×; ${prefill.rowsSameTokens}/${prefill.rows} rows same tokens)`,
    );
    results.push({
      preset: name,
      batchSize: B,
      seqLen: T,
      stepTimeMs,
      matmuls,
      generation: { rows: B, tokensPerSecond: generateTokensPerSecond },
    });
    (report.presets as unknown[]).push({
      preset: name,
      config,
      batchSize: B,
      seqLen: T,
      matmuls,
      stepTimeMs,
      trainTokensPerSecond,
      memory: { ...mem, ratio: mem.allocatedBytes / mem.requiredBytes },
      memoryAtBatch64,
      decodeMatmuls,
      profileMs: profile,
      decodeProfileMs: decodeProfile,
      generation: {
        rows: B,
        promptTokens: GENERATION_PROMPT_TOKENS,
        temperature: GENERATION_TEMPERATURE,
        generatedTokens: generated,
        wallMs: genMs,
        tokensPerSecond: generateTokensPerSecond,
      },
      prefill,
    });
  }
  const comparison = args.anchor ? compareWithAnchor(ctx.adapterName, results, args.anchor) : null;
  if (comparison) {
    report.anchor = { file: args.anchorPath, ...comparison };
    const table = formatAnchorTable(comparison);
    console.log(`\n== beside PyTorch (${args.anchorPath})\n${table}`);
    const tablePath = `${args.out.replace(/\.json$/, '')}-anchor.md`;
    mkdirSync(dirname(tablePath), { recursive: true });
    writeFileSync(tablePath, `${table}\n`);
    console.log(`wrote ${tablePath}`);
  }
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${args.out}`);
  const warning = comparison ? adapterWarning(comparison) : null;
  if (warning) console.warn(`\n${warning}`);
  ctx.device.destroy();
  process.exit(0);
}

const argv = process.argv.slice(2);
(argv[0] === 'playground'
  ? benchPlayground(argv.slice(1)).then(() => process.exit(0))
  : argv[0] === 'suites'
    ? benchSuites(argv.slice(1)).then(() => process.exit(0))
    : main()
).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

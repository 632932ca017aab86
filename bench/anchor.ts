/**
 * The side-by-side with PyTorch: `npm run bench -- --anchor FILE` reads the JSON that ../shared/gpu/torch_side.py
 * writes (PyTorch eager on the same GPU: f32, TF32 off, AdamW with global-norm clipping, the same presets; one line
 * {gpu, torch, train: [...], matmul: {...}}) and sets each measurement of the bench beside PyTorch's. Pure functions:
 * `parseAnchor` validates the untrusted file, `compareWithAnchor` builds the ratios, `formatAnchorTable` prints them.
 *
 * Ratios (all > 1 when Stoptime is ahead):
 *   stepSpeedupRatio         PyTorch step ms / Stoptime step ms, same preset and batch;
 *   generationSpeedupRatio   Stoptime tokens/s / PyTorch KV-cache tokens/s, same preset and number of rows;
 *   cublasFractionRatio      Stoptime GFLOP/s / cuBLAS GFLOP/s, same Linear shape (preset and batch).
 */

export interface AnchorTrainEntry {
  preset: string;
  B: number;
  T: number;
  stepMs: number;
  genTokensPerSecond: number;
  genRows: number;
}

export interface AnchorMatmulEntry {
  name: string;
  ms: number;
  gflops: number;
}

export interface TorchAnchor {
  gpu: string;
  torch: string;
  train: AnchorTrainEntry[];
  /** Keyed `<preset>_b<batch>` (e.g. small_b64), as torch_side.py writes them. */
  matmul: Record<string, AnchorMatmulEntry[]>;
  note?: string;
}

/** What the comparison reads of one preset of the bench's JSON (bench/bench.ts). */
export interface BenchPresetResult {
  preset: string;
  batchSize: number;
  seqLen: number;
  stepTimeMs: number;
  matmuls: { name: string; gflops: number }[];
  generation: { rows: number; tokensPerSecond: number };
}

export interface AnchorComparison {
  adapter: string;
  anchorGpu: string;
  anchorTorch: string;
  /** True when the bench's adapter name does not contain the anchor's GPU name: the ratios then compare two machines. */
  adaptersDiffer: boolean;
  train: { preset: string; batchSize: number; stepTimeMs: number; torchStepMs: number; stepSpeedupRatio: number }[];
  generation: {
    preset: string;
    rows: number;
    tokensPerSecond: number;
    torchTokensPerSecond: number;
    generationSpeedupRatio: number;
  }[];
  matmul: {
    preset: string;
    batchSize: number;
    name: string;
    gflops: number;
    cublasGflops: number;
    cublasFractionRatio: number;
  }[];
  /** Anchor measurements with no bench counterpart (another batch, rows or shape), each with the reason. */
  unmatched: string[];
}

export class AnchorError extends Error {
  override name = 'AnchorError';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function field(o: Record<string, unknown>, path: string, key: string): unknown {
  if (!(key in o)) throw new AnchorError(`anchor ${path}.${key}: missing`);
  return o[key];
}

function text(o: Record<string, unknown>, path: string, key: string): string {
  const v = field(o, path, key);
  if (typeof v !== 'string' || v.length === 0) {
    throw new AnchorError(`anchor ${path}.${key}: must be a non-empty string, got ${show(v)}`);
  }
  return v;
}

function positive(o: Record<string, unknown>, path: string, key: string, integer = false): number {
  const v = field(o, path, key);
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new AnchorError(
      `anchor ${path}.${key}: must be a positive ${integer ? 'integer' : 'number'}, got ${show(v)}`,
    );
  }
  return v;
}

function list(o: Record<string, unknown>, path: string, key: string): unknown[] {
  const v = field(o, path, key);
  if (!Array.isArray(v)) throw new AnchorError(`anchor ${path}.${key}: must be an array, got ${show(v)}`);
  return v;
}

function record(v: unknown, path: string): Record<string, unknown> {
  if (!isRecord(v)) throw new AnchorError(`anchor ${path}: must be an object, got ${show(v)}`);
  return v;
}

/** Validates torch_side.py's JSON (already parsed); throws AnchorError naming the first bad field. */
export function parseAnchor(json: unknown): TorchAnchor {
  const root = record(json, '(top level)');
  const p = '';
  const train = list(root, p, 'train').map((e, i) => {
    const at = `.train[${i}]`;
    const o = record(e, at);
    return {
      preset: text(o, at, 'preset'),
      B: positive(o, at, 'B', true),
      T: positive(o, at, 'T', true),
      stepMs: positive(o, at, 'step_ms'),
      genTokensPerSecond: positive(o, at, 'gen_tokens_per_s_kv'),
      genRows: positive(o, at, 'gen_rows', true),
    };
  });
  const matmulRoot = record(field(root, p, 'matmul'), '.matmul');
  const matmul: Record<string, AnchorMatmulEntry[]> = {};
  for (const key of Object.keys(matmulRoot)) {
    if (!/^[a-z]+_b\d+$/.test(key)) throw new AnchorError(`anchor .matmul.${key}: key must be <preset>_b<batch>`);
    matmul[key] = list(matmulRoot, '.matmul', key).map((e, i) => {
      const at = `.matmul.${key}[${i}]`;
      const o = record(e, at);
      return { name: text(o, at, 'name'), ms: positive(o, at, 'ms'), gflops: positive(o, at, 'gflops') };
    });
  }
  const note = root.note;
  if (note !== undefined && typeof note !== 'string') throw new AnchorError(`anchor .note: must be a string`);
  return { gpu: text(root, p, 'gpu'), torch: text(root, p, 'torch'), train, matmul, note };
}

/** Whether `adapter` (Dawn's "vendor / architecture / device / description") names the anchor's GPU. */
export function sameGpu(adapter: string, anchorGpu: string): boolean {
  const squash = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '');
  const gpu = squash(anchorGpu.replace(/^nvidia\s+/i, ''));
  return gpu.length > 0 && squash(adapter).includes(gpu);
}

/** Sets every bench measurement that has a PyTorch counterpart in `anchor` beside it. */
export function compareWithAnchor(
  adapter: string,
  presets: BenchPresetResult[],
  anchor: TorchAnchor,
): AnchorComparison {
  const out: AnchorComparison = {
    adapter,
    anchorGpu: anchor.gpu,
    anchorTorch: anchor.torch,
    adaptersDiffer: !sameGpu(adapter, anchor.gpu),
    train: [],
    generation: [],
    matmul: [],
    unmatched: [],
  };
  const generationSeen = new Set<string>();
  for (const t of anchor.train) {
    const run = presets.find((r) => r.preset === t.preset && r.batchSize === t.B);
    if (run && run.seqLen !== t.T) {
      out.unmatched.push(`train ${t.preset} B${t.B}: context ${t.T} in the anchor, ${run.seqLen} in the bench`);
    } else if (run) {
      out.train.push({
        preset: t.preset,
        batchSize: t.B,
        stepTimeMs: run.stepTimeMs,
        torchStepMs: t.stepMs,
        stepSpeedupRatio: t.stepMs / run.stepTimeMs,
      });
    } else {
      out.unmatched.push(`train ${t.preset} B${t.B}: the bench has no ${t.preset} run at batch ${t.B}`);
    }
    const genKey = `${t.preset}:${t.genRows}`;
    if (generationSeen.has(genKey)) continue;
    generationSeen.add(genKey);
    const gen = presets.find((r) => r.preset === t.preset && r.generation.rows === t.genRows);
    if (gen) {
      out.generation.push({
        preset: t.preset,
        rows: t.genRows,
        tokensPerSecond: gen.generation.tokensPerSecond,
        torchTokensPerSecond: t.genTokensPerSecond,
        generationSpeedupRatio: gen.generation.tokensPerSecond / t.genTokensPerSecond,
      });
    } else {
      out.unmatched.push(
        `generation ${t.preset}, ${t.genRows} rows: the bench has no ${t.preset} run with as many rows`,
      );
    }
  }
  for (const [key, entries] of Object.entries(anchor.matmul)) {
    const [preset, b] = key.split('_b') as [string, string];
    const batchSize = Number(b);
    const run = presets.find((r) => r.preset === preset && r.batchSize === batchSize);
    if (!run) {
      out.unmatched.push(`matmul ${key}: the bench has no ${preset} run at batch ${batchSize}`);
      continue;
    }
    for (const e of entries) {
      const ours = run.matmuls.find((m) => m.name === e.name);
      if (!ours) {
        out.unmatched.push(`matmul ${key} ${e.name}: not measured by the bench`);
        continue;
      }
      out.matmul.push({
        preset,
        batchSize,
        name: e.name,
        gflops: ours.gflops,
        cublasGflops: e.gflops,
        cublasFractionRatio: ours.gflops / e.gflops,
      });
    }
  }
  return out;
}

/** A loud warning when the two sides ran on different GPUs (null when they match). */
export function adapterWarning(c: AnchorComparison): string | null {
  if (!c.adaptersDiffer) return null;
  const bar = '!'.repeat(100);
  return [
    bar,
    `!! WARNING: the anchor was measured on "${c.anchorGpu}", this bench on "${c.adapter}".`,
    '!! The ratios below compare two different machines and mean nothing about the engine.',
    bar,
  ].join('\n');
}

/** The comparison as Markdown: one table of every matched measurement, then what could not be matched. */
export function formatAnchorTable(c: AnchorComparison): string {
  const fmt = (v: number, digits = 2) => v.toFixed(digits);
  const times = (r: number) => (r >= 1 ? `${fmt(r)}× faster` : `${fmt(1 / r)}× slower`);
  const lines = [
    `Stoptime on ${c.adapter} beside PyTorch ${c.anchorTorch} eager on ${c.anchorGpu}`,
    '',
    '| work | Stoptime | PyTorch eager | ratio |',
    '|---|---|---|---|',
  ];
  for (const t of c.train) {
    lines.push(
      `| training step, ${t.preset}, batch ${t.batchSize} | ${fmt(t.stepTimeMs)} ms | ${fmt(t.torchStepMs)} ms | ${times(t.stepSpeedupRatio)} (stepSpeedupRatio ${t.stepSpeedupRatio.toPrecision(3)}) |`,
    );
  }
  for (const g of c.generation) {
    lines.push(
      `| KV-cache generation, ${g.preset}, ${g.rows} rows | ${fmt(g.tokensPerSecond / 1000, 1)} k tokens/s | ${fmt(g.torchTokensPerSecond / 1000, 1)} k tokens/s | ${times(g.generationSpeedupRatio)} (generationSpeedupRatio ${g.generationSpeedupRatio.toPrecision(3)}) |`,
    );
  }
  for (const m of c.matmul) {
    lines.push(
      `| matmul ${m.name}, ${m.preset} batch ${m.batchSize} | ${fmt(m.gflops / 1000, 2)} TFLOP/s | cuBLAS ${fmt(m.cublasGflops / 1000, 2)} TFLOP/s | ${fmt(100 * m.cublasFractionRatio, 1)}% of cuBLAS |`,
    );
  }
  if (c.unmatched.length > 0) {
    lines.push('', 'Not matched:', ...c.unmatched.map((u) => `- ${u}`));
  }
  const warning = adapterWarning(c);
  return warning ? `${warning}\n\n${lines.join('\n')}\n\n${warning}` : lines.join('\n');
}

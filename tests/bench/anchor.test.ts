import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  adapterWarning,
  type BenchPresetResult,
  compareWithAnchor,
  formatAnchorTable,
  parseAnchor,
  sameGpu,
} from '../../bench/anchor';

/** A torch_side.py output in miniature: tiny at 64, medium at 32 (64 generation rows), one matmul set. */
function anchorJson(): Record<string, unknown> {
  return {
    gpu: 'NVIDIA H200',
    torch: '2.11.0+cu130',
    train: [
      {
        preset: 'tiny',
        B: 64,
        T: 64,
        params: 1,
        step_ms: 4,
        tokens_per_s: 1,
        gen_tokens_per_s_kv: 40000,
        gen_rows: 64,
      },
      { preset: 'medium', B: 32, T: 256, step_ms: 10, gen_tokens_per_s_kv: 20000, gen_rows: 64 },
    ],
    matmul: {
      tiny_b64: [
        { name: 'c_fc forward', ms: 0.01, gflops: 20000 },
        { name: 'lm_head dW', ms: 0.01, gflops: 5000 },
      ],
    },
  };
}

const H200 = 'nvidia / hopper / NVIDIA H200 / Vulkan driver';

function run(preset: string, batchSize: number, seqLen: number, stepTimeMs: number, tps: number): BenchPresetResult {
  return {
    preset,
    batchSize,
    seqLen,
    stepTimeMs,
    matmuls: [
      { name: 'c_fc forward', gflops: 10000 },
      { name: 'c_attn forward', gflops: 3000 },
    ],
    generation: { rows: batchSize, tokensPerSecond: tps },
  };
}

describe('bench anchor (the side-by-side with PyTorch)', () => {
  it('sets each matched measurement beside PyTorch with ratios > 1 when Stoptime is ahead', () => {
    const c = compareWithAnchor(
      H200,
      [run('tiny', 64, 64, 2, 120000), run('medium', 32, 256, 25, 15000)],
      parseAnchor(anchorJson()),
    );
    expect(c.adaptersDiffer).toBe(false);
    expect(c.train).toEqual([
      { preset: 'tiny', batchSize: 64, stepTimeMs: 2, torchStepMs: 4, stepSpeedupRatio: 2 },
      { preset: 'medium', batchSize: 32, stepTimeMs: 25, torchStepMs: 10, stepSpeedupRatio: 0.4 },
    ]);
    // tiny generated 64 rows as PyTorch did; medium only 32 rows against PyTorch's 64: not compared.
    expect(c.generation).toEqual([
      { preset: 'tiny', rows: 64, tokensPerSecond: 120000, torchTokensPerSecond: 40000, generationSpeedupRatio: 3 },
    ]);
    expect(c.matmul).toEqual([
      {
        preset: 'tiny',
        batchSize: 64,
        name: 'c_fc forward',
        gflops: 10000,
        cublasGflops: 20000,
        cublasFractionRatio: 0.5,
      },
    ]);
    expect(c.unmatched).toEqual([
      'generation medium, 64 rows: the bench has no medium run with as many rows',
      'matmul tiny_b64 lm_head dW: not measured by the bench',
    ]);
    const table = formatAnchorTable(c);
    expect(table).toContain(
      '| training step, tiny, batch 64 | 2.00 ms | 4.00 ms | 2.00× faster (stepSpeedupRatio 2.00) |',
    );
    expect(table).toContain(
      '| training step, medium, batch 32 | 25.00 ms | 10.00 ms | 2.50× slower (stepSpeedupRatio 0.400) |',
    );
    expect(table).toContain('| KV-cache generation, tiny, 64 rows | 120.0 k tokens/s | 40.0 k tokens/s | 3.00× faster');
    expect(table).toContain(
      '| matmul c_fc forward, tiny batch 64 | 10.00 TFLOP/s | cuBLAS 20.00 TFLOP/s | 50.0% of cuBLAS |',
    );
    expect(table).not.toContain('WARNING');
  });

  it('reports a run at another batch or context as unmatched instead of comparing it', () => {
    const c = compareWithAnchor(
      H200,
      [run('tiny', 4, 64, 2, 100), run('medium', 32, 128, 5, 100)],
      parseAnchor(anchorJson()),
    );
    expect(c.train).toEqual([]);
    expect(c.matmul).toEqual([]);
    expect(c.unmatched).toContain('train tiny B64: the bench has no tiny run at batch 64');
    expect(c.unmatched).toContain('train medium B32: context 256 in the anchor, 128 in the bench');
    expect(c.unmatched).toContain('matmul tiny_b64: the bench has no tiny run at batch 64');
  });

  it('warns loudly when the adapter is not the anchor GPU', () => {
    expect(sameGpu(H200, 'NVIDIA H200')).toBe(true);
    expect(sameGpu('nvidia / hopper / NVIDIA H100 80GB HBM3', 'NVIDIA H200')).toBe(false);
    const c = compareWithAnchor(
      'google / swiftshader / SwiftShader Device',
      [run('tiny', 64, 64, 900, 50)],
      parseAnchor(anchorJson()),
    );
    expect(c.adaptersDiffer).toBe(true);
    expect(adapterWarning(c)).toMatch(
      /WARNING: the anchor was measured on "NVIDIA H200", this bench on "google \/ swiftshader/,
    );
    expect(formatAnchorTable(c).startsWith('!!!!')).toBe(true);
  });

  it('rejects a malformed anchor with an error naming the field', () => {
    const bad = (mutate: (j: Record<string, unknown>) => void) => {
      const j = anchorJson();
      mutate(j);
      return () => parseAnchor(j);
    };
    expect(() => parseAnchor([])).toThrow(/anchor \(top level\): must be an object, got \[\]/);
    expect(() => parseAnchor(null)).toThrow(/must be an object, got null/);
    expect(bad((j) => delete j.gpu)).toThrow(/anchor \.gpu: missing/);
    expect(bad((j) => (j.train = 'x'))).toThrow(/anchor \.train: must be an array, got "x"/);
    expect(bad((j) => ((j.train as Record<string, unknown>[])[1]!.step_ms = '10'))).toThrow(
      /anchor \.train\[1\]\.step_ms: must be a positive number, got "10"/,
    );
    expect(bad((j) => ((j.train as Record<string, unknown>[])[0]!.step_ms = -1))).toThrow(
      /step_ms: must be a positive number, got -1/,
    );
    expect(bad((j) => ((j.train as Record<string, unknown>[])[0]!.gen_rows = 6.5))).toThrow(
      /\.train\[0\]\.gen_rows: must be a positive integer, got 6.5/,
    );
    expect(bad((j) => delete (j.train as Record<string, unknown>[])[0]!.preset)).toThrow(
      /\.train\[0\]\.preset: missing/,
    );
    expect(bad((j) => (j.matmul = { small: [] }))).toThrow(/\.matmul\.small: key must be <preset>_b<batch>/);
    expect(
      bad((j) => ((j.matmul as Record<string, unknown[]>).tiny_b64 = [{ name: 'x', ms: 1, gflops: null }])),
    ).toThrow(/\.matmul\.tiny_b64\[0\]\.gflops: must be a positive number, got null/);
    expect(bad((j) => (j.note = 3))).toThrow(/\.note: must be a string/);
  });

  it('accepts the H200 measurement committed in docs/measurements/', () => {
    const a = parseAnchor(JSON.parse(readFileSync('docs/measurements/torch-h200-2026-12-04.json', 'utf8')));
    expect(a.gpu).toBe('NVIDIA H200');
    expect(a.train.map((t) => `${t.preset}:${t.B}`)).toEqual(['tiny:64', 'small:64', 'medium:32']);
    expect(a.matmul.small_b64).toHaveLength(15);
  });
});

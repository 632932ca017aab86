import { describe, expect, it } from 'vitest';
import { buildParamLayout, initParams } from '../../src/model/params';
import { referenceForward } from '../../src/model/reference';
import { buildEvalSuite, buildSftSet, isHeldOut } from '../../src/tasks/datasets';
import { getTask } from '../../src/tasks/index';
import { decode, encode, PAD_ID } from '../../src/tasks/tokenizer';
import type { Batch } from '../../src/train/backend';
import { createGpuBackend } from '../../src/train/backend_gpu';
import {
  batchAt,
  buildEvalSet,
  buildHeldOutData,
  buildSftData,
  epochOrder,
  HELD_OUT_SEED_OFFSET,
  largestEvalSuite,
  packBatch,
  SAMPLE_PROMPTS,
  type SftData,
  tokenizeExample,
} from '../../src/train/data';
import {
  DEFAULT_RUN_CONFIG,
  modelConfigFor,
  optimConfigFor,
  type RunConfig,
  runConfigIssues,
  taskConfigFor,
} from '../../src/train/run_config';
import { gpuContext } from '../helpers/gpu';

/** One-digit arithmetic on the tiny model (context 64): every example fits. */
const small: RunConfig = {
  ...DEFAULT_RUN_CONFIG,
  seed: 3,
  task: { ...DEFAULT_RUN_CONFIG.task, arithmeticMaxDigits: 1, arithmeticMaxThinkTokens: 16 },
  model: { size: 'tiny' },
  sft: { ...DEFAULT_RUN_CONFIG.sft, batchSize: 6, trainSize: 40 },
};
const T = 64;

/** Checks one packed row against its sequence; returns the number of loss positions. */
function checkRow(batch: Batch, b: number, ids: Int32Array, promptTokens: number): number {
  const row = (a: ArrayLike<number>) => Array.from({ length: T }, (_, t) => a[b * T + t]!);
  const tokens = row(batch.tokens);
  const targets = row(batch.targets);
  const n = ids.length;
  expect(tokens.slice(0, n - 1)).toEqual(Array.from(ids.subarray(0, n - 1)));
  expect(tokens.slice(n - 1).every((x) => x === PAD_ID)).toBe(true);
  const lossAt = targets.flatMap((x, t) => (x >= 0 ? [t] : []));
  // The loss covers the position predicting the first target token (promptTokens − 1) through the one predicting <eos>.
  expect(lossAt).toEqual(Array.from({ length: n - promptTokens }, (_, i) => promptTokens - 1 + i));
  expect(lossAt.map((t) => targets[t])).toEqual(Array.from(ids.subarray(promptTokens)));
  return lossAt.length;
}

function weightsSumToOne(batch: Batch): void {
  const positions = batch.targets.filter((x) => x >= 0).length;
  let sum = 0;
  batch.weights.forEach((w, i) => {
    expect(w).toBe(batch.targets[i]! >= 0 ? Math.fround(1 / positions) : 0);
    sum += w;
  });
  // positions f32 values of 1/positions: rounding error ≤ positions · 2⁻²⁴ relative.
  expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
}

describe('SFT training data', () => {
  it('packs prompt + target with the loss only on the target span, weights summing to 1', () => {
    const data = buildSftData(small, T);
    const samples = buildSftSet({
      task: 'arithmetic',
      size: small.sft.trainSize,
      seed: small.seed,
      config: taskConfigFor(small),
      style: 'cot',
    });
    expect(data.drawn).toBe(40);
    expect(data.droppedFraction).toBe(0);
    // The tokenized examples are prompt then target, and decode back to the sample text.
    data.sequences.forEach((s, i) => {
      expect(decode(s.ids.subarray(0, s.promptTokens))).toBe(samples[i]!.prompt);
      expect(decode(s.ids.subarray(s.promptTokens))).toBe(samples[i]!.target);
    });
    for (const step of [0, 3, 7]) {
      const batch = batchAt(data, step);
      expect(batch.tokens.length).toBe(6 * T);
      for (let b = 0; b < 6; b++) {
        // Find which sequence the row holds: the one whose tokens the row starts with.
        const seq = data.sequences.find((s) =>
          Array.from(s.ids.subarray(0, s.ids.length - 1)).every((x, t) => batch.tokens[b * T + t] === x),
        )!;
        expect(seq).toBeDefined();
        checkRow(batch, b, seq.ids, seq.promptTokens);
        // The target positions spell out the target text, <eos> last.
        const targetIds = Array.from(batch.targets.subarray(b * T, b * T + T)).filter((x) => x >= 0);
        expect(decode(targetIds).endsWith('<eos>')).toBe(true);
      }
      weightsSumToOne(batch);
    }
  });

  it('sequences of exactly T + 1 tokens fit; T + 2 do not; padding rows carry no loss', () => {
    const seq = (n: number, p: number) => ({
      ids: Int32Array.from({ length: n }, (_, i) => 10 + (i % 50)),
      promptTokens: p,
    });
    const batch = packBatch([seq(T + 1, 5), seq(9, 3)], 3, T);
    expect(checkRow(batch, 0, seq(T + 1, 5).ids, 5)).toBe(T + 1 - 5);
    expect(checkRow(batch, 1, seq(9, 3).ids, 3)).toBe(6);
    expect(Array.from(batch.targets.subarray(2 * T)).every((x) => x === -1)).toBe(true);
    expect(Array.from(batch.tokens.subarray(2 * T)).every((x) => x === PAD_ID)).toBe(true);
    weightsSumToOne(batch);
    expect(() => packBatch([seq(T + 2, 5)], 1, T)).toThrow(/does not fit/);
  });

  it('each epoch visits every example once, in a new order; batch s depends only on (seed, s)', () => {
    const data = buildSftData({ ...small, sft: { ...small.sft, trainSize: 12, batchSize: 4 } }, T);
    const rowsOf = (d: SftData, s: number) => {
      const batch = batchAt(d, s);
      return Array.from({ length: 4 }, (_, b) => Array.from(batch.tokens.subarray(b * T, b * T + 8)).join(','));
    };
    // Steps 0–2 are epoch 0 (12 examples / 4): each example once.
    const firstPrefixes = data.sequences.map((s) => Array.from(s.ids.subarray(0, 8)).join(','));
    const epoch0 = [0, 1, 2].flatMap((s) => rowsOf(data, s));
    expect(epoch0.slice().sort()).toEqual(firstPrefixes.slice().sort());
    const epoch1 = [3, 4, 5].flatMap((s) => rowsOf(data, s));
    expect(epoch1.slice().sort()).toEqual(firstPrefixes.slice().sort());
    expect(epoch1).not.toEqual(epoch0);
    expect(epochOrder(data.seed, 0, 12)).not.toEqual(epochOrder(data.seed, 1, 12));
    // Resume: a fresh build asked for step 5 directly gives what the uninterrupted sequence gave.
    const again = buildSftData({ ...small, sft: { ...small.sft, trainSize: 12, batchSize: 4 } }, T);
    expect(batchAt(again, 5)).toEqual(batchAt(data, 5));
    expect(rowsOf(again, 5)).toEqual(epoch1.slice(8, 12));
    // A batch larger than the set spans epochs.
    const wide = { ...data, batchSize: 30 };
    expect(batchAt(wide, 1).tokens.length).toBe(30 * T);
    // Another seed, another order.
    const other = buildSftData({ ...small, seed: 4, sft: { ...small.sft, trainSize: 12, batchSize: 4 } }, T);
    expect(epochOrder(other.seed, 0, 12)).not.toEqual(epochOrder(data.seed, 0, 12));
  });

  it('the training window T is the longest example (at most the context); a given window drops longer ones', () => {
    const fitted = buildSftData(small);
    const longest = Math.max(...fitted.sequences.map((s) => s.ids.length));
    expect(fitted.seqLen).toBe(longest - 1);
    expect(fitted.seqLen).toBeLessThan(T); // one-digit traces are short: rows need not be padded to 64
    expect(batchAt(fitted, 2).tokens.length).toBe(6 * fitted.seqLen);
    // The same examples, in the same order, as at the full context: only the padding differs.
    const full = buildSftData(small, T);
    expect(full.sequences).toEqual(fitted.sequences);
    const a = batchAt(fitted, 2);
    const b = batchAt(full, 2);
    for (let r = 0; r < 6; r++) {
      expect(Array.from(b.tokens.subarray(r * T, r * T + fitted.seqLen))).toEqual(
        Array.from(a.tokens.subarray(r * fitted.seqLen, (r + 1) * fitted.seqLen)),
      );
      expect(Array.from(b.targets.subarray(r * T + fitted.seqLen, (r + 1) * T)).every((x) => x === -1)).toBe(true);
    }
    // A shorter window keeps only the examples that fit it and counts the others as dropped.
    const w = fitted.seqLen - 3;
    const narrow = buildSftData(small, w);
    expect(narrow.seqLen).toBe(w);
    expect(narrow.sequences.every((s) => s.ids.length <= w + 1)).toBe(true);
    expect(narrow.sequences.length).toBe(fitted.sequences.filter((s) => s.ids.length <= w + 1).length);
    expect(narrow.droppedFraction).toBe(1 - narrow.sequences.length / 40);
    for (const bad of [0, T + 1, 2.5]) expect(() => buildSftData(small, bad)).toThrow(/window must be an integer/);
  });

  it('drops examples longer than the context and reports the fraction; throws when none fits', () => {
    // 3-digit distilled traces: some exceed the tiny model's 64 + 1 tokens.
    const long: RunConfig = {
      ...small,
      task: { ...small.task, arithmeticMaxDigits: 3, arithmeticMaxThinkTokens: 90 },
      sft: { ...small.sft, trainSize: 200 },
    };
    const data = buildSftData(long);
    // Independent count: the dataset's own token count (meta.sequenceTokens) against T + 1.
    const samples = buildSftSet({
      task: 'arithmetic',
      size: 200,
      seed: long.seed,
      config: taskConfigFor(long),
      style: 'cot',
    });
    const tooLong = samples.filter((s) => s.meta.sequenceTokens > T + 1).length;
    expect(tooLong).toBeGreaterThan(0);
    expect(tooLong).toBeLessThan(200);
    expect(data.droppedFraction).toBe(tooLong / 200);
    expect(data.sequences.length).toBe(200 - tooLong);
    expect(data.sequences.every((s) => s.ids.length <= T + 1)).toBe(true);
    // Sokoban prompts alone are longer than the tiny context.
    const sokoban: RunConfig = {
      ...small,
      task: { ...small.task, id: 'sokoban' },
      eval: { ...small.eval, variant: 'id' },
    };
    expect(() => buildSftData(sokoban)).toThrow(
      /none of the 40 training examples fits the 'tiny' model's context of 64/,
    );
  });

  it('the held-out loss batch: min(batchSize, available) held-out problems, packed like training', () => {
    const held = buildHeldOutData(small);
    expect(held.rows).toBe(6);
    expect(held.batch).not.toBeNull();
    weightsSumToOne(held.batch!);
    expect(held.samplePrompts.length).toBe(SAMPLE_PROMPTS);
    const task = getTask('arithmetic');
    for (const p of held.samplePrompts) {
      expect(isHeldOut(task.problemKey(p.problem))).toBe(true);
      expect(p.promptIds).toEqual(encode(p.prompt));
    }
    expect(buildHeldOutData(small)).toEqual(held); // fixed
    // General Points 'id' has 111 distinct held-out problems (docs/tasks.md), fewer than a batch of 128: the batch gets
    // the largest suite that builds (rejection sampling may miss the rarest last problems), on the 'medium' model
    // (context 256) which fits every one of them.
    const gp: RunConfig = {
      ...small,
      task: { ...small.task, id: 'general_points' },
      model: { size: 'medium' },
      sft: { ...small.sft, batchSize: 128 },
    };
    const gpHeld = buildHeldOutData(gp);
    const gpSuite = (size: number) =>
      buildEvalSuite({
        task: 'general_points',
        size,
        variant: 'id',
        seed: gp.seed + HELD_OUT_SEED_OFFSET,
        style: 'cot',
      });
    const rows = gpHeld.rows;
    expect(rows).toBeGreaterThan(100);
    expect(rows).toBeLessThanOrEqual(111);
    expect(gpSuite(rows).every((s) => s.meta.sequenceTokens <= 257)).toBe(true);
    expect(() => gpSuite(rows + 1)).toThrow(); // maximal
    expect(gpHeld.batch!.tokens.length).toBe(128 * 256);
    expect(Array.from(gpHeld.batch!.targets.subarray(rows * 256)).every((x) => x === -1)).toBe(true);
    expect(Array.from(gpHeld.batch!.targets.subarray((rows - 1) * 256, rows * 256)).some((x) => x >= 0)).toBe(true);
  });

  it('largestEvalSuite returns the largest buildable prefix', () => {
    const capacity = 13;
    const build = (n: number) => {
      if (n > capacity) throw new Error('exhausted');
      return Array.from({ length: n }, (_, i) => i);
    };
    expect(largestEvalSuite(40, build)).toEqual(build(13));
    expect(largestEvalSuite(5, build)).toEqual(build(5));
    expect(() =>
      largestEvalSuite(5, () => {
        throw new Error('nothing at all');
      }),
    ).toThrow('nothing at all');
    // Real suite: General Points 'face_7' holds 33 distinct held-out problems (docs/tasks.md).
    const real = largestEvalSuite(40, (size) =>
      buildEvalSuite({ task: 'general_points', size, variant: 'face_7', seed: 1 }),
    );
    expect(real.length).toBe(33);
  });

  it('the evaluation set: the suite the EvalConfig names, prompts tokenized, bad settings named', () => {
    const set = buildEvalSet(small, { size: 10, variant: 'add', seed: 9 });
    const suite = buildEvalSuite({
      task: 'arithmetic',
      size: 10,
      variant: 'add',
      seed: 9,
      config: taskConfigFor(small),
    });
    expect(set.items.map((i) => i.prompt)).toEqual(suite.map((s) => s.prompt));
    expect(set.items.map((i) => i.problem)).toEqual(suite.map((s) => s.problem));
    expect(set.items.every((i) => decode(i.promptIds) === i.prompt)).toBe(true);
    expect(set).toMatchObject({ task: 'arithmetic', variant: 'add', contextLength: 64, skipped: 0 });
    expect(() => buildEvalSet(small, { size: 10, variant: 'nope', seed: 9 })).toThrow(
      /eval.variant: .*no variant 'nope'/,
    );
    expect(() =>
      buildEvalSet(
        { ...small, task: { ...small.task, id: 'general_points' } },
        { size: 40, variant: 'face_7', seed: 1 },
      ),
    ).toThrow(/eval.size: cannot draw 40 distinct held-out 'face_7' problems/);
  });
  it('the default arithmetic task holds a 1024-problem evaluation set of distinct held-out problems', () => {
    const set = buildEvalSet(DEFAULT_RUN_CONFIG, { size: 1024, variant: 'id', seed: 1000 });
    expect(set.items).toHaveLength(1024);
    expect(set.skipped).toBe(0);
    expect(new Set(set.items.map((i) => i.prompt)).size).toBe(1024);
  });
});

describe('SFT data on the GPU trainer', () => {
  it("the trainer's loss on a packed batch is the mean cross-entropy over target positions (CPU reference)", async () => {
    const ctx = await gpuContext();
    const backend = createGpuBackend(ctx);
    const model = modelConfigFor(small);
    const B = 2;
    const data = { ...buildSftData(small, T), batchSize: B };
    const batch = batchAt(data, 0);
    const trainer = backend.createTrainer(model, optimConfigFor(small), B, T);
    try {
      const gpuLoss = await trainer.evaluate(batch);
      const layout = buildParamLayout(model);
      const logits = referenceForward(model, layout, initParams(model, layout), batch.tokens, B, T).logits;
      const V = model.vocabSize;
      let sum = 0;
      let count = 0;
      for (let i = 0; i < B * T; i++) {
        const target = batch.targets[i]!;
        if (target < 0) continue;
        const row = logits.subarray(i * V, (i + 1) * V);
        const max = Math.max(...row);
        let z = 0;
        for (const x of row) z += Math.exp(x - max);
        sum += Math.log(z) + max - row[target]!;
        count++;
      }
      // f32 GPU forward vs f32 CPU forward with f64 softmax: agree to ~1e-5 relative on a loss near ln 98.
      expect(Math.abs(gpuLoss - sum / count)).toBeLessThan(1e-4 * (sum / count));
      expect(count).toBe(batch.targets.filter((x) => x >= 0).length);
    } finally {
      trainer.destroy();
    }
  });
});

describe('the training window on the GPU trainer', () => {
  it('a step at the fitted window T equals the step at the full context: same loss, same weights after', async () => {
    const ctx = await gpuContext();
    const backend = createGpuBackend(ctx);
    const model = modelConfigFor(small);
    // Two rows, two steps: enough to compare, and quick on a software adapter.
    const fitted = { ...buildSftData(small), batchSize: 2 };
    const full = { ...buildSftData(small, T), batchSize: 2 };
    expect(fitted.seqLen).toBeLessThan(T);
    const short = backend.createTrainer(model, optimConfigFor(small), 2, fitted.seqLen);
    const long = backend.createTrainer(model, optimConfigFor(small), 2, T);
    try {
      const losses = async (step: number) => [
        (await short.step(batchAt(fitted, step))).loss,
        (await long.step(batchAt(full, step))).loss,
      ];
      // Positions < T' see the same tokens in both (causal attention), and padding positions carry no loss, so the
      // per-position losses are the same numbers; only the order of the f32 sums over B·T positions (loss) and rows
      // (weight gradients) differs, by a few ulp. After two AdamW steps at lr 1e-3 that is far below 1e-5.
      for (const step of [0, 1]) {
        const [a, b] = await losses(step);
        expect(Math.abs(a! - b!)).toBeLessThan(1e-5 * Math.abs(b!));
      }
      const [sa, sb] = [await short.readState(), await long.readState()];
      let worst = 0;
      for (let i = 0; i < sa.params.length; i++) worst = Math.max(worst, Math.abs(sa.params[i]! - sb.params[i]!));
      expect(worst).toBeLessThan(1e-5);
    } finally {
      short.destroy();
      long.destroy();
    }
  });
});

// Keep the tokenizer helper exercised on a case with special tokens at the prompt/target boundary.
it('tokenizeExample keeps the prompt/target boundary', () => {
  const s = tokenizeExample('1+2=', '<think>1+2=3;=3</think><answer>3</answer><eos>');
  expect(s.promptTokens).toBe(4);
  expect(decode(s.ids.subarray(4, 5))).toBe('<think>');
});

describe('length-tagged SFT data (TLDR warm start)', () => {
  it("tags each prompt with the level of its own trace's thinking length", () => {
    const tagged: RunConfig = { ...small, sft: { ...small.sft, lengthTags: { shortBelow: 8, longFrom: 14 } } };
    const data = buildSftData(tagged);
    const levels = new Set<string>();
    for (const s of data.sequences) {
      const text = decode(Array.from(s.ids));
      const tag = /^<(short|medium|long)>/.exec(text)?.[1];
      const think = /<think>(.*?)<\/think>/.exec(text)?.[1] ?? '';
      const n = encode(think).length;
      const want = n < 8 ? 'short' : n >= 14 ? 'long' : 'medium';
      expect(tag, text).toBe(want);
      levels.add(want);
    }
    expect(levels.size).toBeGreaterThanOrEqual(2);
    // Untagged by default.
    expect(buildSftData(small).sequences.every((s) => !decode(Array.from(s.ids)).startsWith('<'))).toBe(true);
    // Held-out prompts (loss batch and sample prompts) are tagged the same way.
    const heldOut = buildHeldOutData(tagged);
    expect(heldOut.samplePrompts.length).toBeGreaterThan(0);
    expect(heldOut.samplePrompts.every((p) => /^<(short|medium|long)>/.test(p.prompt))).toBe(true);
    expect(decode(Array.from(heldOut.batch!.tokens.subarray(0, 1)))).toMatch(/^<(short|medium|long)>$/);
  });

  it('rejects thresholds in the wrong order, naming the field', () => {
    const bad = { ...small, sft: { ...small.sft, lengthTags: { shortBelow: 20, longFrom: 10 } } };
    expect(runConfigIssues(bad).map((i) => i.path)).toContain('sft.lengthTags');
  });
});

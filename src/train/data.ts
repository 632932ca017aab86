/**
 * SFT data for a playground run, all deterministic from the RunConfig:
 *
 *   training set  buildSftSet(trainSize, seed) → tokenize prompt + target → keep what fits the context
 *   batch s       a pure function of (seed, s), B sequences padded to T, loss only on the target span, weights
 *                 1 / (target positions in the batch); its examples (sft.data):
 *                   'fixed'  the training set in epoch-wise shuffled order
 *                   'fresh'  row r is a new example from the task's generator, drawn with an RNG seeded by
 *                            freshSeed(seed, s, r, draw) on the training side of the split (never a held-out
 *                            problem); a draw that does not fit T is replaced by the next draw. The training set
 *                            is then only the probe that fixes T (so a step costs what it costs with fixed data).
 *   held-out      one fixed loss batch from the evaluation split (variant 'id', the run's target style)
 *   eval set      the evaluation suite (prompts and problems) an EvalConfig names, for evaluate.ts
 *
 * Packing of one sequence s of n tokens (prompt p tokens, target n − p tokens, ending with `<eos>`) into a row of T:
 *
 *   position t     0      …   p−1        …   n−2        n−1 … T−1
 *   tokens[t]      s[0]   …   s[p−1]     …   s[n−2]     PAD
 *   targets[t]     −1     …   s[p]       …   s[n−1]     −1
 *
 * so the loss covers the position predicting the first target token through the one predicting `<eos>`, and a
 * sequence fits when n ≤ T + 1 (its last token is only a target). Resuming at step s therefore gives the same batches
 * as an uninterrupted run: nothing depends on the steps before s.
 *
 * Examples seen and distinct examples (ExampleTally): the rows trained on through a step, and how many distinct
 * problem keys (the task's problemKey) they hold. With fixed data the distinct count stops at the training set's
 * distinct keys (at most trainSize) after one epoch; with fresh data it keeps growing.
 */

import { buildEvalSuite, buildSftSet, isHeldOut, makeSample, resolveVariant } from '../tasks/datasets';
import { LENGTH_TAG_TEXT, type LengthTagRule, tagFor } from '../tasks/format';
import { getTask, type LengthTag, type Sample, type TargetStyle, type TaskId } from '../tasks/index';
import { encode, PAD_ID } from '../tasks/tokenizer';
import { createRng, shuffleInPlace } from '../util/rng';
import type { Batch } from './backend';
import type { RunConfig, SftDataMode } from './run_config';
import { modelConfigFor, sftDataMode, taskConfigFor } from './run_config';

/** One tokenized example: prompt ids followed by target ids (the last one `<eos>`). */
export interface SftSequence {
  /** [n] prompt + target ids. */
  ids: Int32Array;
  /** Tokens of the prompt (the loss starts at position promptTokens − 1). */
  promptTokens: number;
}

/** A training example: its tokens and its problem key (what the distinct-examples count counts). */
export interface SftExample extends SftSequence {
  key: string;
}

/** What fresh examples are drawn from: the run's task, task config, variant, target style and length-tag rule. */
export interface FreshSource {
  task: TaskId;
  /** The task's config object (taskConfigFor). */
  taskConfig: unknown;
  /** 'id' with fixed instructions, the task's diverse-instruction variant with diverse ones. */
  variant: string;
  style: TargetStyle;
  lengthTags: LengthTagRule | null;
}

export interface SftData {
  /** sft.data: where the examples of a batch come from. */
  mode: SftDataMode;
  /** The examples that fit, in drawn order: the training set ('fixed'), or the probe set that fixed T ('fresh'). */
  sequences: SftExample[];
  /** The fresh examples' source ('fresh'), else null. */
  fresh: FreshSource | null;
  /** Examples drawn (sft.trainSize). */
  drawn: number;
  /** Fraction of drawn examples dropped because prompt + target exceeded seqLen + 1 tokens. */
  droppedFraction: number;
  /** B: sequences per batch. */
  batchSize: number;
  /**
   * T: positions per row, the training window. By default the longest kept sequence (prompt + target − 1), at most
   * the model's context: a causal model's losses at positions < T do not depend on padding after them, so rows need
   * not be padded to the context, and a step costs what the longest sequence needs (answer-only Sokoban: 72 of 256).
   */
  seqLen: number;
  /** Seed of the epoch shuffles (the run's seed). */
  seed: number;
}

/** A prompt for generation, with the problem its completion is verified against. */
export interface EvalItem {
  prompt: string;
  /** Tokenized prompt. */
  promptIds: number[];
  problem: unknown;
}

export interface EvalSet {
  task: TaskId;
  variant: string;
  /** The model's context length (bounds prompt + completion). */
  contextLength: number;
  items: EvalItem[];
  /** Length tag put before every prompt (TLDR levels), or null. */
  lengthTag: LengthTag | null;
  /** Problems of the suite left out because their prompt leaves no room to generate in the context. */
  skipped: number;
}

/** Tokenizes one example. */
export function tokenizeExample(prompt: string, target: string): SftSequence {
  const p = encode(prompt);
  const t = encode(target);
  const ids = new Int32Array(p.length + t.length);
  ids.set(p, 0);
  ids.set(t, p.length);
  return { ids, promptTokens: p.length };
}

/** Whether a sequence fits a row of T positions (its last token is only a target). */
export function fitsContext(s: SftSequence, seqLen: number): boolean {
  return s.ids.length <= seqLen + 1 && s.promptTokens >= 1 && s.ids.length > s.promptTokens;
}

/**
 * The training set of a run, tokenized; throws when no example fits the model's context. `window` fixes T (a trainer
 * that already exists, at most the context); by default T is the longest example that fits the context.
 */
export function buildSftData(c: RunConfig, window?: number): SftData {
  const contextLength = modelConfigFor(c).contextLength;
  if (window !== undefined && !(Number.isInteger(window) && window >= 1 && window <= contextLength)) {
    throw new RangeError(`window must be an integer in [1, ${contextLength}], got ${window}`);
  }
  const limit = window ?? contextLength;
  const samples = buildSftSet({
    task: c.task.id,
    size: c.sft.trainSize,
    seed: c.seed,
    config: taskConfigFor(c),
    style: c.task.targetStyle,
    instructions: c.task.instructions,
    lengthTags: c.sft.lengthTags ?? null,
  });
  const all: SftExample[] = samples.map((s) => ({ ...tokenizeExample(s.prompt, s.target), key: s.meta.key }));
  const sequences = all.filter((s) => fitsContext(s, limit));
  if (sequences.length === 0) {
    const shortest = Math.min(...all.map((s) => s.ids.length));
    throw new Error(
      `none of the ${all.length} training examples fits the '${c.model.size}' model's context of ${limit} tokens ` +
        `(shortest prompt + target: ${shortest} tokens, at most ${limit + 1} fit): choose a larger model or a ` +
        'shorter task setting',
    );
  }
  let longest = 0;
  for (const s of sequences) longest = Math.max(longest, s.ids.length);
  const seqLen = window ?? Math.max(1, longest - 1);
  const mode = sftDataMode(c);
  const task = getTask(c.task.id);
  const fresh: FreshSource | null =
    mode === 'fresh'
      ? {
          task: c.task.id,
          taskConfig: taskConfigFor(c),
          variant: resolveVariant(task, c.task.instructions, undefined),
          style: c.task.targetStyle,
          lengthTags: c.sft.lengthTags ?? null,
        }
      : null;
  return {
    mode,
    sequences,
    fresh,
    drawn: all.length,
    droppedFraction: (all.length - sequences.length) / all.length,
    batchSize: c.sft.batchSize,
    seqLen,
    seed: c.seed,
  };
}

/**
 * Packs sequences into one batch of B = `rows` rows of T positions (see the module comment). Rows beyond
 * `sequences.length` are all PAD with no loss. Weights are 1 / (target positions in the batch), so they sum to 1.
 */
export function packBatch(sequences: readonly SftSequence[], rows: number, seqLen: number): Batch {
  if (sequences.length > rows) throw new RangeError(`${sequences.length} sequences do not fit ${rows} rows`);
  const N = rows * seqLen;
  const tokens = new Int32Array(N).fill(PAD_ID);
  const targets = new Int32Array(N).fill(-1);
  const weights = new Float32Array(N);
  let lossPositions = 0;
  sequences.forEach((s, b) => {
    if (!fitsContext(s, seqLen))
      throw new RangeError(`sequence ${b} (${s.ids.length} tokens) does not fit T=${seqLen}`);
    const n = s.ids.length;
    const row = b * seqLen;
    tokens.set(s.ids.subarray(0, n - 1), row);
    for (let t = s.promptTokens - 1; t < n - 1; t++) targets[row + t] = s.ids[t + 1]!;
    lossPositions += n - s.promptTokens;
  });
  const w = lossPositions > 0 ? 1 / lossPositions : 0;
  for (let i = 0; i < N; i++) if (targets[i]! >= 0) weights[i] = w;
  return { tokens, targets, weights };
}

/** Seed of epoch `epoch`'s shuffle: the run seed mixed with a hash of the epoch (distinct per epoch, u32). */
export function epochSeed(seed: number, epoch: number): number {
  return (seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0;
}

/** The order in which epoch `epoch` visits the N sequences: a permutation of 0..N−1. */
export function epochOrder(seed: number, epoch: number, n: number): number[] {
  return shuffleInPlace(
    createRng(epochSeed(seed, epoch)),
    Array.from({ length: n }, (_, i) => i),
  );
}

/**
 * The B examples of step `step` (0-based), a pure function of (data, step). Fixed data: stream positions
 * step·B … step·B + B − 1 of the endless sequence of epochs, each epoch a new permutation of the training set.
 * Fresh data: freshExampleAt(data, step, row) for rows 0 … B − 1.
 */
export function examplesAt(data: SftData, step: number): SftExample[] {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be a non-negative integer, got ${step}`);
  const B = data.batchSize;
  const chosen: SftExample[] = [];
  if (data.mode === 'fresh') {
    for (let row = 0; row < B; row++) chosen.push(freshExampleAt(data, step, row));
    return chosen;
  }
  const n = data.sequences.length;
  for (let j = 0; j < B; j++) {
    const index = step * B + j;
    const epoch = Math.floor(index / n);
    chosen.push(data.sequences[cachedEpochOrder(data, epoch)[index - epoch * n]!]!);
  }
  return chosen;
}

/** The packed batch of step `step`: examplesAt(data, step) in B rows of T. A pure function of (data, step). */
export function batchAt(data: SftData, step: number): Batch {
  return packBatch(examplesAt(data, step), data.batchSize, data.seqLen);
}

/** Draws per fresh row before giving up: each draw that does not fit T is replaced by the next. */
export const FRESH_MAX_DRAWS = 64;

/**
 * Seed (u32) of draw `draw` of row `row` at step `step` of a fresh-data run with seed `seed`: the four integers
 * mixed one after another through a murmur3-style finaliser, so neighbouring steps and rows get unrelated streams.
 */
export function freshSeed(seed: number, step: number, row: number, draw: number): number {
  let h = (seed ^ 0x5f3759df) >>> 0;
  for (const x of [step, row, draw]) {
    h = Math.imul(h ^ (x >>> 0), 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/**
 * Fresh row `row` of step `step`, untokenized and tokenized: the first of draws 0, 1, … (freshSeed) whose example
 * fits T. Each draw generates a problem on the training side of the split (as buildSftSet does: no split key held
 * out) and writes its target in the run's style. Throws when FRESH_MAX_DRAWS draws in a row do not fit.
 */
export function freshSampleAt(
  data: SftData,
  step: number,
  row: number,
): { sample: Sample<unknown>; example: SftExample } {
  const src = data.fresh;
  if (src === null) throw new Error("freshSampleAt: the run's sft.data is not 'fresh'");
  const task = getTask(src.task);
  for (let draw = 0; draw < FRESH_MAX_DRAWS; draw++) {
    const rng = createRng(freshSeed(data.seed, step, row, draw));
    const problem = task.generate(rng, src.taskConfig, { variant: src.variant, accept: (k) => !isHeldOut(k) });
    const sample = makeSample(task, problem, src.style, rng, src.taskConfig, src.lengthTags, data.seed);
    const example = { ...tokenizeExample(sample.prompt, sample.target), key: sample.meta.key };
    if (fitsContext(example, data.seqLen)) return { sample, example };
  }
  throw new Error(
    `fresh data: ${FRESH_MAX_DRAWS} draws in a row for step ${step}, row ${row} do not fit the training window of ` +
      `${data.seqLen} tokens; choose a larger model or a shorter task setting`,
  );
}

/** Fresh row `row` of step `step`, tokenized (see freshSampleAt). */
export function freshExampleAt(data: SftData, step: number, row: number): SftExample {
  return freshSampleAt(data, step, row).example;
}

/** Examples trained on and the distinct problem keys among them (the data/… metrics). */
export class ExampleTally {
  private seenCount = 0;
  private readonly keys = new Set<string>();

  /** Rows trained on. */
  get seen(): number {
    return this.seenCount;
  }

  /** Distinct problem keys among them. */
  get distinct(): number {
    return this.keys.size;
  }

  add(examples: readonly SftExample[]): void {
    this.seenCount += examples.length;
    for (const e of examples) this.keys.add(e.key);
  }

  /**
   * The tally of steps 0 … steps − 1 (a resumed run starts from it). Fixed data past the first epoch holds every
   * key of the training set, so only the first epoch is walked; fresh data draws every step again.
   */
  static through(data: SftData, steps: number): ExampleTally {
    const tally = new ExampleTally();
    const B = data.batchSize;
    if (data.mode === 'fixed' && steps * B >= data.sequences.length) {
      tally.add(data.sequences);
      tally.seenCount = steps * B;
      return tally;
    }
    for (let s = 0; s < steps; s++) tally.add(examplesAt(data, s));
    return tally;
  }
}

/** The last epoch order computed per data set (consecutive steps mostly share an epoch). A cache only: no state. */
const lastOrder = new WeakMap<SftData, { epoch: number; order: number[] }>();

function cachedEpochOrder(data: SftData, epoch: number): number[] {
  const hit = lastOrder.get(data);
  if (hit?.epoch === epoch) return hit.order;
  const order = epochOrder(data.seed, epoch, data.sequences.length);
  lastOrder.set(data, { epoch, order });
  return order;
}

export interface HeldOutData {
  /** Fixed loss batch of B rows (rows past the available problems are padding with no loss); null when none fit. */
  batch: Batch | null;
  /** Held-out problems in the batch. */
  rows: number;
  /** The first few held-out prompts, for the sample generations logged during training. */
  samplePrompts: EvalItem[];
}

/** The held-out loss batch's suite is drawn with seed = run seed + this (arbitrary; fixed so the batch is too). */
export const HELD_OUT_SEED_OFFSET = 7919;
/** Held-out prompts whose greedy completions are logged during training. */
export const SAMPLE_PROMPTS = 4;

/**
 * The fixed held-out loss batch and sample prompts of a run: the evaluation split of variant 'id' in the run's
 * target style, min(batchSize, available) problems, packed like training batches: T = `seqLen`, the trainer's window
 * (held-out examples longer than it are left out of the loss batch).
 */
export function buildHeldOutData(c: RunConfig, seqLen: number = modelConfigFor(c).contextLength): HeldOutData {
  const contextLength = modelConfigFor(c).contextLength;
  const want = Math.max(c.sft.batchSize, SAMPLE_PROMPTS);
  const samples = largestEvalSuite(want, (size) =>
    buildEvalSuite({
      task: c.task.id,
      size,
      variant: 'id',
      seed: c.seed + HELD_OUT_SEED_OFFSET,
      config: taskConfigFor(c),
      style: c.task.targetStyle,
    }),
  );
  // With length-tagged SFT, held-out prompts carry the tag of their own trace too, as the training prompts do.
  const tags = c.sft.lengthTags ?? null;
  const promptOf = (s: (typeof samples)[number]) => {
    const tag = tags ? tagFor(tags, s.meta.thinkingTokens, s.meta.key, c.seed) : null;
    return tag ? LENGTH_TAG_TEXT[tag] + s.prompt : s.prompt;
  };
  const fitting = samples.map((s) => ({ s, prompt: promptOf(s), seq: tokenizeExample(promptOf(s), s.target) }));
  const inBatch = fitting.filter((f) => fitsContext(f.seq, seqLen)).slice(0, c.sft.batchSize);
  const samplePrompts = fitting
    .filter((f) => f.seq.promptTokens < contextLength)
    .slice(0, SAMPLE_PROMPTS)
    .map((f) => ({
      prompt: f.prompt,
      promptIds: Array.from(f.seq.ids.subarray(0, f.seq.promptTokens)),
      problem: f.s.problem,
    }));
  return {
    batch:
      inBatch.length > 0
        ? packBatch(
            inBatch.map((f) => f.seq),
            c.sft.batchSize,
            seqLen,
          )
        : null,
    rows: inBatch.length,
    samplePrompts,
  };
}

/**
 * The largest evaluation suite of at most `want` problems: `build(want)`, or when the held-out space holds fewer
 * distinct problems (buildEvalSuite throws), the largest size that builds, found by bisection. A suite of size k is
 * the first k problems of any larger suite (same seed), so the result is a prefix of what `want` would have given.
 */
export function largestEvalSuite<T>(want: number, build: (size: number) => T[]): T[] {
  try {
    return build(want);
  } catch (first) {
    let lo = 0; // largest size known to build
    let best: T[] = [];
    let hi = want; // smallest size known to fail
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      try {
        best = build(mid);
        lo = mid;
      } catch {
        hi = mid;
      }
    }
    if (lo === 0) throw first;
    return best;
  }
}

/**
 * The evaluation set an EvalConfig names, for a run's task and model: buildEvalSuite(size, variant, seed) on the
 * held-out split, prompts tokenized. Prompts that leave no room to generate in the context are skipped (counted);
 * throws when none is left.
 */
export function buildEvalSet(
  c: RunConfig,
  evalCfg: { size: number; variant: string; seed: number; lengthTag?: LengthTag | null },
): EvalSet {
  const lengthTag = evalCfg.lengthTag ?? null;
  const tagText = lengthTag ? LENGTH_TAG_TEXT[lengthTag] : '';
  const contextLength = modelConfigFor(c).contextLength;
  const task = getTask(c.task.id);
  if (!task.variants.includes(evalCfg.variant)) {
    throw new Error(
      `eval.variant: task '${c.task.id}' has no variant '${evalCfg.variant}' (variants: ${task.variants.join(', ')})`,
    );
  }
  let samples: ReturnType<typeof buildEvalSuite>;
  try {
    samples = buildEvalSuite({
      task: c.task.id,
      size: evalCfg.size,
      variant: evalCfg.variant,
      seed: evalCfg.seed,
      config: taskConfigFor(c),
    });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(
      `eval.size: cannot draw ${evalCfg.size} distinct held-out '${evalCfg.variant}' problems for task ` +
        `'${c.task.id}' (${why}); use a smaller evaluation set`,
    );
  }
  const items: EvalItem[] = [];
  for (const s of samples) {
    // Prompt format: [length tag] + question (src/tasks/types.ts).
    const prompt = tagText + s.prompt;
    const promptIds = encode(prompt);
    if (promptIds.length < contextLength) items.push({ prompt, promptIds, problem: s.problem });
  }
  if (items.length === 0) {
    throw new Error(
      `every evaluation prompt is at least as long as the model's context (${contextLength} tokens): nothing to generate`,
    );
  }
  return {
    task: c.task.id,
    variant: evalCfg.variant,
    contextLength,
    items,
    lengthTag,
    skipped: samples.length - items.length,
  };
}

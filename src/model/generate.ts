/**
 * Batched generation on the GPU with a KV cache. One decode step, for every row in use at once (a call with R prompts
 * runs the step over rows 0..R−1 of the B the generator holds, prepared once per R), row b at its own position
 * pos_b = s + start_b (s the step counter, start_b where the row's decoding starts):
 *
 *   embed history[b, pos_b] → per layer: LN → c_attn → append k, v to the cache → attend over 0..pos_b → c_proj → +
 *   → LN → MLP → + → final LN → LM head → sample (temperature, top-k, top-p, stop-token rules) → history[b, pos_b+1]
 *   → s += 1 (on the GPU)
 *
 * The step counter and the rows' start positions live in a GPU buffer (src/gpu/ops/decode_step.ts), so many steps are
 * recorded into one command buffer with no CPU work between them.
 *
 * Prompts (parallel prefill, `GenerateOptions.prefill`, default on): row b starts decoding at its last prompt token,
 * start_b = (its prompt length) − 1. Positions 0..P−1, P = max start_b, of every row go through one batched forward
 * pass first: embed the R·P tokens (a shorter prompt padded with id 0) → per layer: LN → c_attn → write k, v of all P
 * positions into the cache (kv_cache_fill) → causal attention over the P positions (the tiled training kernel) →
 * c_proj → + → LN → MLP → + (no final LN or LM head: nothing is sampled there). A padded position p ≥ start_b of row b
 * never touches its real ones (attention is causal) and its cache entry is overwritten by the row's own decode step at
 * p before any step reads it. So each row decodes from its own prompt's end, whatever the other prompts' lengths, and
 * a call takes max over rows of its completion length in steps. With prefill off every row starts at position 0 and
 * the prompt tokens after the first are forced: forced[b, t] holds prompt token t, which the sampler emits instead of a
 * sample. Both paths give the same tokens and log-probabilities up to f32 rounding
 * (tests/model/generate_prefill.test.ts).
 *
 * After each chunk of steps only the newly written token ids (and their log-probabilities) are copied back, and
 * generation stops early once every row has emitted the stop token. Row b samples from its own random stream
 * (`GenerateOptions.streams`; default (seed, b)), so a prompt's tokens do not depend on the rows beside it. s1 budget
 * forcing (cap / extend, `GenerateOptions.budget`) runs inside the sampler on a per-row state buffer, so it costs no
 * round trips either.
 * src/model/generate_cpu.ts is the same generator on the CPU.
 */

import {
  type BudgetForcing,
  checkBudgetForcing,
  checkSamplingParams,
  DECODE_STATE_WORDS,
  type DecodeRowState,
  decodeStateAfter,
  packDecodeStates,
  type SamplingParams,
} from '../cpu/sampling';
import { BufferPool } from '../gpu/buffer_pool';
import type { GpuContext } from '../gpu/context';
import { assertNoErrors } from '../gpu/context';
import { type Dispatch, encodeDispatches } from '../gpu/dispatch';
import { attentionDecodePartialFloats, prepareAttentionDecode, prepareAttentionForward } from '../gpu/ops/attention';
import { decodeStepWords, packDecodeStep } from '../gpu/ops/decode_step';
import { prepareEmbeddingForward } from '../gpu/ops/embedding';
import { prepareEmbeddingDecode } from '../gpu/ops/embedding_decode';
import { prepareKvCacheFill } from '../gpu/ops/kv_cache';
import { prepareLayernormForward } from '../gpu/ops/layernorm';
import { prepareSampleTokens } from '../gpu/ops/sampling';
import { alignElements, slice, type TensorRef, writeTensor } from '../gpu/tensor';
import { checkTokenIds, headSize, type ModelConfig, mlpWidth } from './config';
import { type BlockTensors, type GpuGpt, prepareBlockForward, prepareLinear } from './gpt';
import { layerParams, param } from './params';

export type { BudgetForcing };

export const GREEDY: SamplingParams = {
  temperature: 0,
  topK: 0,
  topP: 1,
  stopTokenId: -1,
  stopTemperature: 1,
  stopLogitBias: 0,
};

/** A sampling stream: the (seed, row) pair of the hash uniformFor(seed, pos, row). Both are u32s. */
export interface SampleStream {
  seed: number;
  row: number;
}

/** Each row's stream: `o.streams`, or (o.seed, b) for row b. */
export function rowStreams(o: Pick<GenerateOptions, 'seed' | 'streams'>, rows: number): SampleStream[] {
  return Array.from({ length: rows }, (_, b) => o.streams?.[b] ?? { seed: o.seed, row: b });
}

export interface GenerateOptions {
  /** Upper bound on generated tokens per row (also bounded by the context length). */
  maxNewTokens: number;
  sampling: SamplingParams;
  /** Seed of the sampling hash; the same seed, prompts and weights give the same tokens. */
  seed: number;
  /**
   * One random stream per prompt (default: prompt b draws from (seed, b)). Prompt b's sample at position pos uses
   * u = uniformFor(streams[b].seed, pos, streams[b].row), so a prompt given its own stream gets the same tokens
   * whichever other prompts share the call and whichever row it lands in.
   */
  streams?: readonly SampleStream[];
  /** Generation of a row ends after it emits this token (−1: none). */
  eosId: number;
  /** Tokens that open and close a thinking span (the stop-token rules apply only inside one); −1 = none. */
  thinkStartId?: number;
  thinkEndId?: number;
  /** s1 budget forcing inside thinking spans (absent or all zero: off); needs thinkStartId and thinkEndId. */
  budget?: BudgetForcing;
  /** Decode steps recorded per command buffer between checks for the end of generation. */
  stepsPerChunk?: number;
  /**
   * Parallel prefill (default true): each prompt but its last token runs through the model in one pass before
   * decoding (on the GPU all rows at once, padded to the longest). false feeds every prompt token through the decode
   * step, as a forced token (same results up to f32 rounding on the GPU, bit for bit on the CPU; kept for tests and
   * benchmarks).
   */
  prefill?: boolean;
}

/** Activation memory one prefill pass may use by default; larger batches are prefilled in groups of rows. */
export const PREFILL_BUDGET_BYTES = 64 * 2 ** 20;

export interface GeneratorOptions {
  /** Activation memory of the prefill pass (default PREFILL_BUDGET_BYTES); at least one row is prefilled at a time. */
  prefillBudgetBytes?: number;
}

/** Prepared decode steps kept, one per number of rows in use; the oldest is dropped past this. */
const DECODE_BODIES_KEPT = 4;

/** Prepared prefill passes kept, one per (rows, P); the oldest is dropped past this. */
const PREFILL_PASSES_KEPT = 4;

/** Adds `value` under `key` to a cache of prepared work, first dropping the oldest entry when `kept` are held. */
function keepRecent<K, V>(cache: Map<K, V>, key: K, value: V, kept: number): void {
  if (cache.size >= kept) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

/** The activation buffers a block needs at inference (decode steps and prefill passes). */
interface InferenceBuffers {
  x: TensorRef;
  ln: TensorRef;
  mean: TensorRef;
  rstd: TensorRef;
  qkv: TensorRef;
  y: TensorRef;
  x2: TensorRef;
  fc: TensorRef;
  g: TensorRef;
}

/** The buffers of the prefill pass, for up to `capacityTokens` tokens (rows × positions) at once. */
interface PrefillBuffers extends InferenceBuffers {
  pool: BufferPool;
  capacityTokens: number;
  /** [capacityIds] i32 token ids, one 64-aligned block per group of rows. */
  ids: TensorRef;
  capacityIds: number;
  lse: TensorRef;
}

/** A prepared prefill of R rows × P positions: `groups` passes of up to `groupRows` rows, ids at g·`idsStride`. */
interface PrefillPass {
  groupRows: number;
  idsStride: number;
  dispatches: Dispatch[];
}

export interface Completion {
  /** Generated ids after the prompt, up to and including the EOS id if emitted. */
  tokens: number[];
  /** log q(token) under the sampling distribution, one per generated token. */
  logprobs: number[];
  /** True if the row emitted EOS (false: it ran out of tokens). */
  finished: boolean;
}

export class Generator {
  readonly B: number;
  readonly Tmax: number;
  private readonly history: TensorRef;
  private readonly forced: TensorRef;
  private readonly logprobs: TensorRef;
  /** [B, 4] u32 per-row decode state (see DecodeRowState). */
  private readonly state: TensorRef;
  private readonly step: TensorRef;
  private readonly logits: TensorRef;
  /** A decode step's activations, [B, ·] (a step over R < B rows uses the first R rows). */
  private readonly acts: InferenceBuffers;
  /** Scratch of the split decode attention (attentionDecodePartialFloats). */
  private readonly partials: TensorRef;
  /**
   * Everything of a decode step except sampling, per number of rows R in use (rows R..B−1 are not computed): the
   * most recent DECODE_BODIES_KEPT.
   */
  private readonly bodies = new Map<number, Dispatch[]>();
  private sampler: Dispatch[] = [];
  private samplerKey = '';
  /** Per layer: [B, H, Tmax, hs] key and value caches. */
  private readonly kCaches: TensorRef[] = [];
  private readonly vCaches: TensorRef[] = [];
  private prefillBuffers: PrefillBuffers | null = null;
  private readonly prefillPasses = new Map<string, PrefillPass>();
  /** Positions per row that the last `generate` call prefilled in one pass (0: none; all token by token). */
  lastPrefillPositions = 0;
  /** Decode steps the last `generate` call ran (fewer than it could when every row finished early). */
  lastDecodeSteps = 0;
  private readonly prefillBudgetBytes: number;
  readonly pool: BufferPool;

  constructor(
    readonly ctx: GpuContext,
    readonly model: Pick<GpuGpt, 'config' | 'layout' | 'params'>,
    batchRows: number,
    options: GeneratorOptions = {},
  ) {
    const { config } = model;
    if (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 65535) {
      throw new RangeError(`generation batch must be an integer in [1, 65535], got ${batchRows}`);
    }
    const budget = options.prefillBudgetBytes ?? PREFILL_BUDGET_BYTES;
    if (!(budget > 0) || !Number.isFinite(budget)) {
      throw new RangeError(`prefillBudgetBytes must be a positive number, got ${budget}`);
    }
    this.prefillBudgetBytes = budget;
    const B = batchRows;
    const C = config.dModel;
    const F = mlpWidth(config);
    const H = config.nHeads;
    const V = config.vocabSize;
    const Tmax = config.contextLength;
    this.B = B;
    this.Tmax = Tmax;
    const pool = new BufferPool(ctx);
    this.pool = pool;
    this.history = pool.tensor('gen.history', B * Tmax, false);
    this.forced = pool.tensor('gen.forced', B * Tmax, false);
    this.logprobs = pool.tensor('gen.logprobs', B * Tmax, false);
    this.state = pool.tensor('gen.state', B * DECODE_STATE_WORDS, false);
    // [s, 0 (no seed offset), each row's stream, each row's start position] (src/gpu/ops/decode_step.ts); a step over R
    // rows binds the first decodeStepWords(R) words (stepFor).
    this.step = pool.tensor('gen.step', decodeStepWords(B), false);
    this.acts = {
      x: pool.tensor('gen.x', B * C, false),
      x2: pool.tensor('gen.x2', B * C, false),
      ln: pool.tensor('gen.ln', B * C, false),
      mean: pool.tensor('gen.mean', B, false),
      rstd: pool.tensor('gen.rstd', B, false),
      qkv: pool.tensor('gen.qkv', B * 3 * C, false),
      y: pool.tensor('gen.y', B * C, false),
      fc: pool.tensor('gen.fc', B * F, false),
      g: pool.tensor('gen.g', B * F, false),
    };
    this.logits = pool.tensor('gen.logits', B * V, false);
    // The split decode attention's scratch, shared by the layers (each layer's combine reads it before the next layer's
    // partials write it) and sized for any number of rows in use.
    this.partials = pool.tensor(
      'gen.attention_partials',
      attentionDecodePartialFloats(ctx, B, H, Tmax, headSize(config)),
      false,
    );
    for (let l = 0; l < config.nLayers; l++) {
      const cacheElements = B * H * Tmax * headSize(config);
      this.kCaches.push(pool.tensor(`gen.h${l}.k`, cacheElements, false));
      this.vCaches.push(pool.tensor(`gen.h${l}.v`, cacheElements, false));
    }
  }

  /** The step buffer of a step over R rows: exactly decodeStepWords(R) words, so the kernels find R rows' offsets. */
  private stepFor(R: number): TensorRef {
    return slice(this.step, 0, decodeStepWords(R));
  }

  /**
   * A decode step's dispatches (all but sampling) over rows 0..R−1: embed the token at pos → per layer: LN → c_attn →
   * attention over the cache (appending k, v) → c_proj + residual → LN → MLP + residual → final LN → LM head. Every
   * buffer is laid out for B rows with row b at the same offset whatever R is, so a step over R rows reads and writes
   * exactly what the same rows of a step over B rows would.
   */
  private prepareBody(R: number): Dispatch[] {
    const cached = this.bodies.get(R);
    if (cached) return cached;
    const { ctx, model, Tmax } = this;
    const { config, layout } = model;
    const C = config.dModel;
    const F = mlpWidth(config);
    const H = config.nHeads;
    const V = config.vocabSize;
    const { x, ln, mean, rstd, qkv, y } = this.acts;
    const named = (name: string) => {
      const e = param(layout, name);
      return slice(model.params, e.offset, e.length);
    };
    const step = this.stepFor(R);
    const body: Dispatch[] = prepareEmbeddingDecode(ctx, {
      history: this.history,
      step,
      wte: named('transformer.wte.weight'),
      wpe: named('transformer.wpe.weight'),
      out: x,
      B: R,
      C,
      V,
      Tmax,
    });
    for (let l = 0; l < config.nLayers; l++) {
      const lp = layerParams(layout, l);
      const attention = prepareAttentionDecode(ctx, {
        qkv,
        kCache: this.kCaches[l]!,
        vCache: this.vCaches[l]!,
        out: y,
        step,
        partials: this.partials,
        B: R,
        C,
        H,
        Tmax,
      });
      const t = inferenceBlockTensors(this.acts);
      body.push(...prepareBlockForward(ctx, model.params, lp, R, C, F, t, attention, `gen.h${l}`));
    }
    body.push(
      ...prepareLayernormForward(ctx, {
        inp: x,
        weight: named('transformer.ln_f.weight'),
        bias: named('transformer.ln_f.bias'),
        out: ln,
        mean,
        rstd,
        N: R,
        C,
      }),
      ...prepareLinear(ctx, model.params, R, ln, param(layout, 'lm_head.weight'), null, this.logits, 'gen.lm_head'),
    );
    keepRecent(this.bodies, R, body, DECODE_BODIES_KEPT);
    return body;
  }

  /** Frees every buffer of this generator (the caches, the decode and prefill activations). */
  destroy(): void {
    this.prefillBuffers?.pool.destroy();
    this.prefillBuffers = null;
    this.prefillPasses.clear();
    this.pool.destroy();
  }

  /** Tokens (rows × positions) one prefill pass may hold: the activation budget, and every binding within limits. */
  private prefillMaxTokens(): number {
    const { config } = this.model;
    const C = config.dModel;
    const F = mlpWidth(config);
    // x, x2, ln, y [C], qkv [3C], fc, g [F], lse [H], mean, rstd, id [1] per token.
    const bytesPerToken = 4 * (7 * C + 2 * F + config.nHeads + 3);
    const limits = this.ctx.device.limits;
    const bindingBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    const byBinding = Math.floor(bindingBytes / (4 * Math.max(3 * C, F)));
    return Math.max(1, Math.min(Math.floor(this.prefillBudgetBytes / bytesPerToken), byBinding));
  }

  /** Buffers for `tokens` activations and `ids` token ids, reallocated (and prepared passes dropped) when too small. */
  private ensurePrefillBuffers(tokens: number, ids: number): PrefillBuffers {
    const old = this.prefillBuffers;
    if (old && old.capacityTokens >= tokens && old.capacityIds >= ids) return old;
    // Grow at least 2× (up to the budget) so a run of slowly growing prompts reallocates O(log) times.
    const capacityTokens = Math.max(tokens, Math.min(this.prefillMaxTokens(), 2 * (old?.capacityTokens ?? 0)));
    const capacityIds = Math.max(ids, 2 * (old?.capacityIds ?? 0));
    old?.pool.destroy();
    this.prefillPasses.clear();
    const { config } = this.model;
    const C = config.dModel;
    const F = mlpWidth(config);
    const pool = new BufferPool(this.ctx);
    const n = capacityTokens;
    const t = (name: string, elements: number) => pool.tensor(`gen.prefill.${name}`, elements, false);
    this.prefillBuffers = {
      pool,
      capacityTokens,
      capacityIds,
      ids: t('ids', capacityIds),
      x: t('x', n * C),
      x2: t('x2', n * C),
      ln: t('ln', n * C),
      mean: t('mean', n),
      rstd: t('rstd', n),
      qkv: t('qkv', n * 3 * C),
      y: t('y', n * C),
      fc: t('fc', n * F),
      g: t('g', n * F),
      lse: t('lse', n * config.nHeads),
    };
    return this.prefillBuffers;
  }

  /**
   * The prefill of rows 0..R−1 at positions 0..P−1: embed → per layer: LN → c_attn → kv_cache_fill → causal
   * attention over the P positions → c_proj → + → LN → MLP → +, in groups of rows that fit the activation budget.
   */
  private preparePrefill(R: number, P: number): PrefillPass {
    const key = `${R}x${P}`;
    const cached = this.prefillPasses.get(key);
    if (cached) return cached;
    const { config, layout, params } = this.model;
    const C = config.dModel;
    const F = mlpWidth(config);
    const H = config.nHeads;
    const groupRows = Math.max(1, Math.min(R, Math.floor(this.prefillMaxTokens() / P)));
    const groups = Math.ceil(R / groupRows);
    const idsStride = alignElements(groupRows * P);
    const buf = this.ensurePrefillBuffers(groupRows * P, groups * idsStride);
    const named = (name: string) => {
      const e = param(layout, name);
      return slice(params, e.offset, e.length);
    };
    const dispatches: Dispatch[] = [];
    for (let group = 0; group < groups; group++) {
      const b0 = group * groupRows;
      const rows = Math.min(groupRows, R - b0);
      const n = rows * P;
      const label = `gen.prefill.g${group}`;
      dispatches.push(
        ...prepareEmbeddingForward(this.ctx, {
          tokens: slice(buf.ids, group * idsStride, n),
          wte: named('transformer.wte.weight'),
          wpe: named('transformer.wpe.weight'),
          out: buf.x,
          B: rows,
          T: P,
          C,
          label: `${label}.embedding`,
        }),
      );
      for (let l = 0; l < config.nLayers; l++) {
        const attention = [
          ...prepareKvCacheFill(this.ctx, {
            qkv: buf.qkv,
            kCache: this.kCaches[l]!,
            vCache: this.vCaches[l]!,
            R: rows,
            P,
            C,
            H,
            B: this.B,
            Tmax: this.Tmax,
            rowOffset: b0,
            label: `${label}.h${l}.kv_cache_fill`,
          }),
          ...prepareAttentionForward(this.ctx, {
            qkv: buf.qkv,
            out: buf.y,
            lse: buf.lse,
            B: rows,
            T: P,
            C,
            H,
            label: `${label}.h${l}.attention_forward`,
          }),
        ];
        const t = inferenceBlockTensors(buf);
        dispatches.push(
          ...prepareBlockForward(this.ctx, params, layerParams(layout, l), n, C, F, t, attention, `${label}.h${l}`),
        );
      }
    }
    const pass = { groupRows, idsStride, dispatches };
    keepRecent(this.prefillPasses, key, pass, PREFILL_PASSES_KEPT);
    return pass;
  }

  /** The sampling dispatches of rows 0..R−1 for `o`'s settings (the last ones prepared are kept). */
  private prepareSampler(o: GenerateOptions, R: number): void {
    const key = JSON.stringify([R, o.sampling, o.thinkStartId ?? -1, o.thinkEndId ?? -1, o.budget ?? null]);
    if (key === this.samplerKey) return;
    this.sampler = prepareSampleTokens(this.ctx, {
      B: R,
      V: this.model.config.vocabSize,
      Tmax: this.Tmax,
      logits: this.logits,
      state: this.state,
      forced: this.forced,
      tokens: this.history,
      logprobs: this.logprobs,
      step: this.stepFor(R),
      params: o.sampling,
      seed: 0,
      thinkStartId: o.thinkStartId ?? -1,
      thinkEndId: o.thinkEndId ?? -1,
      budget: o.budget,
    });
    this.samplerKey = key;
  }

  /**
   * One decode step over rows 0..R−1 (the body, then sampling with `o`), every row at `position`, for per-kernel
   * profiling (bench): the step buffer is rewritten; the caches and token history keep whatever the last call left.
   */
  prepareStepForProfile(R: number, o: GenerateOptions, position: number): Dispatch[] {
    if (!Number.isInteger(R) || R < 1 || R > this.B) throw new RangeError(`rows must be in [1, ${this.B}], got ${R}`);
    if (!Number.isInteger(position) || position < 0 || position >= this.Tmax - 1)
      throw new RangeError(`position must be in [0, ${this.Tmax - 1}), got ${position}`);
    checkSamplingParams(o.sampling);
    this.prepareSampler(o, R);
    const offsets = new Array<number>(R).fill(position);
    writeTensor(this.ctx.device.queue, this.step, packDecodeStep({ s: 0, streams: rowStreams(o, R), offsets }));
    return [...this.prepareBody(R), ...this.sampler];
  }

  /** Generates a continuation of each prompt (at most B prompts per call). */
  async generate(prompts: readonly (readonly number[])[], o: GenerateOptions): Promise<Completion[]> {
    const { B, Tmax } = this;
    const chunk = checkGenerateRequest(this.model.config, B, prompts, o);
    const R = prompts.length;
    this.prepareSampler(o, R);
    const body = this.prepareBody(R);

    const thinkStartId = o.thinkStartId ?? -1;
    const thinkEndId = o.thinkEndId ?? -1;
    // Row b decodes positions start_b, start_b + 1, …: from its last prompt token after the prefill of positions
    // 0..P−1 (rows R..B−1 are not computed), or from position 0 with prefill off.
    const prefillOn = o.prefill ?? true;
    const starts = prompts.map((p) => (prefillOn ? p.length - 1 : 0));
    const P = Math.max(...starts);

    // Position t ≤ start_b holds prompt token t; later prompt tokens are forced (the sampler emits them).
    // Rows 0..R−1 of the [B, ·] buffers (row b at the same offset as in a B-row step).
    const history = new Uint32Array(R * Tmax);
    const forced = new Int32Array(R * Tmax).fill(-1);
    const states: DecodeRowState[] = [];
    prompts.forEach((p, b) => {
      const start = starts[b]!;
      for (let t = 0; t <= start; t++) history[b * Tmax + t] = p[t]!;
      for (let t = start + 1; t < p.length; t++) forced[b * Tmax + t] = p[t]!;
      // The sampler updates the state from every token it emits, forced prompt tokens included, so start from the
      // state after the prompt's tokens 0..start_b (as if the sampler had emitted 1..start_b).
      states.push(decodeStateAfter(p, start, thinkStartId, thinkEndId));
    });
    const q = this.ctx.device.queue;
    writeTensor(q, this.history, history);
    writeTensor(q, this.forced, forced);
    writeTensor(q, this.state, packDecodeStates(states));
    writeTensor(q, this.step, packDecodeStep({ s: 0, streams: rowStreams(o, R), offsets: starts }));
    let prefill: Dispatch[] = [];
    if (P >= 1) {
      const pass = this.preparePrefill(R, P);
      // Positions past a prompt's end are padding (id 0; see the header).
      const ids = new Int32Array(Math.ceil(R / pass.groupRows) * pass.idsStride);
      prompts.forEach((p, b) => {
        const at = Math.floor(b / pass.groupRows) * pass.idsStride + (b % pass.groupRows) * P;
        for (let t = 0; t < Math.min(P, p.length); t++) ids[at + t] = p[t]!;
      });
      writeTensor(q, this.prefillBuffers!.ids, ids);
      prefill = pass.dispatches;
    }
    this.lastPrefillPositions = P;

    // Step s writes position start_b + s + 1 of row b. Row b generates up to min(maxNewTokens, Tmax − its length)
    // tokens, the last at position length_b − 1 + that many.
    const budgets = prompts.map((p) => Math.min(o.maxNewTokens, Tmax - p.length));
    const totalSteps = Math.max(...prompts.map((p, b) => p.length - 1 - starts[b]! + budgets[b]!));
    const completions: Completion[] = prompts.map(() => ({ tokens: [], logprobs: [], finished: false }));
    const done = () => completions.every((c, b) => c.finished || c.tokens.length >= budgets[b]!);
    const readback = this.ctx.device.createBuffer({
      label: 'gen.readback',
      size: 2 * R * chunk * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.lastDecodeSteps = 0;
    try {
      for (let s0 = 0; s0 < totalSteps && !done(); s0 += chunk) {
        const steps = Math.min(chunk, totalSteps - s0);
        this.lastDecodeSteps += steps;
        const encoder = this.ctx.device.createCommandEncoder({ label: `generate ${s0}` });
        const pass = encoder.beginComputePass();
        if (s0 === 0) encodeDispatches(pass, prefill);
        for (let s = 0; s < steps; s++) {
          encodeDispatches(pass, body);
          encodeDispatches(pass, this.sampler);
        }
        pass.end();
        // Row b's positions first_b .. first_b + count_b − 1 (within the context): ids, then log-probabilities.
        const firsts = starts.map((start) => start + s0 + 1);
        const counts = firsts.map((first) => Math.max(0, Math.min(steps, Tmax - first)));
        for (let b = 0; b < R; b++) {
          if (counts[b] === 0) continue;
          const src = (b * Tmax + firsts[b]!) * 4;
          const bytes = counts[b]! * 4;
          encoder.copyBufferToBuffer(
            this.history.buffer,
            this.history.offset * 4 + src,
            readback,
            b * steps * 4,
            bytes,
          );
          encoder.copyBufferToBuffer(
            this.logprobs.buffer,
            this.logprobs.offset * 4 + src,
            readback,
            (R + b) * steps * 4,
            bytes,
          );
        }
        q.submit([encoder.finish()]);
        await Promise.race([readback.mapAsync(GPUMapMode.READ, 0, 2 * R * steps * 4), this.ctx.lost]);
        const range = readback.getMappedRange(0, 2 * R * steps * 4);
        const ids = new Uint32Array(range.slice(0));
        const lps = new Float32Array(range.slice(0));
        readback.unmap();
        assertNoErrors(this.ctx);
        completions.forEach((c, b) => {
          const promptLen = prompts[b]!.length;
          for (let s = 0; s < counts[b]!; s++) {
            const written = firsts[b]! + s;
            if (written < promptLen || c.finished || c.tokens.length >= o.maxNewTokens) continue;
            const id = ids[b * steps + s]!;
            c.tokens.push(id);
            c.logprobs.push(lps[(R + b) * steps + s]!);
            if (id === o.eosId) c.finished = true;
          }
        });
      }
    } finally {
      readback.destroy();
    }
    return completions;
  }
}

/**
 * Validates a generate call (shared by the GPU and CPU generators, so both reject the same inputs with the same
 * messages). Returns stepsPerChunk.
 */
export function checkGenerateRequest(
  config: ModelConfig,
  rows: number,
  prompts: readonly (readonly number[])[],
  o: GenerateOptions,
): number {
  const Tmax = config.contextLength;
  const V = config.vocabSize;
  if (prompts.length < 1 || prompts.length > rows)
    throw new RangeError(`generate takes 1 to ${rows} prompts, got ${prompts.length}`);
  prompts.forEach((p, i) => {
    if (p.length < 1) throw new RangeError(`prompt ${i} is empty`);
    if (p.length >= Tmax)
      throw new RangeError(
        `prompt ${i} has ${p.length} tokens; the context holds ${Tmax}, leaving no room to generate`,
      );
    checkTokenIds(p, V, `prompt ${i}`);
  });
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1)
    throw new RangeError(`maxNewTokens must be a positive integer, got ${o.maxNewTokens}`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff)
    throw new RangeError(`seed must be a u32, got ${o.seed}`);
  if (o.streams !== undefined) {
    if (o.streams.length !== prompts.length)
      throw new RangeError(`streams has ${o.streams.length} entries for ${prompts.length} prompts`);
    o.streams.forEach((st, i) => {
      for (const [name, v] of [
        ['seed', st.seed],
        ['row', st.row],
      ] as const) {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
          throw new RangeError(`streams[${i}].${name} must be a u32, got ${v}`);
      }
    });
  }
  const chunk = o.stepsPerChunk ?? 16;
  // 0 would loop forever (pos += 0); a fraction would encode a different step count than it reads back.
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new RangeError(`stepsPerChunk must be a positive integer, got ${o.stepsPerChunk}`);
  for (const [name, id] of [
    ['thinkStartId', o.thinkStartId ?? -1],
    ['thinkEndId', o.thinkEndId ?? -1],
  ] as const) {
    if (!Number.isInteger(id) || id < -1 || id >= V)
      throw new RangeError(`${name} must be −1 or a token id in [0, ${V}), got ${id}`);
  }
  checkSamplingParams(o.sampling);
  checkBudgetForcing(o.budget, V, o.thinkStartId ?? -1, o.thinkEndId ?? -1);
  return chunk;
}

/**
 * A block's tensors at inference: nothing is kept for a backward pass, so both layernorms share one output, mean and
 * rstd, and the block writes its output over its input.
 */
function inferenceBlockTensors(b: InferenceBuffers): BlockTensors {
  return {
    xIn: b.x,
    ln1: b.ln,
    ln1Mean: b.mean,
    ln1Rstd: b.rstd,
    qkv: b.qkv,
    y: b.y,
    x2: b.x2,
    ln2: b.ln,
    ln2Mean: b.mean,
    ln2Rstd: b.rstd,
    fc: b.fc,
    g: b.g,
    out: b.x,
  };
}

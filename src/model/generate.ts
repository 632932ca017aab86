/**
 * Batched generation on the GPU with a KV cache. One decode step, for every row at once:
 *
 *   embed history[b, pos] → per layer: LN → c_attn → append k, v to the cache → attend over 0..pos → c_proj → +
 *   → LN → MLP → + → final LN → LM head → sample (temperature, top-k, top-p, stop-token rules) → history[b, pos+1]
 *   → pos += 1 (on the GPU)
 *
 * The position lives in a GPU buffer, so many steps are recorded into one command buffer with no CPU work between
 * them. Prompts are fed through the same path: forced[b, t] holds prompt token t, which the sampler emits instead
 * of a sample, so rows with prompts of different lengths decode in lockstep. After each chunk of steps only the newly
 * written token ids (and their log-probabilities) are copied back, and generation stops early once every row has
 * emitted the stop token. s1 budget forcing (cap / extend, `GenerateOptions.budget`) runs inside the sampler on a
 * per-row state buffer, so it costs no round trips either. src/model/generate_cpu.ts is the same generator on the CPU.
 */

import {
  type BudgetForcing,
  checkBudgetForcing,
  checkSamplingParams,
  DECODE_STATE_WORDS,
  type DecodeRowState,
  initialDecodeState,
  packDecodeStates,
  type SamplingParams,
} from '../cpu/sampling';
import { BufferPool } from '../gpu/buffer_pool';
import type { GpuContext } from '../gpu/context';
import { assertNoErrors } from '../gpu/context';
import { type Dispatch, encodeDispatches } from '../gpu/dispatch';
import { prepareAttentionDecode } from '../gpu/ops/attention';
import { prepareEmbeddingDecode } from '../gpu/ops/embedding_decode';
import { prepareLayernormForward } from '../gpu/ops/layernorm';
import { prepareSampleTokens } from '../gpu/ops/sampling';
import { slice, type TensorRef, writeTensor } from '../gpu/tensor';
import { checkTokenIds, headSize, type ModelConfig, mlpWidth } from './config';
import { type GpuGpt, prepareBlockForward, prepareLinear } from './gpt';
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

export interface GenerateOptions {
  /** Upper bound on generated tokens per row (also bounded by the context length). */
  maxNewTokens: number;
  sampling: SamplingParams;
  /** Seed of the sampling hash; the same seed, prompts and weights give the same tokens. */
  seed: number;
  /** Generation of a row ends after it emits this token (−1: none). */
  eosId: number;
  /** Tokens that open and close a thinking span (the stop-token rules apply only inside one); −1 = none. */
  thinkStartId?: number;
  thinkEndId?: number;
  /** s1 budget forcing inside thinking spans (absent or all zero: off); needs thinkStartId and thinkEndId. */
  budget?: BudgetForcing;
  /** Decode steps recorded per command buffer between checks for the end of generation. */
  stepsPerChunk?: number;
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
  /** Everything of a decode step except sampling. */
  private readonly body: Dispatch[];
  private sampler: Dispatch[] = [];
  private samplerKey = '';
  readonly pool: BufferPool;

  constructor(
    readonly ctx: GpuContext,
    readonly model: Pick<GpuGpt, 'config' | 'layout' | 'params'>,
    batchRows: number,
  ) {
    const { config, layout } = model;
    if (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 65535) {
      throw new RangeError(`generation batch must be an integer in [1, 65535], got ${batchRows}`);
    }
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
    this.step = pool.tensor('gen.step', 2, false);
    const x = pool.tensor('gen.x', B * C, false);
    const x2 = pool.tensor('gen.x2', B * C, false);
    const ln = pool.tensor('gen.ln', B * C, false);
    const mean = pool.tensor('gen.mean', B, false);
    const rstd = pool.tensor('gen.rstd', B, false);
    const qkv = pool.tensor('gen.qkv', B * 3 * C, false);
    const y = pool.tensor('gen.y', B * C, false);
    const tmp = pool.tensor('gen.tmp', B * C, false);
    const fc = pool.tensor('gen.fc', B * F, false);
    const g = pool.tensor('gen.g', B * F, false);
    this.logits = pool.tensor('gen.logits', B * V, false);
    const named = (name: string) => {
      const e = param(layout, name);
      return slice(model.params, e.offset, e.length);
    };

    const body: Dispatch[] = prepareEmbeddingDecode(ctx, {
      history: this.history,
      step: this.step,
      wte: named('transformer.wte.weight'),
      wpe: named('transformer.wpe.weight'),
      out: x,
      B,
      C,
      V,
      Tmax,
    });
    for (let l = 0; l < config.nLayers; l++) {
      const lp = layerParams(layout, l);
      const cacheElements = B * H * Tmax * headSize(config);
      const kCache = pool.tensor(`gen.h${l}.k`, cacheElements, false);
      const vCache = pool.tensor(`gen.h${l}.v`, cacheElements, false);
      const attention = prepareAttentionDecode(ctx, { qkv, kCache, vCache, out: y, step: this.step, B, C, H, Tmax });
      const t = {
        xIn: x,
        ln1: ln,
        ln1Mean: mean,
        ln1Rstd: rstd,
        qkv,
        y,
        tmp,
        x2,
        ln2: ln,
        ln2Mean: mean,
        ln2Rstd: rstd,
        fc,
        g,
        out: x,
      };
      body.push(...prepareBlockForward(ctx, model.params, lp, B, C, F, t, attention, `gen.h${l}`));
    }
    body.push(
      ...prepareLayernormForward(ctx, {
        inp: x,
        weight: named('transformer.ln_f.weight'),
        bias: named('transformer.ln_f.bias'),
        out: ln,
        mean,
        rstd,
        N: B,
        C,
      }),
      ...prepareLinear(ctx, model.params, B, ln, param(layout, 'lm_head.weight'), null, this.logits, 'gen.lm_head'),
    );
    this.body = body;
  }

  private prepareSampler(o: GenerateOptions): void {
    const key = JSON.stringify([o.sampling, o.thinkStartId ?? -1, o.thinkEndId ?? -1, o.budget ?? null]);
    if (key === this.samplerKey) return;
    this.sampler = prepareSampleTokens(this.ctx, {
      B: this.B,
      V: this.model.config.vocabSize,
      Tmax: this.Tmax,
      logits: this.logits,
      state: this.state,
      forced: this.forced,
      tokens: this.history,
      logprobs: this.logprobs,
      step: this.step,
      params: o.sampling,
      seed: 0,
      thinkStartId: o.thinkStartId ?? -1,
      thinkEndId: o.thinkEndId ?? -1,
      budget: o.budget,
    });
    this.samplerKey = key;
  }

  /** Generates a continuation of each prompt (at most B prompts per call). */
  async generate(prompts: readonly (readonly number[])[], o: GenerateOptions): Promise<Completion[]> {
    const { B, Tmax } = this;
    const chunk = checkGenerateRequest(this.model.config, B, prompts, o);
    this.prepareSampler(o);

    // Initial state: position 0 holds each prompt's first token; later prompt tokens are forced.
    const history = new Uint32Array(B * Tmax);
    const forced = new Int32Array(B * Tmax).fill(-1);
    const states: DecodeRowState[] = [];
    const longest = Math.max(...prompts.map((p) => p.length));
    for (let b = 0; b < B; b++) {
      const p = prompts[b] ?? [0];
      history[b * Tmax] = p[0]!;
      for (let t = 1; t < p.length; t++) forced[b * Tmax + t] = p[t]!;
      // The sampler updates the state from every token it emits, forced prompt tokens included, so start from the
      // state after the first token: [flag, 0, 0, 0].
      states.push(initialDecodeState(p[0]!, o.thinkStartId ?? -1, o.thinkEndId ?? -1));
    }
    const q = this.ctx.device.queue;
    writeTensor(q, this.history, history);
    writeTensor(q, this.forced, forced);
    writeTensor(q, this.state, packDecodeStates(states));
    writeTensor(q, this.step, new Uint32Array([0, o.seed]));

    // Steps: decode positions 0 .. lastPos−1; position pos writes token pos+1.
    const lastPos = Math.min(Tmax - 1, longest - 1 + o.maxNewTokens);
    const completions: Completion[] = prompts.map(() => ({ tokens: [], logprobs: [], finished: false }));
    const done = () =>
      completions.every((c, i) => c.finished || c.tokens.length >= Math.min(o.maxNewTokens, Tmax - prompts[i]!.length));
    const readback = this.ctx.device.createBuffer({
      label: 'gen.readback',
      size: 2 * B * chunk * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      for (let pos = 0; pos < lastPos && !done(); pos += chunk) {
        const steps = Math.min(chunk, lastPos - pos);
        const encoder = this.ctx.device.createCommandEncoder({ label: `generate ${pos}` });
        const pass = encoder.beginComputePass();
        for (let s = 0; s < steps; s++) {
          encodeDispatches(pass, this.body);
          encodeDispatches(pass, this.sampler);
        }
        pass.end();
        // Positions pos+1 .. pos+steps of every row: ids, then log-probabilities.
        for (let b = 0; b < B; b++) {
          const src = (b * Tmax + pos + 1) * 4;
          encoder.copyBufferToBuffer(
            this.history.buffer,
            this.history.offset * 4 + src,
            readback,
            b * steps * 4,
            steps * 4,
          );
          encoder.copyBufferToBuffer(
            this.logprobs.buffer,
            this.logprobs.offset * 4 + src,
            readback,
            (B + b) * steps * 4,
            steps * 4,
          );
        }
        q.submit([encoder.finish()]);
        await Promise.race([readback.mapAsync(GPUMapMode.READ, 0, 2 * B * steps * 4), this.ctx.lost]);
        const range = readback.getMappedRange(0, 2 * B * steps * 4);
        const ids = new Uint32Array(range.slice(0));
        const lps = new Float32Array(range.slice(0));
        readback.unmap();
        assertNoErrors(this.ctx);
        completions.forEach((c, b) => {
          const promptLen = prompts[b]!.length;
          for (let s = 0; s < steps; s++) {
            const written = pos + 1 + s;
            if (written < promptLen || c.finished || c.tokens.length >= o.maxNewTokens) continue;
            const id = ids[b * steps + s]!;
            c.tokens.push(id);
            c.logprobs.push(lps[(B + b) * steps + s]!);
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

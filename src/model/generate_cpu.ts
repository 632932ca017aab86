/**
 * Batched generation on the CPU with a KV cache: the no-WebGPU backend's decoder. Same contract as the GPU Generator
 * (src/model/generate.ts): same validation, same Completion results, same random numbers (u = uniformFor(seed, pos,
 * row), pos = the position whose logits are sampled, (seed, row) = the prompt's stream: `GenerateOptions.streams`, or
 * (seed, the prompt's index)), same sampler and s1 budget rules (it
 * runs `decodeStepRow`, the sampler kernel's CPU reference), so greedy and seeded sampled runs give the same tokens on
 * both except where f32 rounding differences between the two forward passes flip a near-tie.
 *
 * One decode step of a row at position pos: embed the token → per layer: LN → c_attn → append k, v to the row's cache
 * → attend over 0..pos → c_proj → + → LN → MLP → + → final LN → LM head → decodeStepRow. While the next position is
 * still a prompt token the LM head and sampler are skipped (only the row's thinking state follows the prompt). With
 * `GenerateOptions.prefill` (default on) a row's prompt but its last token is run first, all its positions at once
 * through each layer (each weight row read once for all of them; per position the same arithmetic, so the same caches
 * bit for bit), and the row's decoding starts at its last prompt token.
 *
 * The arithmetic is that of the CPU reference model (src/model/reference.ts) operation by operation: f64 accumulation
 * in the same order, rounded to f32 where the reference stores a Float32Array. So the logits equal referenceForward's
 * last row bit for bit, at O(pos) work per token instead of a re-forward of the prefix.
 *
 * Rows decode in lockstep, one position per step; every few steps (or ~20 ms) the loop yields to the event loop so a
 * worker stays responsive to pause / stop messages.
 */

import { gelu64 } from '../cpu/gelu';
import { advanceDecodeState, type DecodeRowState, decodeStateAfter, decodeStepRow, uniformFor } from '../cpu/sampling';
import { headSize, type ModelConfig, mlpWidth } from './config';
import { type Completion, checkGenerateRequest, type GenerateOptions, rowStreams } from './generate';
import { buildParamLayout, type LayerParams, layerParams, type ParamLayout, param, view } from './params';

/** Yield to the event loop after this many decode steps, or sooner once this much time has passed. */
const YIELD_EVERY_STEPS = 16;
const YIELD_AFTER_MS = 20;
const LN_EPS = 1e-5;

interface LayerWeights {
  ln1w: Float32Array;
  ln1b: Float32Array;
  attnW: Float32Array;
  attnB: Float32Array;
  projW: Float32Array;
  projB: Float32Array;
  ln2w: Float32Array;
  ln2b: Float32Array;
  fcW: Float32Array;
  fcB: Float32Array;
  fcProjW: Float32Array;
  fcProjB: Float32Array;
}

interface Weights {
  wte: Float32Array;
  wpe: Float32Array;
  layers: LayerWeights[];
  lnfW: Float32Array;
  lnfB: Float32Array;
  lmHead: Float32Array;
}

/**
 * out[r, n] = Σ_k a[r, k]·w[n, k] (+ bias[n]) for rows r < R, f64 accumulation in k order, rounded to f32 (as
 * cpu/matmul with transB). Four rows at a time share each weight read and run four independent sums (the sum of one
 * element is a chain of dependent additions; four chains overlap), each element still summed in k order, so the
 * result does not depend on R.
 */
function linear(
  a: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  out: Float32Array,
  N: number,
  K: number,
  R = 1,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * K;
    let r = 0;
    for (; r + 4 <= R; r += 4) {
      const [a0, a1, a2, a3] = [r * K, (r + 1) * K, (r + 2) * K, (r + 3) * K];
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < K; k++) {
        const wk = w[o + k]!;
        s0 += a[a0 + k]! * wk;
        s1 += a[a1 + k]! * wk;
        s2 += a[a2 + k]! * wk;
        s3 += a[a3 + k]! * wk;
      }
      if (bias) {
        s0 += bias[n]!;
        s1 += bias[n]!;
        s2 += bias[n]!;
        s3 += bias[n]!;
      }
      out[r * N + n] = s0;
      out[(r + 1) * N + n] = s1;
      out[(r + 2) * N + n] = s2;
      out[(r + 3) * N + n] = s3;
    }
    for (; r < R; r++) {
      const ao = r * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ao + k]! * w[o + k]!;
      if (bias) s += bias[n]!;
      out[r * N + n] = s;
    }
  }
}

/** LayerNorm of one row of C (as cpu/layernorm's forward, rounded to f32). */
function layernorm(x: Float32Array, w: Float32Array, b: Float32Array, out: Float32Array, C: number): void {
  let s = 0;
  for (let c = 0; c < C; c++) s += x[c]!;
  const m = s / C;
  let v = 0;
  for (let c = 0; c < C; c++) {
    const d = x[c]! - m;
    v += d * d;
  }
  const rs = 1 / Math.sqrt(v / C + LN_EPS);
  for (let c = 0; c < C; c++) out[c] = (x[c]! - m) * rs * w[c]! + b[c]!;
}

export class CpuGenerator {
  readonly B: number;
  readonly layout: ParamLayout;
  /** Per layer: keys and values [B, Tmax, C] (head h in channels [h·hs, (h+1)·hs)). */
  private readonly kCache: Float32Array[];
  private readonly vCache: Float32Array[];

  constructor(
    readonly config: ModelConfig,
    private readonly params: () => Float32Array,
    rows: number,
  ) {
    if (!Number.isInteger(rows) || rows < 1 || rows > 65535) {
      throw new RangeError(`generation batch must be an integer in [1, 65535], got ${rows}`);
    }
    this.B = rows;
    this.layout = buildParamLayout(config);
    const cacheElements = rows * config.contextLength * config.dModel;
    this.kCache = Array.from({ length: config.nLayers }, () => new Float32Array(cacheElements));
    this.vCache = Array.from({ length: config.nLayers }, () => new Float32Array(cacheElements));
  }

  private weights(): Weights {
    const arena = this.params();
    const { layout } = this;
    if (!(arena instanceof Float32Array) || arena.length < layout.totalElements) {
      throw new RangeError(`weights have ${arena?.length} elements, the model needs ${layout.totalElements}`);
    }
    const P = (name: string) => view(arena, param(layout, name));
    const layers: LayerWeights[] = [];
    for (let l = 0; l < this.config.nLayers; l++) {
      const lp: LayerParams = layerParams(layout, l);
      const w = {} as LayerWeights;
      for (const key of Object.keys(lp) as (keyof LayerParams)[]) w[key] = view(arena, lp[key]);
      layers.push(w);
    }
    return {
      wte: P('transformer.wte.weight'),
      wpe: P('transformer.wpe.weight'),
      layers,
      lnfW: P('transformer.ln_f.weight'),
      lnfB: P('transformer.ln_f.bias'),
      lmHead: P('lm_head.weight'),
    };
  }

  /** Generates a continuation of each prompt (at most B prompts per call). */
  async generate(prompts: readonly (readonly number[])[], o: GenerateOptions): Promise<Completion[]> {
    checkGenerateRequest(this.config, this.B, prompts, o);
    const cfg = this.config;
    const C = cfg.dModel;
    const F = mlpWidth(cfg);
    const H = cfg.nHeads;
    const hs = headSize(cfg);
    const V = cfg.vocabSize;
    const Tmax = cfg.contextLength;
    const L = cfg.nLayers;
    const thinkStartId = o.thinkStartId ?? -1;
    const thinkEndId = o.thinkEndId ?? -1;
    const w = this.weights();
    const scale = 1 / Math.sqrt(hs);

    // Activations of up to `rows` consecutive positions of one row ([rows, ·]): 1 while decoding, a prompt in prefill.
    const rows = o.prefill === false ? 1 : Math.max(1, ...prompts.map((p) => p.length - 1));
    const x = new Float32Array(rows * C);
    const x2 = new Float32Array(rows * C);
    const ln = new Float32Array(rows * C);
    const qkv = new Float32Array(rows * 3 * C);
    const y = new Float32Array(rows * C);
    const tmp = new Float32Array(rows * C);
    const fc = new Float32Array(rows * F);
    const g = new Float32Array(rows * F);
    const logits = new Float32Array(V);
    const s = new Float64Array(Tmax);

    /**
     * Layer l on the residuals x [n, C] of row b at positions pos0 .. pos0 + n − 1 (updated in place), appending their
     * k, v to the caches. Per position the same operations in the same order for any n, so prefill (n > 1) and
     * decoding (n = 1) give the same values bit for bit.
     */
    const layer = (l: number, b: number, pos0: number, n: number): void => {
      const lw = w.layers[l]!;
      const kc = this.kCache[l]!;
      const vc = this.vCache[l]!;
      const row0 = b * Tmax * C;
      for (let t = 0; t < n; t++) layernorm(x.subarray(t * C), lw.ln1w, lw.ln1b, ln.subarray(t * C), C);
      linear(ln, lw.attnW, lw.attnB, qkv, 3 * C, C, n);
      for (let t = 0; t < n; t++) {
        const pos = pos0 + t;
        const q0 = t * 3 * C;
        kc.set(qkv.subarray(q0 + C, q0 + 2 * C), row0 + pos * C);
        vc.set(qkv.subarray(q0 + 2 * C, q0 + 3 * C), row0 + pos * C);
        for (let h = 0; h < H; h++) {
          const qo = q0 + h * hs;
          let m = Number.NEGATIVE_INFINITY;
          for (let j = 0; j <= pos; j++) {
            const ko = row0 + j * C + h * hs;
            let dot = 0;
            for (let d = 0; d < hs; d++) dot += qkv[qo + d]! * kc[ko + d]!;
            s[j] = dot * scale;
            if (s[j]! > m) m = s[j]!;
          }
          let sum = 0;
          for (let j = 0; j <= pos; j++) {
            s[j] = Math.exp(s[j]! - m);
            sum += s[j]!;
          }
          for (let j = 0; j <= pos; j++) s[j] = s[j]! / sum;
          for (let d = 0; d < hs; d++) {
            let acc = 0;
            for (let j = 0; j <= pos; j++) acc += s[j]! * vc[row0 + j * C + h * hs + d]!;
            y[t * C + h * hs + d] = acc;
          }
        }
      }
      linear(y, lw.projW, lw.projB, tmp, C, C, n);
      for (let i = 0; i < n * C; i++) x2[i] = x[i]! + tmp[i]!;
      for (let t = 0; t < n; t++) layernorm(x2.subarray(t * C), lw.ln2w, lw.ln2b, ln.subarray(t * C), C);
      linear(ln, lw.fcW, lw.fcB, fc, F, C, n);
      for (let i = 0; i < n * F; i++) g[i] = gelu64(fc[i]!);
      linear(g, lw.fcProjW, lw.fcProjB, tmp, C, F, n);
      for (let i = 0; i < n * C; i++) x[i] = x2[i]! + tmp[i]!;
    };

    /** Embeds tokens[0..n−1] of row b at positions pos0.. and runs every layer on them, filling the caches. */
    const body = (b: number, pos0: number, tokens: ArrayLike<number>, n: number): void => {
      for (let t = 0; t < n; t++) {
        const tok = tokens[t]!;
        for (let c = 0; c < C; c++) x[t * C + c] = w.wte[tok * C + c]! + w.wpe[(pos0 + t) * C + c]!;
      }
      for (let l = 0; l < L; l++) layer(l, b, pos0, n);
    };

    /** Runs the model on token `tok` of row b at position pos, filling the caches; with `head`, `logits` too. */
    const forward = (b: number, pos: number, tok: number, head: boolean): void => {
      body(b, pos, [tok], 1);
      if (!head) return;
      layernorm(x, w.lnfW, w.lnfB, ln, C);
      linear(ln, w.lmHead, null, logits, V, C);
    };

    const completions: Completion[] = prompts.map(() => ({ tokens: [], logprobs: [], finished: false }));
    const seqs = prompts.map((p) => Array.from(p));
    const streams = rowStreams(o, prompts.length);
    // With prefill, each row's prompt but its last token first; decoding of that row then starts at its last prompt
    // token, in the state after it (as on the GPU).
    const prefilled = prompts.map((p) => ((o.prefill ?? true) ? p.length - 1 : 0));
    const states: DecodeRowState[] = prompts.map((p, b) =>
      decodeStateAfter(p, prefilled[b]!, thinkStartId, thinkEndId),
    );
    const wanted = prompts.map((p) => Math.min(o.maxNewTokens, Tmax - p.length));
    const active = (b: number) => !completions[b]!.finished && completions[b]!.tokens.length < wanted[b]!;

    let sinceYield = 0;
    let lastYieldMs = performance.now();
    const yieldSometimes = async () => {
      if (++sinceYield >= YIELD_EVERY_STEPS || performance.now() - lastYieldMs > YIELD_AFTER_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        sinceYield = 0;
        lastYieldMs = performance.now();
      }
    };
    for (let b = 0; b < prompts.length; b++) {
      if (prefilled[b]! === 0) continue;
      body(b, 0, prompts[b]!, prefilled[b]!);
      await yieldSometimes();
    }
    for (let pos = Math.min(...prefilled); prompts.some((_, b) => active(b)); pos++) {
      for (let b = 0; b < prompts.length; b++) {
        if (!active(b) || pos < prefilled[b]!) continue;
        const seq = seqs[b]!;
        const promptLen = prompts[b]!.length;
        const prefill = pos + 1 < promptLen;
        forward(b, pos, seq[pos]!, !prefill);
        if (prefill) {
          // Rule E1 (a forced prompt token): only the state follows it; its logprob is not reported.
          states[b] = advanceDecodeState(states[b]!, seq[pos + 1]!, thinkStartId, thinkEndId);
          continue;
        }
        const u = uniformFor(streams[b]!.seed, pos, streams[b]!.row);
        const r = decodeStepRow(states[b]!, logits, -1, o.sampling, o.budget, thinkStartId, thinkEndId, u, seq[pos]!);
        states[b] = r.state;
        seq.push(r.token);
        const c = completions[b]!;
        c.tokens.push(r.token);
        c.logprobs.push(Math.fround(r.logprob)); // the GPU reports f32
        if (r.token === o.eosId) c.finished = true;
      }
      await yieldSometimes();
    }
    return completions;
  }
}

/**
 * CPU reference for shaders/sample_tokens.wgsl: next-token sampling with temperature, a "stop thinking" control,
 * top-k and top-p. f64 arithmetic.
 *
 * Order of operations (for one row of logits [V]):
 *   (1) if thinking and stopTokenId ≥ 0: logits[stop] += stopLogitBias.
 *   (2) softmax at temperature T, with the maximum subtracted: p ∝ exp((x − max)/T). T = 0 means greedy: the whole
 *       pipeline runs at T = 1 and the token is the argmax of the final distribution (ties → lowest id).
 *   (3) if thinking and stopTokenId ≥ 0 and τ = stopTemperature ≠ 1: with p = p[stop],
 *       p' = p^(1/τ) / (p^(1/τ) + (1−p)^(1/τ)) (computed as σ(logit(p)/τ)), p[stop] ← p', every other token scaled by
 *       (1−p')/(1−p). p = 0 and p = 1 are fixed points (nothing changes; at p = 1 the others become 0).
 *   (4) top-k (k > 0 and k < V): keep the k most probable tokens (ties broken by the lower id), zero the rest.
 *   (5) top-p (topP < 1): on the distribution renormalised after (4), sort tokens by probability descending (ties →
 *       lower id first) and keep the smallest prefix whose mass ≥ topP, i.e. a token is kept iff the mass strictly
 *       before it in that order is < topP. Renormalise: this is the final distribution q.
 *   (6) inverse-CDF sampling over token ids in ascending order: the token is the smallest id i with
 *       Σ_{j ≤ i} q_j > u (u uniform in [0, 1); computed as cumulative kept mass > u·(total kept mass)); if rounding
 *       leaves none, the largest id with q > 0.
 *   logprob = log q[token] (for greedy: log of the final distribution computed at T = 1).
 *
 * Random numbers: `uniformFor(seed, step, row)`, the same integer hash the shader uses (PCG-RXS-M-XS 32 applied three
 * times), so GPU and CPU draw the same u for the same (seed, step, row).
 */

export interface SamplingParams {
  /** 0 → greedy argmax (ties → lowest id). */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. In (0, 1]. */
  topP: number;
  /** −1 = none. */
  stopTokenId: number;
  /** τ, 1 = off. Must be > 0. */
  stopTemperature: number;
  /** 0 = off. Added to the stop token's logit while thinking. */
  stopLogitBias: number;
}

/** PCG-RXS-M-XS 32→32 hash (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020). Same as the shader's. */
export function pcgHash(x: number): number {
  const state = (Math.imul(x >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/**
 * The uniform in [0, 1) used for (seed, step, row): h = pcg(pcg(pcg(seed) ^ step) ^ row); u = (h >> 8) / 2²⁴
 * (24 bits, exactly representable in f32). All arguments are taken as u32.
 */
export function uniformFor(seed: number, step: number, row: number): number {
  const h = pcgHash(pcgHash(pcgHash(seed >>> 0) ^ (step >>> 0)) ^ (row >>> 0));
  return (h >>> 8) / 16777216;
}

export function checkSamplingParams(p: SamplingParams): void {
  if (!(p.temperature >= 0) || !Number.isFinite(p.temperature)) {
    throw new Error(`sampling: temperature must be a finite number ≥ 0, got ${p.temperature}`);
  }
  if (!Number.isInteger(p.topK) || p.topK < 0) throw new Error(`sampling: topK must be an integer ≥ 0, got ${p.topK}`);
  if (!(p.topP > 0 && p.topP <= 1)) throw new Error(`sampling: topP must be in (0, 1], got ${p.topP}`);
  if (!Number.isInteger(p.stopTokenId) || p.stopTokenId < -1) {
    throw new Error(`sampling: stopTokenId must be an integer ≥ −1, got ${p.stopTokenId}`);
  }
  if (!(p.stopTemperature > 0) || !Number.isFinite(p.stopTemperature)) {
    throw new Error(`sampling: stopTemperature must be a finite number > 0, got ${p.stopTemperature}`);
  }
  if (!Number.isFinite(p.stopLogitBias))
    throw new Error(`sampling: stopLogitBias must be finite, got ${p.stopLogitBias}`);
}

/** σ(logit(p)/τ) = p^(1/τ) / (p^(1/τ) + (1−p)^(1/τ)) for p in (0, 1). */
export function stopScaledProb(pStop: number, tau: number): number {
  if (pStop <= 0) return 0;
  if (pStop >= 1) return 1;
  const z = (Math.log(pStop) - Math.log1p(-pStop)) / tau;
  return 1 / (1 + Math.exp(-z));
}

/** The final sampling distribution q [V] (steps 1–5), normalised. For T = 0, the distribution computed at T = 1. */
export function samplingProbs(logits: Float32Array, p: SamplingParams, thinking: boolean): Float64Array {
  checkSamplingParams(p);
  const V = logits.length;
  if (V === 0) throw new Error('sampling: empty logits');
  const stop = thinking && p.stopTokenId >= 0 && p.stopTokenId < V ? p.stopTokenId : -1;
  const x = Float64Array.from(logits);
  if (stop >= 0) x[stop] = x[stop]! + p.stopLogitBias;
  const T = p.temperature > 0 ? p.temperature : 1;
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < V; i++) m = Math.max(m, x[i]!);
  let sum = 0;
  const q = new Float64Array(V);
  for (let i = 0; i < V; i++) {
    q[i] = Math.exp((x[i]! - m) / T);
    sum += q[i]!;
  }
  for (let i = 0; i < V; i++) q[i] = q[i]! / sum;

  if (stop >= 0 && p.stopTemperature !== 1) {
    const ps = q[stop]!;
    if (ps > 0) {
      const pNew = stopScaledProb(ps, p.stopTemperature);
      const f = ps < 1 ? (1 - pNew) / (1 - ps) : 0;
      for (let i = 0; i < V; i++) q[i] = i === stop ? pNew : q[i]! * f;
    }
  }

  const useK = p.topK > 0 && p.topK < V;
  const useP = p.topP < 1;
  if (useK || useP) {
    // Order: probability descending, ties → lower id first (a stable sort of ids by −q).
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => q[b]! - q[a]! || a - b);
    if (useK) for (let r = p.topK; r < V; r++) q[order[r]!] = 0;
    if (useP) {
      let z = 0;
      for (let i = 0; i < V; i++) z += q[i]!;
      let before = 0;
      for (let r = 0; r < V; r++) {
        const id = order[r]!;
        const v = q[id]!;
        if (!(before < p.topP * z)) q[id] = 0;
        before += v;
      }
    }
  }
  let z = 0;
  for (let i = 0; i < V; i++) z += q[i]!;
  for (let i = 0; i < V; i++) q[i] = q[i]! / z;
  return q;
}

/** Inverse-CDF choice from a distribution: smallest i with Σ_{j ≤ i} q_j > u·Σq, else the largest id with q > 0. */
export function inverseCdf(q: ArrayLike<number>, u: number): number {
  let total = 0;
  for (let i = 0; i < q.length; i++) total += q[i]!;
  const target = u * total;
  let c = 0;
  let last = 0;
  for (let i = 0; i < q.length; i++) {
    c += q[i]!;
    if (q[i]! > 0) last = i;
    if (c > target) return i;
  }
  return last;
}

/** Argmax, ties → lowest id. */
export function argmax(q: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < q.length; i++) if (q[i]! > q[best]!) best = i;
  return best;
}

/** Samples one token from logits [V]. See the order of operations at the top of this file. */
export function sampleRow(
  logits: Float32Array,
  p: SamplingParams,
  u: number,
  thinking: boolean,
): { token: number; logprob: number } {
  const q = samplingProbs(logits, p, thinking);
  const token = p.temperature === 0 ? argmax(q) : inverseCdf(q, u);
  return { token, logprob: Math.log(q[token]!) };
}

/**
 * CPU reference for shaders/sample_tokens.wgsl: next-token sampling with temperature, a "stop thinking" control,
 * top-k and top-p. f64 arithmetic.
 *
 * Order of operations (for one row of logits [V]):
 *   (1) if thinking and stopTokenId ≥ 0: logits[stop] += stopLogitBias, then logits[stop] ← logits[stop] / τ_z with
 *       τ_z = stopLogitTemperature (1 = off): "stop-logit TS", a temperature on the stop token's logit alone, the other
 *       logits unchanged. Unlike (3) it is not invariant to a constant shift of all logits: z_stop / τ_z moves the stop
 *       logit towards 0 (τ_z > 1) or away from it (τ_z < 1), so its effect depends on where the model puts z_stop.
 *       The margin rule's margin is read here, after (1): margin = max_i x_i − x_stop (= log p(top) − log p(stop) of
 *       the distribution at T = 1; see rule (3b) of decodeStepRow below).
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
 *
 * One decode step of a row (`decodeStepRow`, the reference for the sampler kernel's per-row logic and the step the CPU
 * generator runs) adds s1 budget forcing (Muennighoff et al., "s1: Simple test-time scaling", 2025) on a per-row state
 * (thinking flag, thinkingTokens, extensionsUsed, pendingIndex). The token emitted at the next position is, in order:
 *   (1) the forced token (prompt prefill) if there is one;
 *   (2) else, if pendingIndex > 0, extensionIds[pendingIndex] (pendingIndex advances, back to 0 after the last id);
 *   (3) else, if thinking and thinkingCapTokens > 0 and thinkingTokens ≥ thinkingCapTokens, thinkEndId (the cap);
 *   (3b) else, the margin rule (ThinkBrake, arXiv 2510.00546): if thinking and stopTokenId ≥ 0 and δ = stopMarginNats
 *       > 0 and margin = max_i x_i − x_stop < δ (x: the logits after step (1); the margin is ≥ 0, so δ = 0 is off),
 *       the stop token stopTokenId; with stopMarginBoundaryId ≥ 0 only when the previous token (the one at this
 *       position) is that id (a step boundary, e.g. ';'), else at every token;
 *   (4) else the sampled token x, except that if thinking and x = thinkEndId and thinkingTokens < minThinkingTokens and
 *       extensionsUsed < maxExtensions, extensionIds[0] is emitted instead (extensionsUsed + 1, pendingIndex ← 1 if
 *       there are more ids, else 0).
 * Then the state follows the emitted token y: y = thinkStartId → thinking, thinkingTokens = 0; y = thinkEndId → not
 * thinking; else while thinking thinkingTokens + 1. The logprob is log q[y] under the final distribution (−∞ when
 * q[y] = 0 or y ≥ V), whichever rule chose y.
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
  /** τ_z, stop-logit TS: the stop token's logit (after the bias) is divided by it while thinking. Absent or 1 = off. */
  stopLogitTemperature?: number;
  /** δ in nats, the margin rule: while thinking, emit the stop token when max logit − stop logit < δ. Absent or 0 = off. */
  stopMarginNats?: number;
  /** The margin rule only right after this token (a step boundary); absent or −1 = at every token. */
  stopMarginBoundaryId?: number;
}

/** The optional stop rules' values, defaults filled in (off). */
export function stopRules(p: SamplingParams): { tauZ: number; marginNats: number; boundaryId: number } {
  return {
    tauZ: p.stopLogitTemperature ?? 1,
    marginNats: p.stopMarginNats ?? 0,
    boundaryId: p.stopMarginBoundaryId ?? -1,
  };
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
  const r = stopRules(p);
  if (!(r.tauZ > 0) || !Number.isFinite(r.tauZ)) {
    throw new Error(`sampling: stopLogitTemperature must be a finite number > 0, got ${r.tauZ}`);
  }
  if (!(r.marginNats >= 0) || !Number.isFinite(r.marginNats)) {
    throw new Error(`sampling: stopMarginNats must be a finite number ≥ 0, got ${r.marginNats}`);
  }
  if (!Number.isInteger(r.boundaryId) || r.boundaryId < -1) {
    throw new Error(`sampling: stopMarginBoundaryId must be an integer ≥ −1, got ${r.boundaryId}`);
  }
}

/** The logits after step (1) (stop-token bias and stop-logit TS while thinking), f64. */
export function adjustedLogits(logits: Float32Array, p: SamplingParams, thinking: boolean): Float64Array {
  const V = logits.length;
  const stop = thinking && p.stopTokenId >= 0 && p.stopTokenId < V ? p.stopTokenId : -1;
  const x = Float64Array.from(logits);
  if (stop >= 0) x[stop] = (x[stop]! + p.stopLogitBias) / stopRules(p).tauZ;
  return x;
}

/** The margin rule's margin: max_i x_i − x_stop over the logits after step (1) (≥ 0); NaN when no stop token applies. */
export function stopMargin(logits: Float32Array, p: SamplingParams, thinking: boolean): number {
  const V = logits.length;
  if (!(thinking && p.stopTokenId >= 0 && p.stopTokenId < V)) return Number.NaN;
  const x = adjustedLogits(logits, p, thinking);
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < V; i++) m = Math.max(m, x[i]!);
  return m - x[p.stopTokenId]!;
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
  const x = adjustedLogits(logits, p, thinking);
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

// ---------------------------------------------------------------------------------------------------------------------
// Budget forcing and the per-row decode step.

/** s1 budget forcing. All zero (or absent) = off. The rules need thinkStartId and thinkEndId ≥ 0. */
export interface BudgetForcing {
  /** s1 cap: once the row has emitted this many thinking tokens, force `thinkEndId` (0 = off). */
  thinkingCapTokens: number;
  /** s1 extend: while thinking has fewer tokens than this, a sampled `thinkEndId` is replaced by extensionIds… (0 = off) */
  minThinkingTokens: number;
  /** …at most this many times per row. */
  maxExtensions: number;
  /**
   * Token ids emitted instead of `</think>` (e.g. encode('Wait,')): 1 to 8 ids when extend is on (minThinkingTokens
   * and maxExtensions > 0), at most 8 otherwise. None may be thinkStartId or thinkEndId.
   */
  extensionIds: number[];
}

/** Most extension ids (the sampler's uniform holds 8). */
export const MAX_EXTENSION_IDS = 8;

export const NO_BUDGET: BudgetForcing = {
  thinkingCapTokens: 0,
  minThinkingTokens: 0,
  maxExtensions: 0,
  extensionIds: [],
};

/** True when budget forcing can change a token (the cap or the extension rule is on). */
export function budgetActive(b: BudgetForcing | undefined): boolean {
  return b !== undefined && (b.thinkingCapTokens > 0 || (b.minThinkingTokens > 0 && b.maxExtensions > 0));
}

/** Rejects a malformed budget, naming the field. `vocabSize` bounds the extension ids. */
export function checkBudgetForcing(
  b: BudgetForcing | undefined,
  vocabSize: number,
  thinkStartId: number,
  thinkEndId: number,
): void {
  if (b === undefined) return;
  for (const key of ['thinkingCapTokens', 'minThinkingTokens', 'maxExtensions'] as const) {
    const v = b[key];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RangeError(`budget.${key} must be an integer in [0, 2³²), got ${v}`);
    }
  }
  if (!Array.isArray(b.extensionIds) || b.extensionIds.length > MAX_EXTENSION_IDS) {
    throw new RangeError(`budget.extensionIds must be an array of at most ${MAX_EXTENSION_IDS} token ids`);
  }
  b.extensionIds.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`budget.extensionIds[${i}] = ${id} is outside the vocabulary [0, ${vocabSize})`);
    }
    if (id === thinkStartId || id === thinkEndId) {
      throw new RangeError(`budget.extensionIds[${i}] = ${id} is a think delimiter (thinkStartId/thinkEndId)`);
    }
  });
  if (b.minThinkingTokens > 0 && b.maxExtensions > 0 && b.extensionIds.length === 0) {
    throw new RangeError('budget.extensionIds needs 1 to 8 ids when minThinkingTokens and maxExtensions are > 0');
  }
  if (budgetActive(b) && !(thinkStartId >= 0 && thinkEndId >= 0)) {
    throw new RangeError(`budget forcing needs thinkStartId and thinkEndId ≥ 0, got ${thinkStartId} and ${thinkEndId}`);
  }
}

/** Per-row decode state; on the GPU the [B, 4] u32 buffer (thinking ? 1 : 0, thinkingTokens, extensionsUsed, pendingIndex). */
export interface DecodeRowState {
  /** Inside a thinking span (the stop-token and budget rules apply). */
  thinking: boolean;
  /** Tokens emitted since the span's thinkStartId. */
  thinkingTokens: number;
  /** Times the extension rule (4) fired in this row. */
  extensionsUsed: number;
  /** Index of the next extension id to emit; 0 = none pending. */
  pendingIndex: number;
}

export const DECODE_STATE_WORDS = 4;

/** The state after emitting token y (rule order in the file header). */
export function advanceDecodeState(
  s: DecodeRowState,
  y: number,
  thinkStartId: number,
  thinkEndId: number,
): DecodeRowState {
  if (y === thinkStartId) return { ...s, thinking: true, thinkingTokens: 0 };
  if (y === thinkEndId) return { ...s, thinking: false };
  return s.thinking ? { ...s, thinkingTokens: s.thinkingTokens + 1 } : s;
}

/** The state after a row's first token (position 0): [flag, 0, 0, 0]. */
export function initialDecodeState(firstToken: number, thinkStartId: number, thinkEndId: number): DecodeRowState {
  const zero = { thinking: false, thinkingTokens: 0, extensionsUsed: 0, pendingIndex: 0 };
  return advanceDecodeState(zero, firstToken, thinkStartId, thinkEndId);
}

/**
 * The state after a row's tokens 0..last were emitted in order from position 0 (its prompt, when decoding continues
 * from position `last` after a prefill); tokens past the end of `tokens` are not there to emit.
 */
export function decodeStateAfter(
  tokens: readonly number[],
  last: number,
  thinkStartId: number,
  thinkEndId: number,
): DecodeRowState {
  let state = initialDecodeState(tokens[0]!, thinkStartId, thinkEndId);
  for (let t = 1; t <= last && t < tokens.length; t++)
    state = advanceDecodeState(state, tokens[t]!, thinkStartId, thinkEndId);
  return state;
}

/** Rows' states as the sampler's [B, 4] u32 buffer. */
export function packDecodeStates(states: readonly DecodeRowState[]): Uint32Array {
  const out = new Uint32Array(states.length * DECODE_STATE_WORDS);
  states.forEach((s, b) => {
    out.set([s.thinking ? 1 : 0, s.thinkingTokens, s.extensionsUsed, s.pendingIndex], b * DECODE_STATE_WORDS);
  });
  return out;
}

/** Row `row` of a [B, 4] u32 state buffer. */
export function unpackDecodeState(words: ArrayLike<number>, row: number): DecodeRowState {
  const o = row * DECODE_STATE_WORDS;
  return {
    thinking: words[o]! !== 0,
    thinkingTokens: words[o + 1]!,
    extensionsUsed: words[o + 2]!,
    pendingIndex: words[o + 3]!,
  };
}

/** Which rule chose a step's token. */
export type DecodeRule = 'forced' | 'pending' | 'cap' | 'margin' | 'extend' | 'sample';

export interface DecodeStep {
  token: number;
  /** log q[token] under the final distribution (−∞ where q = 0). */
  logprob: number;
  /** The state after the token. */
  state: DecodeRowState;
  rule: DecodeRule;
}

/** Rule (3b): the margin rule is on, applies at this position and the margin is below δ. */
export function marginFires(
  logitsRow: Float32Array,
  params: SamplingParams,
  thinking: boolean,
  prevToken: number,
): boolean {
  const r = stopRules(params);
  if (!(r.marginNats > 0)) return false;
  if (r.boundaryId >= 0 && prevToken !== r.boundaryId) return false;
  const margin = stopMargin(logitsRow, params, thinking);
  return margin < r.marginNats; // NaN (no stop token applies) → false
}

/**
 * One decode step of one row: the token for the next position from this position's logits [V], a forced token
 * (≥ 0: prompt prefill; −1: none) and the row's state; u = uniformFor(seed, pos, row); prevToken: the token at this
 * position (read by the margin rule's step-boundary option; −1 = unknown). See the file header.
 */
export function decodeStepRow(
  state: DecodeRowState,
  logitsRow: Float32Array,
  forcedToken: number,
  params: SamplingParams,
  budget: BudgetForcing | undefined,
  thinkStartId: number,
  thinkEndId: number,
  u: number,
  prevToken = -1,
): DecodeStep {
  const V = logitsRow.length;
  const b = budget ?? NO_BUDGET;
  checkBudgetForcing(b, V, thinkStartId, thinkEndId);
  const q = samplingProbs(logitsRow, params, state.thinking);
  const sampled = params.temperature === 0 ? argmax(q) : inverseCdf(q, u);
  const budgetOn = state.thinking && thinkEndId >= 0;
  let token = sampled;
  let rule: DecodeRule = 'sample';
  let { extensionsUsed, pendingIndex } = state;
  if (forcedToken >= 0) {
    token = forcedToken;
    rule = 'forced';
  } else if (pendingIndex > 0) {
    if (pendingIndex >= b.extensionIds.length) {
      throw new RangeError(`decode state: pendingIndex ${pendingIndex} with ${b.extensionIds.length} extension ids`);
    }
    token = b.extensionIds[pendingIndex]!;
    pendingIndex = pendingIndex + 1 < b.extensionIds.length ? pendingIndex + 1 : 0;
    rule = 'pending';
  } else if (budgetOn && b.thinkingCapTokens > 0 && state.thinkingTokens >= b.thinkingCapTokens) {
    token = thinkEndId;
    rule = 'cap';
  } else if (marginFires(logitsRow, params, state.thinking, prevToken)) {
    token = params.stopTokenId;
    rule = 'margin';
  } else if (
    budgetOn &&
    sampled === thinkEndId &&
    state.thinkingTokens < b.minThinkingTokens &&
    extensionsUsed < b.maxExtensions &&
    b.extensionIds.length > 0
  ) {
    token = b.extensionIds[0]!;
    extensionsUsed += 1;
    pendingIndex = b.extensionIds.length > 1 ? 1 : 0;
    rule = 'extend';
  }
  const logprob = token < V ? Math.log(q[token]!) : Number.NEGATIVE_INFINITY;
  const next = advanceDecodeState({ ...state, extensionsUsed, pendingIndex }, token, thinkStartId, thinkEndId);
  return { token, logprob, state: next, rule };
}

/**
 * CPU reference for shaders/crossentropy_forward_backward.wgsl: fused softmax cross-entropy forward and backward.
 *
 *   logits  [N, V], targets [N] (i32, −1 = ignore the row), weights [N] (f32, any sign).
 *   losses  [N]     −log softmax(logits_i)[target_i], unweighted; 0 for an ignored row.
 *   dlogits [N, V]  weights[i] · (softmax(logits_i) − onehot(target_i)); 0 for an ignored row.
 * dlogits is the gradient of the trainer's loss Σ_i weights[i]·losses[i] (normalisation such as 1/N is folded into the
 * weights by the caller; GRPO puts advantages, possibly negative, there). f64 accumulation.
 */
export function crossEntropy(
  logits: Float32Array,
  targets: Int32Array,
  weights: Float32Array,
  N: number,
  V: number,
): { losses: Float32Array; dlogits: Float32Array } {
  const r = crossEntropyF64(logits, targets, weights, N, V);
  return { losses: Float32Array.from(r.losses), dlogits: Float32Array.from(r.dlogits) };
}

/** The same computation with f64 outputs (finite-difference checks use it). */
export function crossEntropyF64(
  logits: ArrayLike<number>,
  targets: Int32Array,
  weights: ArrayLike<number>,
  N: number,
  V: number,
): { losses: Float64Array; dlogits: Float64Array } {
  if (!Number.isInteger(N) || N < 0) throw new Error(`crossEntropy: N must be a non-negative integer, got ${N}`);
  if (!Number.isInteger(V) || V <= 0) throw new Error(`crossEntropy: V must be a positive integer, got ${V}`);
  if (logits.length < N * V) throw new Error(`crossEntropy: logits has ${logits.length} elements, needs ${N * V}`);
  if (targets.length < N || weights.length < N) throw new Error(`crossEntropy: targets/weights need ${N} elements`);
  const losses = new Float64Array(N);
  const dlogits = new Float64Array(N * V);
  for (let i = 0; i < N; i++) {
    const t = targets[i]!;
    if (t === -1) continue;
    if (!Number.isInteger(t) || t < 0 || t >= V)
      throw new Error(`crossEntropy: target ${t} of row ${i} outside [-1, ${V})`);
    let m = Number.NEGATIVE_INFINITY;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[i * V + v]!);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[i * V + v]! - m);
    losses[i] = Math.log(sum) + m - logits[i * V + t]!;
    const w = weights[i]!;
    for (let v = 0; v < V; v++) {
      const pr = Math.exp(logits[i * V + v]! - m) / sum;
      dlogits[i * V + v] = w * (pr - (v === t ? 1 : 0));
    }
  }
  return { losses, dlogits };
}

/** Σ_i weights[i] · losses[i] in f64: the step's loss as the trainer reports it. */
export function weightedLossSum(losses: ArrayLike<number>, weights: ArrayLike<number>, N: number): number {
  let s = 0;
  for (let i = 0; i < N; i++) s += weights[i]! * losses[i]!;
  return s;
}

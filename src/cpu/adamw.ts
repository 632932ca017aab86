/**
 * CPU reference for shaders/adamw.wgsl: one AdamW step, PyTorch semantics (torch.optim.AdamW, amsgrad off):
 *   g = grad·gradScale
 *   p ← p − lr·wd·p                      (decoupled weight decay, only where the decay mask is 1)
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − lr · (m / (1−β1^step)) / (√(v / (1−β2^step)) + eps)
 * Per-element arithmetic in f64, stored back as f32. Updates params, m, v in place.
 */

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count, for bias correction. */
  step: number;
}

export function adamwStep(
  params: Float32Array,
  grads: Float32Array,
  m: Float32Array,
  v: Float32Array,
  decayMask: Uint8Array | null,
  h: AdamWHyper,
  gradScale = 1,
): void {
  const n = params.length;
  if (grads.length !== n || m.length !== n || v.length !== n) {
    throw new Error(`adamwStep: params/grads/m/v lengths differ (${n}, ${grads.length}, ${m.length}, ${v.length})`);
  }
  if (decayMask && decayMask.length !== n) throw new Error(`adamwStep: decayMask has ${decayMask.length}, needs ${n}`);
  if (!Number.isInteger(h.step) || h.step < 1) throw new Error(`adamwStep: step must be an integer ≥ 1, got ${h.step}`);
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  for (let i = 0; i < n; i++) {
    const g = grads[i]! * gradScale;
    let p = params[i]!;
    if (!decayMask || decayMask[i] === 1) p -= h.lr * h.weightDecay * p;
    const mi = h.beta1 * m[i]! + (1 - h.beta1) * g;
    const vi = h.beta2 * v[i]! + (1 - h.beta2) * g * g;
    p -= (h.lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + h.eps);
    m[i] = mi;
    v[i] = vi;
    params[i] = p;
  }
}

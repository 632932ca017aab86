/**
 * CPU reference for shaders/global_norm.wgsl: the global L2 norm of all gradients and the clip scale of
 * torch.nn.utils.clip_grad_norm_.
 */

/** √(Σ g²), accumulated in f64. */
export function globalNorm(grads: Float32Array): number {
  let s = 0;
  for (let i = 0; i < grads.length; i++) s += grads[i]! * grads[i]!;
  return Math.sqrt(s);
}

/** maxNorm / (norm + 1e-6) when norm > maxNorm, else 1. maxNorm ≤ 0 disables clipping (→ 1). */
export function clipScale(norm: number, maxNorm: number): number {
  if (maxNorm <= 0) return 1;
  return norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}

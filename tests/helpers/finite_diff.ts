/**
 * Central finite differences for checking CPU reference gradients: ∂loss/∂x[i] ≈ (loss(x + h·eᵢ) − loss(x − h·eᵢ)) / 2h.
 * `x` is perturbed in place and restored, so `loss` may close over it. Truncation error is O(h²·f'''); rounding error
 * is about ε·|loss|/h (ε ≈ 1e-16 in f64): callers choose h and state the resulting tolerance.
 */
export function centralDifferences(x: Float64Array, loss: () => number, h: number): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const keep = x[i]!;
    x[i] = keep + h;
    const up = loss();
    x[i] = keep - h;
    const down = loss();
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** Σ aᵢ·bᵢ in f64: the scalar "loss" whose gradient with respect to a layer's output is `b` (= dout). */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

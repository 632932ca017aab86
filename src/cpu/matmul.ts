/**
 * CPU reference for shaders/matmul.wgsl: C = op(A)·op(B) (+ bias) (+ C). Same layouts as the shader; accumulates in
 * f64 so it is the more accurate side of every comparison.
 */
export function matmul(
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  opts: { transA?: boolean; transB?: boolean; bias?: Float32Array; accumulateInto?: Float32Array } = {},
): Float32Array {
  const c = opts.accumulateInto ?? new Float32Array(M * N);
  const accumulate = opts.accumulateInto !== undefined;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const av = opts.transA ? a[k * M + m]! : a[m * K + k]!;
        const bv = opts.transB ? b[n * K + k]! : b[k * N + n]!;
        s += av * bv;
      }
      if (opts.bias) s += opts.bias[n]!;
      c[m * N + n] = accumulate ? c[m * N + n]! + s : s;
    }
  }
  return c;
}

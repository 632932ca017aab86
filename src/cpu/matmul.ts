/**
 * CPU reference for shaders/matmul.wgsl: C = op(A)·op(B) (+ bias) (+ C). Same layouts as the shader; accumulates in
 * f64 so it is the more accurate side of every comparison.
 *
 * Each output is Σ_k op(A)[m, k]·op(B)[k, n] summed in f64 in order k = 0 … K − 1, then the bias is added, then the
 * sum is added to C when accumulating. For speed the operands are first copied to row-major op(A) [M, K] and op(B)
 * [K, N] and the loops run m, k, n over a row of N f64 sums, so the innermost loop walks memory contiguously and its
 * additions are independent of each other. That changes the speed, not the order of any sum: the results are the same
 * bits as the textbook m-n-k loop (tests/kernels/matmul.test.ts checks it against that loop).
 */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: Float32Array;
  accumulateInto?: Float32Array;
}

export function matmul(
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  opts: MatmulOptions = {},
): Float32Array {
  const c = opts.accumulateInto ?? new Float32Array(M * N);
  const accumulate = opts.accumulateInto !== undefined;
  const bias = opts.bias;
  const A = opts.transA === true ? transpose(a, K, M) : a; // [M, K]
  const B = opts.transB === true ? transpose(b, N, K) : b; // [K, N]
  const row = new Float64Array(N);
  for (let m = 0; m < M; m++) {
    row.fill(0);
    const aRow = m * K;
    for (let k = 0; k < K; k++) {
      const av = A[aRow + k]!;
      const bRow = k * N;
      for (let n = 0; n < N; n++) row[n] = row[n]! + av * B[bRow + n]!;
    }
    const cRow = m * N;
    for (let n = 0; n < N; n++) {
      const s = bias ? row[n]! + bias[n]! : row[n]!;
      c[cRow + n] = accumulate ? c[cRow + n]! + s : s;
    }
  }
  return c;
}

/** x [R, C] row-major → [C, R] row-major. */
function transpose(x: Float32Array, R: number, C: number): Float32Array {
  const t = new Float32Array(R * C);
  for (let r = 0; r < R; r++) {
    const xr = r * C;
    for (let c = 0; c < C; c++) t[c * R + r] = x[xr + c]!;
  }
  return t;
}

/**
 * CPU references for shaders/add_forward.wgsl (broadcast add) and shaders/column_sum.wgsl (bias gradient).
 */

/** out[i] = a[i] + b[i % b.length]; b.length must divide a.length (same length: residual add; [C]: bias). */
export function addBroadcast(a: Float32Array, b: Float32Array): Float32Array {
  if (b.length === 0 || a.length % b.length !== 0) {
    throw new Error(`addBroadcast: b length ${b.length} must be positive and divide a length ${a.length}`);
  }
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i % b.length]!;
  return out;
}

/** x [N, C] row-major → [C] with out[c] = Σ_n x[n, c] (f64 accumulation). */
export function columnSum(x: Float32Array, N: number, C: number): Float32Array {
  if (!Number.isInteger(N) || N <= 0 || !Number.isInteger(C) || C <= 0) {
    throw new Error(`columnSum: N and C must be positive integers, got N=${N} C=${C}`);
  }
  if (x.length !== N * C) throw new Error(`columnSum: x has ${x.length} elements, needs N·C = ${N * C}`);
  const acc = new Float64Array(C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) acc[c]! += x[n * C + c]!;
  return Float32Array.from(acc);
}

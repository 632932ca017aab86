/**
 * CPU reference for shaders/layernorm_forward.wgsl and shaders/layernorm_backward.wgsl (f64 accumulation).
 * LayerNorm over the last dimension C of a row-major [N, C] tensor, biased variance (as PyTorch):
 *   mean = Σx/C, var = Σ(x−mean)²/C, rstd = 1/√(var+eps), out = (x−mean)·rstd·weight + bias.
 * Written over `ArrayLike`/`Float64Array`-compatible loops so tests can run the same math in f64 for finite
 * differences (see `layernormForward64`).
 */

/** inp/out [N, C]; weight/bias [C]; returns out [N, C], mean [N], rstd [N]. */
export function layernormForward(
  inp: Float32Array,
  weight: Float32Array,
  bias: Float32Array,
  N: number,
  C: number,
  eps = 1e-5,
): { out: Float32Array; mean: Float32Array; rstd: Float32Array } {
  const r = layernormForward64(inp, weight, bias, N, C, eps);
  return { out: Float32Array.from(r.out), mean: Float32Array.from(r.mean), rstd: Float32Array.from(r.rstd) };
}

/** The same forward pass entirely in f64 (inputs of any precision); used for finite-difference checks. */
export function layernormForward64(
  inp: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
  N: number,
  C: number,
  eps = 1e-5,
): { out: Float64Array; mean: Float64Array; rstd: Float64Array } {
  checkShapes('layernormForward', inp.length, weight.length, bias.length, N, C);
  const out = new Float64Array(N * C);
  const mean = new Float64Array(N);
  const rstd = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const base = n * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += inp[base + c]!;
    const m = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = inp[base + c]! - m;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) out[base + c] = (inp[base + c]! - m) * rs * weight[c]! + bias[c]!;
    mean[n] = m;
    rstd[n] = rs;
  }
  return { out, mean, rstd };
}

/**
 * Backward of layernormForward. dout/inp [N, C]; weight [C]; mean/rstd [N] (from the forward pass).
 * Returns freshly allocated dinp [N, C], dweight [C], dbias [C] (overwrite semantics):
 *   xhat = (x−mean)·rstd, dnorm = dout·weight,
 *   dinp = rstd·(dnorm − mean_c(dnorm) − xhat·mean_c(dnorm·xhat)),
 *   dweight = Σ_n dout·xhat, dbias = Σ_n dout.
 */
export function layernormBackward(
  dout: Float32Array,
  inp: Float32Array,
  weight: Float32Array,
  mean: Float32Array,
  rstd: Float32Array,
  N: number,
  C: number,
): { dinp: Float32Array; dweight: Float32Array; dbias: Float32Array } {
  checkShapes('layernormBackward', inp.length, weight.length, weight.length, N, C);
  if (dout.length !== N * C) throw new Error(`layernormBackward: dout has ${dout.length} elements, needs ${N * C}`);
  if (mean.length !== N || rstd.length !== N) throw new Error(`layernormBackward: mean/rstd need ${N} elements`);
  const dinp = new Float32Array(N * C);
  const dweight = new Float64Array(C);
  const dbias = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const base = n * C;
    const m = mean[n]!;
    const rs = rstd[n]!;
    let sumD = 0;
    let sumDX = 0;
    for (let c = 0; c < C; c++) {
      const xhat = (inp[base + c]! - m) * rs;
      const dn = dout[base + c]! * weight[c]!;
      sumD += dn;
      sumDX += dn * xhat;
      dweight[c]! += dout[base + c]! * xhat;
      dbias[c]! += dout[base + c]!;
    }
    const meanD = sumD / C;
    const meanDX = sumDX / C;
    for (let c = 0; c < C; c++) {
      const xhat = (inp[base + c]! - m) * rs;
      const dn = dout[base + c]! * weight[c]!;
      dinp[base + c] = rs * (dn - meanD - xhat * meanDX);
    }
  }
  return { dinp, dweight: Float32Array.from(dweight), dbias: Float32Array.from(dbias) };
}

function checkShapes(what: string, inpLen: number, wLen: number, bLen: number, N: number, C: number): void {
  if (!Number.isInteger(N) || N <= 0 || !Number.isInteger(C) || C <= 0) {
    throw new Error(`${what}: N and C must be positive integers, got N=${N} C=${C}`);
  }
  if (inpLen !== N * C) throw new Error(`${what}: inp has ${inpLen} elements, needs N·C = ${N * C}`);
  if (wLen !== C || bLen !== C) throw new Error(`${what}: weight/bias need C = ${C} elements, got ${wLen}/${bLen}`);
}

/**
 * CPU reference for shaders/gelu_forward.wgsl and shaders/gelu_backward.wgsl: the tanh approximation of GELU
 * (PyTorch `gelu(approximate='tanh')`, GPT-2):
 *   gelu(x) = 0.5·x·(1 + tanh(u)),  u = √(2/π)·(x + 0.044715·x³).
 * Computed in f64 per element.
 */

export const GELU_SCALE = Math.sqrt(2 / Math.PI);
export const GELU_CUBIC = 0.044715;

export function gelu64(x: number): number {
  const u = GELU_SCALE * (x + GELU_CUBIC * x * x * x);
  return 0.5 * x * (1 + Math.tanh(u));
}

/** d gelu(x) / dx. */
export function geluGrad64(x: number): number {
  const u = GELU_SCALE * (x + GELU_CUBIC * x * x * x);
  const t = Math.tanh(u);
  const du = GELU_SCALE * (1 + 3 * GELU_CUBIC * x * x);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
}

/** out[i] = gelu(x[i]); any shape. */
export function geluForward(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = gelu64(x[i]!);
  return out;
}

/** dx[i] = gelu'(x[i])·dout[i]; x and dout the same length. Returns a new array. */
export function geluBackward(x: Float32Array, dout: Float32Array): Float32Array {
  if (x.length !== dout.length) throw new Error(`geluBackward: x has ${x.length} elements, dout ${dout.length}`);
  const dx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) dx[i] = geluGrad64(x[i]!) * dout[i]!;
  return dx;
}

// lib/gelu.wgsl — GELU, tanh approximation (GPT-2, PyTorch gelu(approximate='tanh')): gelu(x) = 0.5·x·(1 + tanh u),
// u = √(2/π)·(x + 0.044715·x³), u clamped to ±15 (tanh(15) rounds to 1 in f32, so no backend's exp-based tanh
// overflows to NaN). Included with `#include "lib/gelu.wgsl"` (resolved at build time by scripts/wgsl_include.ts) by
// gelu_forward.wgsl, gelu_backward.wgsl (the constants) and the matmul kernels' GELU epilogues, so the fused epilogue
// and the separate kernel compute the same expression.

const GELU_SCALE: f32 = 0.7978845608028654; // √(2/π)
const GELU_CUBIC: f32 = 0.044715;

fn gelu(v: f32) -> f32 {
  let u = clamp(GELU_SCALE * v * fma(GELU_CUBIC * v, v, 1.0), -15.0, 15.0);
  return 0.5 * v * (1.0 + tanh(u));
}

fn gelu4(v: vec4<f32>) -> vec4<f32> {
  let u = clamp(GELU_SCALE * v * fma(GELU_CUBIC * v, v, vec4<f32>(1.0)), vec4<f32>(-15.0), vec4<f32>(15.0));
  return 0.5 * v * (1.0 + tanh(u));
}

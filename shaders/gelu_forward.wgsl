// gelu_forward.wgsl — out[i] = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (tanh approximation, as GPT-2 and
// PyTorch gelu(approximate='tanh')).
//
// Shapes: x [n], out [n] (any logical shape, flat). out must not alias x (use a separate buffer).
// Bindings: 0 x (read), 1 out (read_write), 2 uniform Params { n }.
// Workgroup: 256 threads, one element each. Dispatch ceil(n/256) workgroups as a 2D grid (x ≤ 65535).
// The tanh argument is clamped to ±15 (tanh(15) rounds to 1 in f32) so no backend's exp-based tanh overflows to NaN.
// Includes: lib/gelu.wgsl (gelu), expanded at build time.

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

#include "lib/gelu.wgsl"

@compute @workgroup_size(256, 1, 1)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid.x;
  if (i >= p.n) { return; }
  let v = x[i];
  out[i] = gelu(v);
}

// gelu_backward.wgsl — dx[i] = gelu'(x[i])·dout[i] for the tanh approximation (see gelu_forward.wgsl):
//   gelu'(x) = 0.5·(1 + tanh u) + 0.5·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²),  u = √(2/π)·(x + 0.044715·x³).
//
// Shapes: x, dout, dx [n] (flat).
// Bindings: 0 x (read), 1 dx (read_write), 2 dout (read), 3 uniform Params { n }.
// Overrides: IN_PLACE — 1: dout is read from dx itself (dx = dout in place, overwritten with the result); binding 2 is
//   then any buffer (the dummy) and is never read. 0: dout comes from binding 2, which must not alias dx.
// Workgroup: 256 threads, one element each. Dispatch ceil(n/256) workgroups as a 2D grid (x ≤ 65535).
// Includes: lib/gelu.wgsl (GELU_SCALE, GELU_CUBIC), expanded at build time.

override IN_PLACE: u32 = 0u;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

#include "lib/gelu.wgsl"

@compute @workgroup_size(256, 1, 1)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid.x;
  // Keep `dout` statically used in both variants so the auto layout always has binding 2.
  if (IN_PLACE == 2u) { dx[0] = dout[0]; }
  if (i >= p.n) { return; }
  let v = x[i];
  var g: f32;
  if (IN_PLACE == 1u) { g = dx[i]; } else { g = dout[i]; }
  let u = clamp(GELU_SCALE * v * fma(GELU_CUBIC * v, v, 1.0), -15.0, 15.0);
  let t = tanh(u);
  let du = GELU_SCALE * fma(3.0 * GELU_CUBIC * v, v, 1.0);
  let grad = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du;
  dx[i] = grad * g;
}

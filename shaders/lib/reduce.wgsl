// lib/reduce.wgsl — workgroup tree reductions of one f32 per thread (max and sum), included with
// `#include "lib/reduce.wgsl"` (resolved at build time by scripts/wgsl_include.ts).
//
// The including shader declares:
//   const WG: u32                          the workgroup size (a power of two) of every entry point that calls these;
//   var<workgroup> red: array<f32, N>      scratch, N ≥ WG (the shader may reuse it between reductions).
// Every thread of the workgroup calls with its own value v and lid = local_invocation_index, in uniform control flow;
// all get the result. The barrier comes first rather than after the final read of red[0]
// (`let t = red[0]; workgroupBarrier(); return t;`): that equivalent form returned wrong results on Dawn's OpenGL ES
// backend with Mesa llvmpipe (see rowSum in layernorm_forward.wgsl). So a caller that reuses `red` after the last
// reduction writes it only after a barrier of its own.

fn reduceMax(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  return red[0];
}

fn reduceSum(v: f32, lid: u32) -> f32 {
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}

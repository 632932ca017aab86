// lib/reduce_u32.wgsl — lib/reduce.wgsl for one u32 per thread (max and sum), included with
// `#include "lib/reduce_u32.wgsl"`. Same contract as lib/reduce.wgsl, with the scratch
//   var<workgroup> redU: array<u32, N>     N ≥ WG.

fn reduceMaxU(v: u32, lid: u32) -> u32 {
  workgroupBarrier();
  redU[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { redU[lid] = max(redU[lid], redU[lid + s]); }
    workgroupBarrier();
  }
  return redU[0];
}

fn reduceSumU(v: u32, lid: u32) -> u32 {
  workgroupBarrier();
  redU[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { redU[lid] = redU[lid] + redU[lid + s]; }
    workgroupBarrier();
  }
  return redU[0];
}

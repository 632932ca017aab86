// lib/reduce_u32_subgroup.wgsl — lib/reduce_u32.wgsl's reduceMaxU and reduceSumU with subgroup operations, swapped in
// for it by src/gpu/subgroups.ts exactly as lib/reduce_subgroup.wgsl is for lib/reduce.wgsl (same contract, same
// scheme, scratch `redU`).

fn reduceMaxU(v: u32, lid: u32) -> u32 {
  let s = subgroupMax(v);
  let n = subgroupAdd(1u);
  workgroupBarrier();
  if (subgroupElect()) { redU[lid / n] = s; }
  workgroupBarrier();
  var t = redU[0];
  for (var i = 1u; i * n < WG; i++) { t = max(t, redU[i]); }
  return t;
}

fn reduceSumU(v: u32, lid: u32) -> u32 {
  let s = subgroupAdd(v);
  let n = subgroupAdd(1u);
  workgroupBarrier();
  if (subgroupElect()) { redU[lid / n] = s; }
  workgroupBarrier();
  var t = redU[0];
  for (var i = 1u; i * n < WG; i++) { t += redU[i]; }
  return t;
}

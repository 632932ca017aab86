// lib/reduce_subgroup.wgsl — lib/reduce.wgsl's reduceMax and reduceSum with subgroup operations. Never included by a
// shader file: src/gpu/subgroups.ts swaps it in for lib/reduce.wgsl's text (and prepends `enable subgroups;`) when the
// device has subgroups and its layout probe passed.
//
// The contract is lib/reduce.wgsl's: every thread of the workgroup calls with its own value v and
// lid = local_invocation_index, in uniform control flow, and all get the result; each call starts with a
// workgroupBarrier, which callers rely on to order their own workgroup-memory writes before later reads.
// Two barriers instead of log2(WG) + 2: subgroupMax / subgroupAdd give each subgroup's result in registers, the
// subgroup's first invocation writes it to red[lid / n] (n = the subgroup's size, counted as subgroupAdd(1u)), and
// after the second barrier every thread combines the WG / n partials in subgroup order. Assumes what the probe checks:
// subgroups are runs of n consecutive local_invocation_index values, n a power of two, the same for the workgroup.
// (n ≥ WG, one subgroup holding the whole workgroup, is the same code with one partial.)

fn reduceMax(v: f32, lid: u32) -> f32 {
  let s = subgroupMax(v);
  let n = subgroupAdd(1u);
  workgroupBarrier();
  if (subgroupElect()) { red[lid / n] = s; }
  workgroupBarrier();
  var t = red[0];
  for (var i = 1u; i * n < WG; i++) { t = max(t, red[i]); }
  return t;
}

fn reduceSum(v: f32, lid: u32) -> f32 {
  let s = subgroupAdd(v);
  let n = subgroupAdd(1u);
  workgroupBarrier();
  if (subgroupElect()) { red[lid / n] = s; }
  workgroupBarrier();
  var t = red[0];
  for (var i = 1u; i * n < WG; i++) { t += red[i]; }
  return t;
}

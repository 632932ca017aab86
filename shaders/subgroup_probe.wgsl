// subgroup_probe.wgsl — records the subgroup layout of one workgroup, for src/gpu/subgroups.ts (probeSubgroupLayout),
// which checks that subgroups are runs of n consecutive local_invocation_index values before any kernel relies on it.
//
// Shapes: out [2·WG] u32: out[2·lid] = the local_invocation_index of the first invocation of lid's subgroup,
//   out[2·lid + 1] = the number of invocations in lid's subgroup.                                   (overwritten)
// Bindings: 0 out (read_write).
// Overrides: WG, the workgroup size (each size a subgroup-reducing kernel uses is probed).
// Workgroup: WG threads; dispatch (1, 1, 1). Needs the `subgroups` feature.

enable subgroups;

override WG: u32 = 64u;

@group(0) @binding(0) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(local_invocation_index) lid: u32) {
  out[2u * lid] = subgroupBroadcastFirst(lid);
  out[2u * lid + 1u] = subgroupAdd(1u);
}

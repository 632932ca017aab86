// add_forward.wgsl — out[i] = a[i] + b[i % bLen] (bLen divides n): residual adds (bLen = n) and bias broadcast
// (b [C] over a [N, C]).
//
// Shapes: a [n], b [bLen], out [n] (flat).
// Bindings: 0 a (read), 1 out (read_write), 2 b (read), 3 uniform Params { n, bLen }.
// Overrides: IN_PLACE — 1: a is read from out itself (out += b broadcast); binding 0 is then any buffer (the dummy)
//   and is never read. 0: a comes from binding 0, which must not alias out. b must never alias out.
// Workgroup: 256 threads, one element each. Dispatch ceil(n/256) workgroups as a 2D grid (x ≤ 65535).

override IN_PLACE: u32 = 0u;

struct Params { n: u32, bLen: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256, 1, 1)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid.x;
  // Keep `a` statically used in both variants so the auto layout always has binding 0.
  if (IN_PLACE == 2u) { out[0] = a[0]; }
  if (i >= p.n) { return; }
  var av: f32;
  if (IN_PLACE == 1u) { av = out[i]; } else { av = a[i]; }
  var bi = i;
  if (p.bLen != p.n) { bi = i % p.bLen; }
  out[i] = av + b[bi];
}

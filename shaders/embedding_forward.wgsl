// embedding_forward.wgsl — out[b·T+t, c] = wte[tokens[b·T+t], c] + wpe[t, c] (token + learned position embedding).
//
// Shapes: tokens [B·T] i32 (ids validated on the CPU before upload: the kernel trusts them), wte [V, C],
//   wpe [Tmax, C] (Tmax ≥ T; only rows < T are read), out [B·T, C].
// Bindings: 0 tokens (read, i32), 1 wte (read), 2 wpe (read), 3 out (read_write), 4 uniform Params { n = B·T·C, T, C }.
// Workgroup: 256 threads, one output element each (consecutive threads → consecutive c: coalesced).
// Dispatch: ceil(n/256) workgroups as a 2D grid (x ≤ 65535).

struct Params { n: u32, T: u32, C: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> tokens: array<i32>;
@group(0) @binding(1) var<storage, read> wte: array<f32>;
@group(0) @binding(2) var<storage, read> wpe: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256, 1, 1)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid.x;
  if (i >= p.n) { return; }
  let pos = i / p.C;
  let c = i - pos * p.C;
  let t = pos % p.T;
  let tok = u32(tokens[pos]);
  out[i] = wte[tok * p.C + c] + wpe[t * p.C + c];
}

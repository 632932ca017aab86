// kv_cache_fill.wgsl — writes the keys and values of P prompt positions into one layer's KV cache (parallel prefill).
//
// Shapes (row-major), hs = C / H:
//   qkv    [R·P, 3C]          c_attn output of R rows × P positions (row r, position t at qkv row r·P + t;
//                             q = [0, C), k = [C, 2C), v = [2C, 3C)).
//   kCache [B, H, Tmax, hs]   this layer's keys (the decode layout of attention_decode.wgsl); vCache likewise.
//   Row r of qkv is cache row b = rowOffset + r (rowOffset + R ≤ B, checked on the CPU).
//   kCache[b, h, t, d] ← qkv[r·P + t, C + h·hs + d], vCache[b, h, t, d] ← qkv[r·P + t, 2C + h·hs + d], t < P.
//   Positions ≥ P and rows outside [rowOffset, rowOffset + R) are not touched.
// Bindings: 0 qkv (read), 1 kCache (read_write), 2 vCache (read_write), 3 uniform Params.
// Workgroup: 256 threads, one (r, t, c) element each (consecutive threads → consecutive c: coalesced reads, and
// consecutive d within a head: coalesced writes). Dispatch: ceil(R·P·C / 256) workgroups as a 2D grid (x ≤ 65535).

struct Params {
  n: u32, // R·P·C
  P: u32,
  C: u32,
  H: u32,
  hs: u32,
  Tmax: u32,
  rowOffset: u32,
}

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(2) var<storage, read_write> vCache: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256, 1, 1)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid.x;
  if (i >= p.n) { return; }
  let row = i / p.C; // r·P + t
  let c = i - row * p.C;
  let r = row / p.P;
  let t = row - r * p.P;
  let h = c / p.hs;
  let d = c - h * p.hs;
  let dst = (((p.rowOffset + r) * p.H + h) * p.Tmax + t) * p.hs + d;
  kCache[dst] = qkv[row * 3u * p.C + p.C + c];
  vCache[dst] = qkv[row * 3u * p.C + 2u * p.C + c];
}

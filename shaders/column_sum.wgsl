// column_sum.wgsl — stage 1 of out[c] = Σ_n x[n, c] (the bias gradient): partial sums over row chunks,
//   parts[k, c] = Σ_{n in chunk k} x[n, c], chunk k = rows [k·rowsPerChunk, (k+1)·rowsPerChunk) ∩ [0, N).
// Stage 2 (Σ over k into out [C], optionally accumulating) is sum_slices.wgsl.
//
// Shapes: x [N, C] row-major, parts [chunks, C].
// Bindings: 0 x (read), 1 parts (read_write), 2 uniform Params { N, C, rowsPerChunk }.
// Workgroup: 64×4 threads: 64 consecutive columns (coalesced row reads) × 4 row lanes, reduced over the lanes in
//   workgroup memory. Dispatch (ceil(C/64), chunks, 1).

struct Params { N: u32, C: u32, rowsPerChunk: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> parts: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> red: array<f32, 256>; // [4][64]

@compute @workgroup_size(64, 4, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let C = p.C;
  let c = wg.x * 64u + lid.x;
  let k = wg.y;
  let rowStart = k * p.rowsPerChunk;
  let rowEnd = min(p.N, rowStart + p.rowsPerChunk);
  var s = 0.0;
  if (c < C) {
    for (var r = rowStart + lid.y; r < rowEnd; r += 4u) { s += x[r * C + c]; }
  }
  red[lid.y * 64u + lid.x] = s;
  workgroupBarrier();
  if (lid.y == 0u && c < C) {
    parts[k * C + c] = red[lid.x] + red[64u + lid.x] + red[128u + lid.x] + red[192u + lid.x];
  }
}

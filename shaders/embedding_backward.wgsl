// embedding_backward.wgsl — gradients of embedding_forward.wgsl without float atomics, deterministic:
//   dwte[v, c] = Σ_{p in bucket v} dout[p, c]   (overwrite; rows of absent tokens get 0)
//   dwpe[t, c] = Σ_b dout[b·T+t, c]             (overwrite for t < T; rows T..Tmax−1 are zeroed)
// The buckets come from a CSR index built on the CPU per batch (buildTokenIndex in src/cpu/embedding.ts):
//   tokenOffsets [V+1] u32, positionsByToken [B·T] u32 (flat positions b·T+t grouped by token id).
// Summation order is fixed (lane-strided over the bucket, then a fixed tree), so results are bit-reproducible.
//
// Shapes: dout [B·T, C], dwte [V, C], dwpe [Tmax, C].
// Bindings: 0 dout (read), 1 tokenOffsets (read, u32), 2 positionsByToken (read, u32), 3 dwte (read_write),
//           4 dwpe (read_write), 5 uniform Params { B, T, C, V, Tmax }.
// Workgroup: 8×32 threads: 8 consecutive columns (one 32-byte memory sector per row read) × 32 lanes that stride over
//   the rows being summed, then a tree over the lanes in workgroup memory. Many lanes per column keep a frequent
//   token's long bucket (the latency-bound tail of this kernel) short: ⌈bucket/32⌉ gathers per thread.
// Dispatch: (ceil(C/8), V + Tmax, 1): grid row r < V computes dwte row r, row V + t computes dwpe row t.

struct Params { B: u32, T: u32, C: u32, V: u32, Tmax: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> tokenOffsets: array<u32>;
@group(0) @binding(2) var<storage, read> positionsByToken: array<u32>;
@group(0) @binding(3) var<storage, read_write> dwte: array<f32>;
@group(0) @binding(4) var<storage, read_write> dwpe: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

const COLS: u32 = 8u;
const LANES: u32 = 32u;

var<workgroup> red: array<f32, 256>; // [LANES][COLS]

@compute @workgroup_size(8, 32, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let C = p.C;
  let c = wg.x * COLS + lid.x;
  let r = wg.y;
  let isWte = r < p.V;
  var s = 0.0;
  if (c < C) {
    if (isWte) {
      let start = tokenOffsets[r];
      let end = tokenOffsets[r + 1u];
      for (var k = start + lid.y; k < end; k += LANES) {
        s += dout[positionsByToken[k] * C + c];
      }
    } else {
      let t = r - p.V;
      if (t < p.T) {
        for (var b = lid.y; b < p.B; b += LANES) { s += dout[(b * p.T + t) * C + c]; }
      }
    }
  }
  red[lid.y * COLS + lid.x] = s;
  workgroupBarrier();
  for (var h = LANES / 2u; h > 0u; h >>= 1u) {
    if (lid.y < h) { red[lid.y * COLS + lid.x] += red[(lid.y + h) * COLS + lid.x]; }
    workgroupBarrier();
  }
  if (lid.y == 0u && c < C) {
    if (isWte) { dwte[r * C + c] = red[lid.x]; } else { dwpe[(r - p.V) * C + c] = red[lid.x]; }
  }
}

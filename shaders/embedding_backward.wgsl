// embedding_backward.wgsl — gradients of embedding_forward.wgsl without float atomics, deterministic:
//   dwte[v, c] = Σ_{p in bucket v} dout[p, c]   (overwrite; rows of absent tokens get 0)
//   dwpe[t, c] = Σ_b dout[b·T+t, c]             (overwrite for t < T; rows T..Tmax−1 are zeroed)
// The buckets come from a CSR index built on the CPU per batch (buildTokenIndex in src/cpu/embedding.ts):
//   tokenOffsets [V+1] u32, positionsByToken [B·T] u32 (flat positions b·T+t grouped by token id).
// Summation order is fixed (in order for short rows; lane-strided over the bucket, then a fixed tree, for long ones),
// so results are bit-reproducible.
//
// Shapes: dout [B·T, C], dwte [V, C], dwpe [Tmax, C].
// Bindings: 0 dout (read), 1 tokenOffsets (read, u32), 2 positionsByToken (read, u32), 3 dwte (read_write),
//           4 dwpe (read_write), 5 uniform Params { B, T, C, V, Tmax }.
// Overrides COLS, LANES (a power of two; COLS·LANES ≤ 256). Workgroup: COLS×LANES threads: COLS consecutive columns ×
//   LANES lanes that stride over the rows being summed, then a tree over the lanes in workgroup memory. On a GPU 8×32
//   (8 columns: one 32-byte memory sector per row read; many lanes per column keep a frequent token's long bucket,
//   the latency-bound tail of this kernel, short: ⌈bucket/32⌉ gathers per thread). On a CPU adapter 64×4: a
//   launched workgroup costs there what its threads cost, whatever they do, so fewer, wider workgroups.
// Dispatch: (ceil(C/COLS), V + Tmax, 1): grid row r < V computes dwte row r, row V + t computes dwpe row t.
// A row with at most SERIAL_MAX terms (a token absent from the batch or seen a few times, a position t ≥ T, a batch of
// at most 32 rows) is summed by one thread per column in order, after one uniform load, with no tree or barrier;
// the many-lane tree is for the long buckets of frequent tokens. On a CPU adapter (SwiftShader), where each barrier
// is a fibre switch of every thread, running the tree for every row was 40% of a tiny model's training step.

struct Params { B: u32, T: u32, C: u32, V: u32, Tmax: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> tokenOffsets: array<u32>;
@group(0) @binding(2) var<storage, read> positionsByToken: array<u32>;
@group(0) @binding(3) var<storage, read_write> dwte: array<f32>;
@group(0) @binding(4) var<storage, read_write> dwpe: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

override COLS: u32 = 8u;
override LANES: u32 = 32u;
const SERIAL_MAX: u32 = 32u;

var<workgroup> red: array<f32, COLS * LANES>; // [LANES][COLS]
var<workgroup> rowTerms: u32; // how many rows of dout the workgroup's row sums

@compute @workgroup_size(COLS, LANES, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let C = p.C;
  let c = wg.x * COLS + lid.x;
  let r = wg.y;
  let isWte = r < p.V;
  if (lid.x == 0u && lid.y == 0u) {
    if (isWte) {
      rowTerms = tokenOffsets[r + 1u] - tokenOffsets[r];
    } else {
      rowTerms = select(0u, p.B, r - p.V < p.T);
    }
  }
  if (workgroupUniformLoad(&rowTerms) <= SERIAL_MAX) {
    if (lid.y == 0u && c < C) {
      var s = 0.0;
      if (isWte) {
        for (var k = tokenOffsets[r]; k < tokenOffsets[r + 1u]; k++) { s += dout[positionsByToken[k] * C + c]; }
        dwte[r * C + c] = s;
      } else {
        let t = r - p.V;
        if (t < p.T) {
          for (var b = 0u; b < p.B; b++) { s += dout[(b * p.T + t) * C + c]; }
        }
        dwpe[t * C + c] = s;
      }
    }
    return;
  }
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

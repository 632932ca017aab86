// matmul_rows.wgsl — C = A · Wᵀ (+ bias) (+ a residual, or a GELU output), f32, for few rows: a Linear layer applied to
// the M ≤ a few dozen rows of one decode step (M = the rows in use), where the tiled kernels (matmul.wgsl,
// matmul_vec4.wgsl) leave most of a 64-row tile empty and make a handful of workgroups walk the whole of K one after
// another (medium's mlp.c_proj at 32 rows: 3 workgroups of 48 k steps each).
//
// Here a workgroup owns TN = 8 output columns of RB = 8 rows, and its 256 threads split K: thread (col, lane),
// lane < 32, sums k = 4·lane + 128·i for its column and the 8 rows in registers (vec4 loads of the weight row and of
// each A row; a warp of 32 lanes reads 512 contiguous bytes of each), then the 32 lanes' partial sums of each (row,
// column) are added in workgroup memory, in lane order. So a layer of N outputs over M rows runs (N / 8)·(M / 8)
// workgroups, each over K / 128 vec4 steps: medium's mlp.c_proj at 32 rows, 96 workgroups of 6 steps.
//
// Shapes (row-major): A [M, K], W [N, K] (a PyTorch Linear weight: op(B) = Wᵀ, TRANS_B of the tiled kernels), C [M, N],
// bias [N]. K % 4 == 0 (rows of whole vec4s; checked by src/gpu/ops/matmul.ts); M and N are free.
// Bindings: 0 a (read, vec4), 1 w (read, vec4), 2 c (read_write), 3 bias [N] (read; any buffer when HAS_BIAS == 0),
//           4 g [M, N] (read_write; the GELU output when GELU == 1, the residual read when RESIDUAL == 1, any other
//           writable buffer otherwise), 5 uniform Params.
// Overrides: HAS_BIAS, GELU (C gets the pre-activation and g = gelu(C), exactly as shaders/gelu_forward.wgsl),
//            RESIDUAL (C = (product + bias) + g, the order of the tiled kernels' epilogue). No accumulate, no split-K.
// Workgroup: 256 threads. Dispatch (ceil(N / 8), ceil(M / 8), 1).
// Includes: lib/gelu.wgsl (gelu), expanded at build time.

override HAS_BIAS: u32 = 0u;
override GELU: u32 = 0u;
override RESIDUAL: u32 = 0u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
}

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> g: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

const TN: u32 = 8u; // output columns per workgroup
const LANES: u32 = 32u; // threads splitting K for one column
const RB: u32 = 8u; // rows per workgroup (accumulators per thread)
const LANES_P: u32 = LANES + 1u; // row stride of `partial`: reads down a column hit 32 different banks

#include "lib/gelu.wgsl"

var<workgroup> partial: array<f32, RB * TN * LANES_P>; // [RB·TN][LANES + 1]

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % LANES;
  let col = lid / LANES;
  let n = wg.x * TN + col;
  let m0 = wg.y * RB;
  let K4 = p.K / 4u;
  let zero = vec4<f32>(0.0);
  var acc: array<f32, RB>;
  for (var r = 0u; r < RB; r++) { acc[r] = 0.0; }
  if (n < p.N) {
    for (var k4 = lane; k4 < K4; k4 += LANES) {
      let wv = w[n * K4 + k4];
      for (var r = 0u; r < RB; r++) {
        let m = m0 + r;
        let av = select(zero, a[min(m, p.M - 1u) * K4 + k4], m < p.M);
        acc[r] += dot(av, wv);
      }
    }
  }
  for (var r = 0u; r < RB; r++) { partial[(r * TN + col) * LANES_P + lane] = acc[r]; }
  workgroupBarrier();
  // Threads 0 .. RB·TN − 1: one (row, column) each, its 32 partial sums in lane order, then the epilogue.
  if (lid < RB * TN) {
    let r = lid / TN;
    let cc = lid % TN;
    let m = m0 + r;
    let nn = wg.x * TN + cc;
    if (m < p.M && nn < p.N) {
      var v = 0.0;
      for (var l = 0u; l < LANES; l++) { v += partial[(r * TN + cc) * LANES_P + l]; }
      if (HAS_BIAS == 1u) { v += bias[nn]; }
      let idx = m * p.N + nn;
      if (RESIDUAL == 1u) { v += g[idx]; }
      c[idx] = v;
      if (GELU == 1u) {
        g[idx] = gelu(v);
      }
    }
  }
  // Keep `bias` and `g` statically used so the auto layout always has bindings 3 and 4.
  if (HAS_BIAS == 2u) { g[0] = bias[0]; }
}

// matmul.wgsl — C = op(A) · op(B) (+ bias) (+ C or + a residual), f32, tiled in workgroup memory.
//
// Shapes (row-major, no padding):
//   op(A) is [M, K]: A is stored [M, K] when TRANS_A == 0, [K, M] when TRANS_A == 1.
//   op(B) is [K, N]: B is stored [K, N] when TRANS_B == 0, [N, K] when TRANS_B == 1 (a PyTorch Linear weight).
//   C is [M, N]. With split-K (dispatch z > 1), slice z covers k in [z·kChunk, min(K, (z+1)·kChunk)) and writes its
//   partial product to C + z·M·N (C then holds [splits, M, N]; reduce with sum_slices.wgsl).
// The three matmuls of a Linear layer y = x·Wᵀ + b (W [N, K]):
//   forward  y[M,N]  = x[M,K] · W[N,K]ᵀ   -> TRANS_B = 1, HAS_BIAS = 1
//   dx[M,K]          = dy[M,N] · W[N,K]   -> plain
//   dW[N,K]          = dy[M,N]ᵀ · x[M,K]  -> TRANS_A = 1 (usually split-K: the reduction runs over all B·T rows)
//
// This is the portable path for any shape; shaders/matmul_vec4.wgsl is the faster one where the rows are whole vec4s.
//
// Bindings: 0 a (read), 1 b (read), 2 c (read_write), 3 bias [N] (read; bind any buffer when HAS_BIAS == 0),
//           4 g [M, N] (read_write; GELU output when GELU == 1, the residual read when RESIDUAL == 1, any other
//           writable buffer otherwise), 5 uniform Params.
// Overrides: TRANS_A, TRANS_B, HAS_BIAS, ACCUMULATE (C += result; only with one split), GELU (C gets the
//            pre-activation and g = gelu(C), the tanh approximation exactly as shaders/gelu_forward.wgsl; one split,
//            no ACCUMULATE), RESIDUAL (C = (result + bias) + g, the same bits as shaders/add_forward.wgsl adding g to
//            the product: the transformer block's residual add fused into c_proj; one split, no ACCUMULATE or GELU).
//            DYNAMIC_FLAGS == 1: the six flags come from Params.flags instead (bit 0 TRANS_A, 1 TRANS_B, 2 HAS_BIAS,
//            3 ACCUMULATE, 4 GELU, 5 RESIDUAL) and their overrides are ignored, so one pipeline serves every variant: on a CPU
//            adapter each pipeline compiles for most of a second and a flag's branch costs next to nothing. With 0
//            (a GPU) each variant is its own pipeline, its branches folded away.
// Workgroup: 16×16 threads; each thread computes a 4×4 block of a 64×64 output tile; the k loop steps 16 at a time.
// Dispatch: (ceil(N/64), ceil(M/64), splits). Edges that are not multiples of the tile are bounds-checked.
// Includes: lib/gelu.wgsl (gelu), expanded at build time.

override TRANS_A: u32 = 0u;
override TRANS_B: u32 = 0u;
override HAS_BIAS: u32 = 0u;
override ACCUMULATE: u32 = 0u;
override GELU: u32 = 0u;
override RESIDUAL: u32 = 0u;
override DYNAMIC_FLAGS: u32 = 0u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  kChunk: u32,
  flags: u32, // read when DYNAMIC_FLAGS == 1
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> g: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

fn flag(fixed: u32, bit: u32) -> bool {
  if (DYNAMIC_FLAGS == 1u) { return ((p.flags >> bit) & 1u) == 1u; }
  return fixed == 1u;
}
fn transA() -> bool { return flag(TRANS_A, 0u); }
fn transB() -> bool { return flag(TRANS_B, 1u); }
fn hasBias() -> bool { return flag(HAS_BIAS, 2u); }
fn accumulate() -> bool { return flag(ACCUMULATE, 3u); }
fn hasGelu() -> bool { return flag(GELU, 4u); }
fn residual() -> bool { return flag(RESIDUAL, 5u); }

#include "lib/gelu.wgsl"

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;
// Row strides of the staged tiles, one float of padding: staging A along k (TRANS_A == 0) or B along k (TRANS_B == 1)
// has 16 neighbouring threads write one column of 16 rows, which at a stride of 64 floats would all hit one bank of
// workgroup memory. The padding changes no sum, so no result.
const TMP: u32 = TM + 1u;
const TNP: u32 = TN + 1u;

var<workgroup> As: array<f32, TK * TMP>; // [TK][TMP]
var<workgroup> Bs: array<f32, TK * TNP>; // [TK][TNP]

fn loadA(m: u32, k: u32, kEnd: u32) -> f32 {
  if (m >= p.M || k >= kEnd) { return 0.0; }
  if (transA()) { return a[k * p.M + m]; }
  return a[m * p.K + k];
}

fn loadB(k: u32, n: u32, kEnd: u32) -> f32 {
  if (n >= p.N || k >= kEnd) { return 0.0; }
  if (transB()) { return b[n * p.K + k]; }
  return b[k * p.N + n];
}

/** Writes v[j] to (row, col0 + 16·j) of slice `sliceBase`, with the epilogue (bias, residual, accumulate, GELU), in bounds. */
fn storeRow(row: u32, col0: u32, sliceBase: u32, v: vec4<f32>) {
  if (row >= p.M) { return; }
  storeOne(row, col0, sliceBase, v.x);
  storeOne(row, col0 + 16u, sliceBase, v.y);
  storeOne(row, col0 + 32u, sliceBase, v.z);
  storeOne(row, col0 + 48u, sliceBase, v.w);
}

fn storeOne(row: u32, col: u32, sliceBase: u32, value: f32) {
  if (col >= p.N) { return; }
  var v = value;
  if (hasBias()) { v += bias[col]; }
  let idx = sliceBase + row * p.N + col;
  if (residual()) { v += g[idx]; }
  if (accumulate()) { v += c[idx]; }
  c[idx] = v;
  if (hasGelu()) {
    g[idx] = gelu(v);
  }
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.y * 16u + lid.x;
  let rowBase = wg.y * TM;
  let colBase = wg.x * TN;
  let kStart = wg.z * p.kChunk;
  let kEnd = min(p.K, kStart + p.kChunk);

  // acc_i[j] is output (row lid.y + 16·i, column lid.x + 16·j): four vec4 registers, no indexed private array.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  var k0 = kStart;
  loop {
    if (k0 >= kEnd) { break; }
    // Each of the 256 threads loads 4 elements of each 16×64 tile. The mapping follows the storage order so that
    // neighbouring threads read neighbouring addresses.
    for (var r = 0u; r < 4u; r++) {
      let e = tid + r * 256u; // 0..1023
      if (transA()) {
        let kk = e / TM; let mm = e % TM;
        As[kk * TMP + mm] = loadA(rowBase + mm, k0 + kk, kEnd);
      } else {
        let mm = e / TK; let kk = e % TK;
        As[kk * TMP + mm] = loadA(rowBase + mm, k0 + kk, kEnd);
      }
      if (transB()) {
        let nn = e / TK; let kk = e % TK;
        Bs[kk * TNP + nn] = loadB(k0 + kk, colBase + nn, kEnd);
      } else {
        let kk = e / TN; let nn = e % TN;
        Bs[kk * TNP + nn] = loadB(k0 + kk, colBase + nn, kEnd);
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let ar = kk * TMP + lid.y;
      let br = kk * TNP + lid.x;
      let bv = vec4<f32>(Bs[br], Bs[br + 16u], Bs[br + 32u], Bs[br + 48u]);
      acc0 = fma(vec4<f32>(As[ar]), bv, acc0);
      acc1 = fma(vec4<f32>(As[ar + 16u]), bv, acc1);
      acc2 = fma(vec4<f32>(As[ar + 32u]), bv, acc2);
      acc3 = fma(vec4<f32>(As[ar + 48u]), bv, acc3);
    }
    workgroupBarrier();
    k0 += TK;
  }

  let sliceBase = wg.z * p.M * p.N;
  storeRow(rowBase + lid.y, colBase + lid.x, sliceBase, acc0);
  storeRow(rowBase + lid.y + 16u, colBase + lid.x, sliceBase, acc1);
  storeRow(rowBase + lid.y + 32u, colBase + lid.x, sliceBase, acc2);
  storeRow(rowBase + lid.y + 48u, colBase + lid.x, sliceBase, acc3);
  // Keep `bias` and `g` statically used so the auto layout always has bindings 3 and 4.
  if (HAS_BIAS == 2u) { g[0] = bias[0]; }
}

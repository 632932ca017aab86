// matmul_vec4.wgsl — C = op(A) · op(B) (+ bias) (+ C or + a residual), f32, register-blocked, vec4 loads and stores.
// The fast path of shaders/matmul.wgsl for shapes whose rows are whole vec4s; same shapes, layouts and split-K scheme:
//   op(A) is [M, K]: A is stored [M, K] when TRANS_A == 0, [K, M] when TRANS_A == 1.
//   op(B) is [K, N]: B is stored [K, N] when TRANS_B == 0, [N, K] when TRANS_B == 1 (a PyTorch Linear weight).
//   C is [M, N]; with split-K (dispatch z > 1) slice z covers k in [z·kChunk, min(K, (z+1)·kChunk)) and writes its
//   partial product to C + z·M·N (reduce with sum_slices.wgsl).
// Alignment (checked by src/gpu/ops/matmul.ts, which falls back to matmul.wgsl otherwise): N % 4 == 0 (C, bias and
// B when TRANS_B == 0 are read and written as vec4 along n); K % 4 == 0 when A or B is read along k (TRANS_A == 0 or
// TRANS_B == 1); M % 4 == 0 when TRANS_A == 1 (A read along m); kChunk % TK == 0. Every tensor starts 256-byte aligned.
//
// Bindings: 0 a (read), 1 b (read), 2 c (read_write), 3 bias [N] (read; any buffer when HAS_BIAS == 0),
//           4 g [M, N] (read_write; GELU output when GELU == 1, the residual read when RESIDUAL == 1, any other
//           writable buffer otherwise), 5 uniform Params.
// Overrides: TRANS_A, TRANS_B, HAS_BIAS, ACCUMULATE (C += result; one split only), GELU (C gets the pre-activation
//            and g = gelu(C), the tanh approximation exactly as shaders/gelu_forward.wgsl; one split, no ACCUMULATE),
//            RESIDUAL (C = (result + bias) + g, as shaders/matmul.wgsl; one split, no ACCUMULATE or GELU),
//            RM, RN (outputs per thread along m and n: 4 or 8), TK (k step: 4, 8 or 16).
// Workgroup: 16×16 threads. The output tile is (16·RM) × (16·RN); thread (x, y) owns rows i·64 + 4y + r and columns
// j·64 + 4x + s (i < RM/4, j < RN/4, r, s < 4), so a thread's A and B fragments are whole vec4s in workgroup memory
// and neighbouring threads store neighbouring vec4s of C. Per k step each thread does RM·RN fma for (RM + RN)/4
// vec4 reads of workgroup memory.
// Dispatch: (ceil(N/(16·RN)), ceil(M/(16·RM)), splits). Tile edges are bounds-checked per vec4.
// Includes: lib/gelu.wgsl (gelu4), expanded at build time.

override TRANS_A: u32 = 0u;
override TRANS_B: u32 = 0u;
override HAS_BIAS: u32 = 0u;
override ACCUMULATE: u32 = 0u;
override GELU: u32 = 0u;
override RESIDUAL: u32 = 0u;
override RM: u32 = 4u;
override RN: u32 = 4u;
override TK: u32 = 16u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  kChunk: u32,
}

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> g: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> p: Params;

#include "lib/gelu.wgsl"

// Tile edges in vec4s: TM4 = 16·RM/4 = 4·RM rows of A per k, TN4 = 4·RN columns of B per k. Each staged row is padded
// by one vec4 (stride TM4 + 1, TN4 + 1): staging A along k (TRANS_A == 0) or B along k (TRANS_B == 1) has
// neighbouring threads write the same column of four rows, which at a stride of 64 or 128 floats would share a bank of
// workgroup memory (4-way; 2-way with the padding). The padding changes no sum, so no result.
var<workgroup> As: array<vec4<f32>, (4u * RM + 1u) * TK>; // [TK][TM/4 + 1]
var<workgroup> Bs: array<vec4<f32>, (4u * RN + 1u) * TK>; // [TK][TN/4 + 1]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.y * 16u + lid.x;
  let TM4 = 4u * RM;
  let TN4 = 4u * RN;
  let TM4P = TM4 + 1u; // row strides of As and Bs
  let TN4P = TN4 + 1u;
  let rowBase = wg.y * 16u * RM;
  let colBase4 = wg.x * TN4;
  let kStart = wg.z * p.kChunk;
  let kEnd = min(p.K, kStart + p.kChunk);
  let K4 = p.K / 4u;
  let M4 = p.M / 4u;
  let N4 = p.N / 4u;
  let zero = vec4<f32>(0.0);

  // acc[(i·4 + r)·(RN/4) + j]: row i·64 + 4y + r, columns j·64 + 4x .. +3.
  var acc: array<vec4<f32>, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = zero; }

  var k0 = kStart;
  loop {
    if (k0 >= kEnd) { break; }
    // Stage the A tile: TK × TM floats, 256 threads, one vec4 each per round.
    for (var e = tid; e < TK * TM4; e += 256u) {
      if (TRANS_A == 1u) {
        // A [K, M]: a vec4 along m lands as one vec4 of As.
        let kk = e / TM4; let mq = e % TM4;
        let m4 = rowBase / 4u + mq;
        let k = k0 + kk;
        As[kk * TM4P + mq] = select(zero, a[k * M4 + m4], k < kEnd && m4 < M4);
      } else {
        // A [M, K]: a vec4 along k is scattered over four rows of As.
        let mm = e / (TK / 4u); let kq = e % (TK / 4u);
        let m = rowBase + mm;
        let k = k0 + 4u * kq;
        let v = select(zero, a[m * K4 + k / 4u], m < p.M && k < kEnd);
        for (var s = 0u; s < 4u; s++) { As[(4u * kq + s) * TM4P + mm / 4u][mm % 4u] = v[s]; }
      }
    }
    for (var e = tid; e < TK * TN4; e += 256u) {
      if (TRANS_B == 1u) {
        // B [N, K]: a vec4 along k is scattered over four rows of Bs.
        let nn = e / (TK / 4u); let kq = e % (TK / 4u);
        let n = colBase4 * 4u + nn;
        let k = k0 + 4u * kq;
        let v = select(zero, b[n * K4 + k / 4u], n < p.N && k < kEnd);
        for (var s = 0u; s < 4u; s++) { Bs[(4u * kq + s) * TN4P + nn / 4u][nn % 4u] = v[s]; }
      } else {
        // B [K, N]: a vec4 along n lands as one vec4 of Bs.
        let kk = e / TN4; let nq = e % TN4;
        let n4 = colBase4 + nq;
        let k = k0 + kk;
        Bs[kk * TN4P + nq] = select(zero, b[k * N4 + n4], k < kEnd && n4 < N4);
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      var bv: array<vec4<f32>, 2>;
      for (var j = 0u; j < RN / 4u; j++) { bv[j] = Bs[kk * TN4P + j * 16u + lid.x]; }
      for (var i = 0u; i < RM / 4u; i++) {
        let av = As[kk * TM4P + i * 16u + lid.y];
        for (var r = 0u; r < 4u; r++) {
          for (var j = 0u; j < RN / 4u; j++) {
            let idx = (i * 4u + r) * (RN / 4u) + j;
            acc[idx] = fma(vec4<f32>(av[r]), bv[j], acc[idx]);
          }
        }
      }
    }
    workgroupBarrier();
    k0 += TK;
  }

  let slice4 = wg.z * p.M * N4;
  for (var i = 0u; i < RM / 4u; i++) {
    for (var r = 0u; r < 4u; r++) {
      let row = rowBase + i * 64u + 4u * lid.y + r;
      if (row >= p.M) { continue; }
      for (var j = 0u; j < RN / 4u; j++) {
        let col4 = colBase4 + j * 16u + lid.x;
        if (col4 >= N4) { continue; }
        var v = acc[(i * 4u + r) * (RN / 4u) + j];
        if (HAS_BIAS == 1u) { v += bias[col4]; }
        let idx = slice4 + row * N4 + col4;
        if (RESIDUAL == 1u) { v += g[idx]; }
        if (ACCUMULATE == 1u) { v += c[idx]; }
        c[idx] = v;
        if (GELU == 1u) { g[idx] = gelu4(v); }
      }
    }
  }
  // Keep `bias` and `g` statically used so the auto layout always has bindings 3 and 4.
  if (HAS_BIAS == 2u) { g[0] = bias[0]; }
}

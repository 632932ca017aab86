// attention_forward.wgsl — causal multi-head self-attention forward (nanoGPT layout), f32, tiled over keys with an
// online softmax (the FlashAttention-2 forward): no T×T matrix is written.
//
// Shapes (row-major, no padding), hs = C / H:
//   qkv [B·T, 3C]   per row q = [0, C), k = [C, 2C), v = [2C, 3C); head h uses channels [h·hs, (h+1)·hs) of each.
//   out [B·T, C]    head h's output in channels [h·hs, (h+1)·hs).                                      (overwritten)
//   lse [B, H, T]   log Σ_{j ≤ t} exp(s[t, j]) of each query row (natural log), saved for the backward. (overwritten)
//   s[t, j] = scale · q_t·k_j for j ≤ t, scale = 1/√hs.
//
// Bindings: 0 qkv (read), 1 out (read_write), 2 lse (read_write), 3 uniform Params.
// Overrides (src/gpu/ops/attention.ts attentionTiles picks them per head size and T): HS = hs; QT query rows per
// workgroup (a power of two ≤ 64, QT·HS ≤ 1024); KT keys per tile.
// Workgroup: 64 threads, one (query tile, b·h). Workgroup memory (f32): q tile QT·HSP, k tile KT·HSP, v tile KT·HS,
// score tile QT·KTP; attentionTiles keeps it ≤ 15 KiB (WebGPU's default limit is 16 KiB). The q, k and score tiles'
// rows are padded to an odd stride (HSP = HS | 1, KTP = KT | 1): neighbouring threads read neighbouring rows of them
// at the same column, which with a stride of a multiple of 32 floats would all fall in one bank of workgroup memory.
// The padding changes no sum's order, so no result.
// Per key tile (keys k0..k0+KT-1, only tiles with k0 ≤ the tile's last query, so fully masked tiles are skipped):
//   1. stage k and v rows;                                                            barrier
//   2. scores: thread i takes pairs (r, j) = (i / KT, i % KT), strided by 64; only j ≤ t;  barrier
//   3. thread (r, g) = (lid / G, lid % G), G = 64/QT: online softmax for row r (running max m and sum l, every
//      thread of the row computing them identically) and acc[d] += p_j · v_j[d] for its dims d = g, g+G, …; barrier.
// Dispatch: (ceil(T / QT), B·H, 1). Deterministic: every sum is in a fixed order.
// Includes: lib/attention_rows.wgsl (qkvAt), expanded at build time.

override HS: u32;
override QT: u32;
override KT: u32;
override HSP: u32 = HS | 1u; // row stride of the q and k tiles
override KTP: u32 = KT | 1u; // row stride of the score tile

const WG: u32 = 64u;
const MAX_DIMS: u32 = 16u; // ceil(HS / G) ≤ QT·HS/64 ≤ 16

override G: u32 = WG / QT; // threads per query row
override NDIM: u32 = (HS + G - 1u) / G; // dims per thread

struct Params {
  T: u32,
  C: u32,
  H: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> qs: array<f32, QT * HSP>;
var<workgroup> ks: array<f32, KT * HSP>;
var<workgroup> vs: array<f32, KT * HS>;
var<workgroup> ss: array<f32, QT * KTP>;

#include "lib/attention_rows.wgsl"

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = p.T;
  let bh = wg.y;
  let b = bh / p.H;
  let h = bh % p.H;
  let q0 = wg.x * QT;
  let qEnd = min(T, q0 + QT); // one past the tile's last query row

  for (var i = lid; i < QT * HS; i += WG) { qs[(i / HS) * HSP + i % HS] = qkvAt(b, h, q0 + i / HS, 0u, i % HS); }

  let r = lid / G;
  let g = lid % G;
  let t = q0 + r;
  var m = -3.0e38;
  var l = 0.0;
  var acc: array<f32, MAX_DIMS>;

  let nTiles = (qEnd + KT - 1u) / KT; // key tiles with at least one key ≤ the last query row
  for (var kt = 0u; kt < nTiles; kt++) {
    let k0 = kt * KT;
    workgroupBarrier(); // previous tile's readers are done (and, first time, nothing)
    for (var i = lid; i < KT * HS; i += WG) {
      ks[(i / HS) * HSP + i % HS] = qkvAt(b, h, k0 + i / HS, 1u, i % HS);
      vs[i] = qkvAt(b, h, k0 + i / HS, 2u, i % HS);
    }
    workgroupBarrier();
    for (var i = lid; i < QT * KT; i += WG) {
      let rr = i / KT;
      let jj = i % KT;
      if (k0 + jj <= q0 + rr) {
        var s = 0.0;
        for (var d = 0u; d < HS; d++) { s = fma(qs[rr * HSP + d], ks[jj * HSP + d], s); }
        ss[rr * KTP + jj] = s * p.scale;
      }
    }
    workgroupBarrier();
    if (t < T && t >= k0) {
      let jn = min(KT, t - k0 + 1u);
      var mt = m;
      for (var j = 0u; j < jn; j++) { mt = max(mt, ss[r * KTP + j]); }
      let corr = exp(m - mt);
      l *= corr;
      for (var i = 0u; i < NDIM; i++) { acc[i] *= corr; }
      for (var j = 0u; j < jn; j++) {
        let pj = exp(ss[r * KTP + j] - mt);
        l += pj;
        for (var i = 0u; i < NDIM; i++) {
          let d = g + i * G;
          if (d < HS) { acc[i] = fma(pj, vs[j * HS + d], acc[i]); }
        }
      }
      m = mt;
    }
  }

  if (t < T) {
    let inv = 1.0 / l;
    let oo = (b * T + t) * p.C + h * HS;
    for (var i = 0u; i < NDIM; i++) {
      let d = g + i * G;
      if (d < HS) { out[oo + d] = acc[i] * inv; }
    }
    if (g == 0u) { lse[bh * T + t] = m + log(l); }
  }
}

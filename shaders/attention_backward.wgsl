// attention_backward.wgsl — causal multi-head self-attention backward (nanoGPT layout), f32.
//
// Shapes as attention_forward.wgsl (hs = C / H, scale = 1/√hs):
//   dout [B·T, C] (read), qkv [B·T, 3C] (read), att [B, H, T, T] (read_write), dqkv [B·T, 3C] (read_write, overwritten).
// IN PLACE: phase 1 overwrites `att` (the forward's probabilities P, a saved activation used only here) with the
// score gradients dS[t, j] = scale · P[t,j] · (dP[t,j] − Σ_k P[t,k] dP[t,k]), dP[t,j] = dout_t · v_j, and 0 for j > t.
// After the three phases att holds dS, not P.
//
// Three dispatches, in this order (override PHASE selects one; each writes one third of dqkv, all of it):
//   PHASE 0 (dv):        one workgroup per key j:   dv_j = Σ_{t ≥ j} P[t, j] · dout_t          (reads att = P)
//   PHASE 1 (dscores+dq): one workgroup per query t: att[t, :] ← dS[t, :];  dq_t = Σ_{j ≤ t} dS[t, j] · k_j
//   PHASE 2 (dk):        one workgroup per key j:   dk_j = Σ_{t ≥ j} dS[t, j] · q_t            (reads att = dS)
// Bindings: 0 dout (read), 1 qkv (read), 2 att (read_write), 3 dqkv (read_write), 4 uniform Params.
// Limits: T ≤ 1024 (a row/column of att lives in workgroup memory), hs ≤ 128.
// Workgroup: 64 threads. Dispatch: (T, B·H, 1) for every phase.
// Includes: lib/reduce.wgsl (reduceSum over `red`), expanded at build time.

override PHASE: u32 = 0u;

struct Params {
  B: u32,
  T: u32,
  C: u32,
  H: u32,
  hs: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> att: array<f32>;
@group(0) @binding(3) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const WG: u32 = 64u;

var<workgroup> w: array<f32, 1024>; // weights of the rows being summed
var<workgroup> xs: array<f32, 128>; // dout row of the current query (phase 1)
var<workgroup> red: array<f32, 64>;

#include "lib/reduce.wgsl"

// Row i of the summed matrix, channel d: a dout row (src 0) or a qkv row (src 1), `base` + i·stride + d.
fn load(src: u32, base: u32, stride: u32, i: u32, d: u32) -> f32 {
  if (src == 0u) { return dout[base + i * stride + d]; }
  return qkv[base + i * stride + d];
}

// dqkv[dst + d] = Σ_{i < n} w[i] · row_i[d] for d < hs. Must be called in uniform control flow.
fn weightedRows(n: u32, src: u32, base: u32, stride: u32, dst: u32, lid: u32) {
  let hs = p.hs;
  if (hs <= WG) {
    let G = WG / hs;
    let d = lid % hs;
    let g = lid / hs;
    var acc = 0.0;
    if (g < G) {
      for (var i = g; i < n; i += G) { acc = fma(w[i], load(src, base, stride, i, d), acc); }
    }
    red[lid] = acc;
    workgroupBarrier();
    if (lid < hs) {
      var s = 0.0;
      for (var gg = 0u; gg < G; gg++) { s += red[gg * hs + lid]; }
      dqkv[dst + lid] = s;
    }
    workgroupBarrier();
  } else {
    for (var d = lid; d < hs; d += WG) {
      var acc = 0.0;
      for (var i = 0u; i < n; i++) { acc = fma(w[i], load(src, base, stride, i, d), acc); }
      dqkv[dst + d] = acc;
    }
  }
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wg.x; // key j (phases 0, 2) or query t (phase 1)
  let bh = wg.y;
  let b = bh / p.H;
  let h = bh % p.H;
  let hs = p.hs;
  let T = p.T;
  let C3 = 3u * p.C;
  let headBase = b * T * C3 + h * hs; // q channel 0 of row (b, 0) for this head
  let attHead = bh * T * T;

  if (PHASE == 0u || PHASE == 2u) {
    // Column r of att (rows t = r..T-1) as weights.
    let n = T - r;
    for (var i = lid; i < n; i += WG) { w[i] = att[attHead + (r + i) * T + r]; }
    workgroupBarrier();
    if (PHASE == 0u) {
      // dv_r = Σ_i P[r+i, r] · dout_{r+i}
      weightedRows(n, 0u, (b * T + r) * p.C + h * hs, p.C, (b * T + r) * C3 + 2u * p.C + h * hs, lid);
    } else {
      // dk_r = Σ_i dS[r+i, r] · q_{r+i}
      weightedRows(n, 1u, headBase + r * C3, C3, (b * T + r) * C3 + p.C + h * hs, lid);
    }
  } else {
    let t = r;
    let n = t + 1u;
    let go = (b * T + t) * p.C + h * hs;
    for (var d = lid; d < hs; d += WG) { xs[d] = dout[go + d]; }
    workgroupBarrier();
    let attRow = attHead + t * T;
    var inner = 0.0;
    for (var j = lid; j < n; j += WG) {
      let vo = headBase + j * C3 + 2u * p.C;
      var dp = 0.0;
      for (var d = 0u; d < hs; d++) { dp = fma(xs[d], qkv[vo + d], dp); }
      let pj = att[attRow + j];
      w[j] = dp;
      inner = fma(pj, dp, inner);
    }
    let total = reduceSum(inner, lid);
    for (var j = lid; j < T; j += WG) {
      var ds = 0.0;
      if (j < n) {
        ds = p.scale * att[attRow + j] * (w[j] - total);
        w[j] = ds;
      }
      att[attRow + j] = ds;
    }
    workgroupBarrier();
    // dq_t = Σ_{j ≤ t} dS[t, j] · k_j
    weightedRows(n, 1u, headBase + p.C, C3, (b * T + t) * C3 + h * hs, lid);
  }
}

// attention_forward.wgsl — causal multi-head self-attention forward (nanoGPT layout), f32.
//
// Shapes (row-major, no padding), hs = C / H:
//   qkv [B·T, 3C]     per row q = [0, C), k = [C, 2C), v = [2C, 3C); head h uses channels [h·hs, (h+1)·hs) of each.
//   out [B·T, C]      head h's output in channels [h·hs, (h+1)·hs).               (overwritten)
//   att [B, H, T, T]  softmax probabilities, att[b,h,t,j] = 0 for j > t.          (overwritten, every element)
//   s[t, j] = scale · q_t·k_j for j ≤ t, scale = 1/√hs; softmax with the row maximum subtracted.
//
// Bindings: 0 qkv (read), 1 out (read_write), 2 att (read_write), 3 uniform Params.
// Limits: T ≤ 1024 (the score row lives in workgroup memory), hs ≤ 128.
// Workgroup: 64 threads handle one (query row t, b, h): scores one key per thread (strided), workgroup max/sum
// reductions, a coalesced write of the att row, then out[t] = Σ_j p_j v_j with the threads split over (d, key group).
// Dispatch: (T, B·H, 1).
// Includes: lib/reduce.wgsl (reduceMax, reduceSum over `red`), expanded at build time.

struct Params {
  B: u32,
  T: u32,
  C: u32,
  H: u32,
  hs: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> att: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = 64u;

var<workgroup> w: array<f32, 1024>; // scores, then probabilities, of the current query row
var<workgroup> qs: array<f32, 128>; // the query row of this head
var<workgroup> red: array<f32, 64>; // reductions and partial outputs

#include "lib/reduce.wgsl"

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wg.x;
  let bh = wg.y;
  let b = bh / p.H;
  let h = bh % p.H;
  let hs = p.hs;
  let C3 = 3u * p.C;
  let rowBase = b * p.T * C3 + h * hs; // q channel 0 of row (b, 0) for this head

  for (var d = lid; d < hs; d += WG) { qs[d] = qkv[rowBase + t * C3 + d]; }
  workgroupBarrier();

  let n = t + 1u;
  var mx = -3.0e38;
  for (var j = lid; j < n; j += WG) {
    let ko = rowBase + j * C3 + p.C;
    var s = 0.0;
    for (var d = 0u; d < hs; d++) { s = fma(qs[d], qkv[ko + d], s); }
    s *= p.scale;
    w[j] = s;
    mx = max(mx, s);
  }
  let m = reduceMax(mx, lid);
  var sum = 0.0;
  for (var j = lid; j < n; j += WG) {
    let e = exp(w[j] - m);
    w[j] = e;
    sum += e;
  }
  let inv = 1.0 / reduceSum(sum, lid);
  let attBase = (bh * p.T + t) * p.T;
  for (var j = lid; j < p.T; j += WG) {
    var pr = 0.0;
    if (j < n) {
      pr = w[j] * inv;
      w[j] = pr;
    }
    att[attBase + j] = pr;
  }
  workgroupBarrier();

  // out[t, d] = Σ_{j ≤ t} w[j] · v[j, d]
  let vo = rowBase + 2u * p.C;
  let oo = (b * p.T + t) * p.C + h * hs;
  if (hs <= WG) {
    let G = WG / hs; // key groups
    let d = lid % hs;
    let g = lid / hs;
    var acc = 0.0;
    if (g < G) {
      for (var j = g; j < n; j += G) { acc = fma(w[j], qkv[vo + j * C3 + d], acc); }
    }
    red[lid] = acc;
    workgroupBarrier();
    if (lid < hs) {
      var s = 0.0;
      for (var gg = 0u; gg < G; gg++) { s += red[gg * hs + lid]; }
      out[oo + lid] = s;
    }
  } else {
    for (var d = lid; d < hs; d += WG) {
      var acc = 0.0;
      for (var j = 0u; j < n; j++) { acc = fma(w[j], qkv[vo + j * C3 + d], acc); }
      out[oo + d] = acc;
    }
  }
}

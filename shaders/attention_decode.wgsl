// attention_decode.wgsl — one step of KV-cache attention for generation (one layer), f32.
//
// Shapes (row-major), hs = C / H:
//   qkv    [B, 3C]            the c_attn output of the current token of each row (q = [0, C), k = [C, 2C), v = [2C, 3C)).
//   kCache [B, H, Tmax, hs]   this layer's keys;   vCache [B, H, Tmax, hs] this layer's values.
//   out    [B, C]             head h's output in channels [h·hs, (h+1)·hs).  (overwritten)
//   step   [1] u32            pos = step[0], the position of the current token. It lives in a storage buffer so a
//                             whole multi-token generation can be encoded in one command buffer: every decode
//                             dispatch reads it, and sample_tokens.wgsl's `advance_step` increments it after sampling.
// Entry points (one dispatch each, in this order, every layer, every step):
//   append_kv: kCache[b, h, pos, :] ← k of qkv row b, vCache likewise.  Dispatch (ceil(B·C / 64), 1, 1).
//   attend:    out[b] = softmax_{j ≤ pos}(scale · q_b · k_j) · v_j, scale = 1/√hs, row max subtracted.
//              One workgroup of 64 threads per (b, h); dispatch (B·H, 1, 1).
// Nothing is written when pos ≥ Tmax (out is left as it was).
// Bindings (both entry points): 0 qkv (read), 1 kCache (read_write), 2 vCache (read_write), 3 out (read_write),
//           4 step (read), 5 uniform Params.
// Limits: Tmax ≤ 1024, hs ≤ 128.
// Includes: lib/reduce.wgsl (reduceMax, reduceSum over `red`), expanded at build time.

struct Params {
  B: u32,
  C: u32,
  H: u32,
  hs: u32,
  Tmax: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(2) var<storage, read_write> vCache: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> step: array<u32>;
@group(0) @binding(5) var<uniform> p: Params;

const WG: u32 = 64u;

var<workgroup> w: array<f32, 1024>;
var<workgroup> qs: array<f32, 128>;
var<workgroup> red: array<f32, 64>;
var<workgroup> posShared: u32;

@compute @workgroup_size(64, 1, 1)
fn append_kv(@builtin(global_invocation_id) gid: vec3<u32>) {
  let pos = step[0];
  let i = gid.x;
  if (pos >= p.Tmax) {
    // Never true for a valid step; keeps `out` statically used so both entry points share one layout.
    if (i == 0xffffffffu) { out[0] = 0.0; }
    return;
  }
  if (i >= p.B * p.C) { return; }
  let b = i / p.C;
  let c = i % p.C;
  let h = c / p.hs;
  let d = c % p.hs;
  let dst = ((b * p.H + h) * p.Tmax + pos) * p.hs + d;
  kCache[dst] = qkv[b * 3u * p.C + p.C + c];
  vCache[dst] = qkv[b * 3u * p.C + 2u * p.C + c];
}

#include "lib/reduce.wgsl"

@compute @workgroup_size(64, 1, 1)
fn attend(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) { posShared = step[0]; }
  let pos = workgroupUniformLoad(&posShared);
  if (pos >= p.Tmax) { return; }
  let bh = wg.x;
  let b = bh / p.H;
  let h = bh % p.H;
  let hs = p.hs;
  let cache = bh * p.Tmax * hs;
  for (var d = lid; d < hs; d += WG) { qs[d] = qkv[b * 3u * p.C + h * hs + d]; }
  workgroupBarrier();

  let n = pos + 1u;
  var mx = -3.0e38;
  for (var j = lid; j < n; j += WG) {
    var s = 0.0;
    for (var d = 0u; d < hs; d++) { s = fma(qs[d], kCache[cache + j * hs + d], s); }
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
  // The barriers inside reduceSum follow every write of w, which the output loop below reads across threads. `red`
  // is reused below, so the reduction's final read of red[0] must finish first: the barrier before `red[lid] = acc`.

  let oo = b * p.C + h * hs;
  if (hs <= WG) {
    let G = WG / hs;
    let d = lid % hs;
    let g = lid / hs;
    var acc = 0.0;
    if (g < G) {
      for (var j = g; j < n; j += G) { acc = fma(w[j], vCache[cache + j * hs + d], acc); }
    }
    workgroupBarrier();
    red[lid] = acc;
    workgroupBarrier();
    if (lid < hs) {
      var s = 0.0;
      for (var gg = 0u; gg < G; gg++) { s += red[gg * hs + lid]; }
      out[oo + lid] = s * inv;
    }
  } else {
    for (var d = lid; d < hs; d += WG) {
      var acc = 0.0;
      for (var j = 0u; j < n; j++) { acc = fma(w[j], vCache[cache + j * hs + d], acc); }
      out[oo + d] = acc * inv;
    }
  }
}

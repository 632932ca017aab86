// attention_decode.wgsl — one step of KV-cache attention for generation (one layer), f32, split over the cache length
// (the flash-decoding scheme: many workgroups per (row, head), each over a chunk of keys, then a combine).
//
// Shapes (row-major), hs = C / H:
//   qkv      [B, 3C]              the c_attn output of the current token of each row (q = [0, C), k = [C, 2C),
//                                 v = [2C, 3C)).
//   kCache   [B, H, Tmax, hs]     this layer's keys;   vCache [B, H, Tmax, hs] this layer's values.
//   out      [B, C]               head h's output in channels [h·hs, (h+1)·hs).  (overwritten)
//   step     [≥ 1] u32            pos = decodePosition(b, B), row b's current position: step[0], plus row b's offset
//                                 when the buffer holds them (lib/decode_position.wgsl). It lives in a storage buffer
//                                 so a whole multi-token generation can be encoded in one command buffer: every
//                                 decode dispatch reads it, and sample_tokens.wgsl's `advance_step` increments step[0]
//                                 after sampling. Below, pos is the position of the workgroup's row.
//   partials [B, H, splits, hs+2] per split s of row b, head h: [m, l, acc[0..hs)], the split's score max m,
//                                 its sum l = Σ_j exp(s_j − m) and its unnormalised output acc[d] = Σ_j exp(s_j − m)·v_j[d]
//                                 (scratch, written by `partial`, read by `combine`; unused when splits = 1).
// The keys 0..pos are cut into splits of `chunk` keys: split s covers [s·chunk, min((s+1)·chunk, pos + 1)); a split
// past pos is empty and writes the neutral partial m = NEG, l = 0, acc = 0 (weight exp(NEG − M) = 0 in the combine).
// Split 0 always holds key 0, so the combine's max M is a real score.
// Entry points (one dispatch each, in this order, every layer, every step):
//   partial:   one workgroup of 64 threads per (split, b, h); dispatch (splits, B·H, 1). The workgroup whose split holds
//              pos first appends the current token: kCache[b, h, pos, :] ← k of qkv row b, vCache likewise (no other
//              workgroup of the dispatch reads position pos; a storageBarrier orders the writes before its own reads).
//              Then, as the one-workgroup softmax: the split's scores scale · q_b · k_j (one key per thread in turn)
//              into the score row w, their max m, w_j = exp(s_j − m) and l = Σ w_j, then acc[d] = Σ_j w_j·v_j[d]. With
//              splits = 1 it writes out[b, h·hs + d] = acc[d] / l directly (no combine dispatch).
//   combine:   one workgroup of 64 threads per (b, h); dispatch (B·H, 1, 1). M = max_s m_s,
//              out[b, h·hs + d] = Σ_s exp(m_s − M)·acc_s[d] / Σ_s exp(m_s − M)·l_s.
//   serial:    for a CPU adapter (SwiftShader): one invocation per (b, h), 4 a workgroup, no workgroup memory and no
//              barrier; dispatch (⌈B·H / 4⌉, 1, 1), ignoring splits and partials. It appends the token's k and v, then
//              walks keys 0..pos twice: their max score m, then l = Σ_j exp(s_j − m) and acc[d] = Σ_j exp(s_j − m)·v_j[d]
//              in key order, and writes out = acc / l. A software adapter runs a workgroup's invocations as fibres and
//              pays for every barrier and invocation; `partial` has eight barriers and, at head size 16, 48 of its 64
//              threads idle in the value sum.
// Nothing is written for a row whose pos ≥ Tmax (its out and caches are left as they were).
// Bindings (every entry point): 0 qkv (read), 1 kCache (read_write), 2 vCache (read_write), 3 out (read_write),
//           4 step (read), 5 partials (read_write), 6 uniform Params.
// Limits: hs ≤ 128 (a thread owns at most two output dims; `serial` holds 128 accumulators); chunk ≤ 1024 (the score
// row w), so Tmax ≤ 1024.
// Includes: lib/reduce.wgsl (reduceMax, reduceSum over `red`) and lib/decode_position.wgsl (decodePosition), expanded
// at build time.

struct Params {
  B: u32,
  C: u32,
  H: u32,
  hs: u32,
  Tmax: u32,
  scale: f32,
  splits: u32,
  chunk: u32,
}

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(2) var<storage, read_write> vCache: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> step: array<u32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

const WG: u32 = 64u;
/** The score max of an empty split: exp(NEG − M) underflows to 0 for any real score M. */
const NEG: f32 = -3.0e38;

var<workgroup> qs: array<f32, 128>;
var<workgroup> w: array<f32, 1024>;
var<workgroup> red: array<f32, 64>;
var<workgroup> posShared: u32;

// Keeps every binding statically used by every entry point, so both share one bind group layout (`layout:
// 'auto'`). `never` is false for every valid dispatch.
fn keepBindings(never: bool) {
  if (never) { out[0] = qkv[0] + kCache[0] + vCache[0] + partials[0] + f32(step[0]); }
}

#include "lib/reduce.wgsl"
#include "lib/decode_position.wgsl"

/** Row b's position, read by one thread and shared (uniform across the workgroup, as barriers below require). */
fn loadPos(lid: u32, b: u32) -> u32 {
  if (lid == 0u) { posShared = decodePosition(b, p.B); }
  return workgroupUniformLoad(&posShared);
}

@compute @workgroup_size(64, 1, 1)
fn partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let split = wg.x;
  let bh = wg.y;
  let b = bh / p.H;
  let h = bh % p.H;
  let pos = loadPos(lid, b);
  keepBindings(pos == 0xffffffffu && lid == 0xffffffffu);
  if (pos >= p.Tmax) { return; }
  let hs = p.hs;
  let cache = bh * p.Tmax * hs;
  let row = b * 3u * p.C + h * hs;
  for (var d = lid; d < hs; d += WG) { qs[d] = qkv[row + d]; }
  if (split == pos / p.chunk) {
    for (var d = lid; d < hs; d += WG) {
      kCache[cache + pos * hs + d] = qkv[row + p.C + d];
      vCache[cache + pos * hs + d] = qkv[row + 2u * p.C + d];
    }
  }
  storageBarrier();
  workgroupBarrier();

  // Output dims of this thread. hs ≤ 64: G = 64 / hs groups of hs threads, thread (g, d0) sums the split's keys
  // g, g + G, …; the groups are added at the end. hs > 64: the thread owns dims d0 = lid and d1 = lid + 64.
  let narrow = hs <= WG;
  let G = select(1u, WG / hs, narrow);
  let g = select(0u, lid / hs, narrow);
  let d0 = select(lid, lid % hs, narrow);
  let d1 = lid + WG;
  let own0 = g < G && d0 < hs;
  let own1 = !narrow && d1 < hs;

  let start = min(split * p.chunk, pos + 1u);
  let n = min(start + p.chunk, pos + 1u) - start;
  let keys = cache + start * hs;
  var mx = NEG;
  for (var j = lid; j < n; j += WG) {
    var dot = 0.0;
    for (var d = 0u; d < hs; d++) { dot = fma(qs[d], kCache[keys + j * hs + d], dot); }
    let s = dot * p.scale;
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
  // reduceSum's barriers order every thread's writes of w before the reads below.
  let l = reduceSum(sum, lid);
  var acc0 = 0.0;
  var acc1 = 0.0;
  if (own0) {
    for (var j = g; j < n; j += G) { acc0 = fma(w[j], vCache[keys + j * hs + d0], acc0); }
  }
  if (own1) {
    for (var j = 0u; j < n; j++) { acc1 = fma(w[j], vCache[keys + j * hs + d1], acc1); }
  }

  // Add the groups (hs ≤ 64). The barrier orders the last reduction's read of red[0] before red is reused.
  workgroupBarrier();
  red[lid] = acc0;
  workgroupBarrier();
  var v0 = acc0;
  if (narrow && lid < hs) {
    v0 = 0.0;
    for (var gg = 0u; gg < G; gg++) { v0 += red[gg * hs + lid]; }
  }
  let write0 = lid < hs;
  if (p.splits == 1u) {
    let oo = b * p.C + h * hs;
    if (write0) { out[oo + lid] = v0 / l; }
    if (own1) { out[oo + d1] = acc1 / l; }
    return;
  }
  let part = (bh * p.splits + split) * (hs + 2u);
  if (lid == 0u) {
    partials[part] = m;
    partials[part + 1u] = l;
  }
  if (write0) { partials[part + 2u + lid] = v0; }
  if (own1) { partials[part + 2u + d1] = acc1; }
}

@compute @workgroup_size(64, 1, 1)
fn combine(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bh = wg.x;
  let b = bh / p.H;
  let h = bh % p.H;
  let pos = loadPos(lid, b);
  keepBindings(pos == 0xffffffffu && lid == 0xffffffffu);
  if (pos >= p.Tmax) { return; }
  let hs = p.hs;
  let stride = hs + 2u;
  let base = bh * p.splits * stride;
  var M = NEG;
  for (var s = 0u; s < p.splits; s++) { M = max(M, partials[base + s * stride]); }
  var L = 0.0;
  for (var s = 0u; s < p.splits; s++) {
    L = fma(exp(partials[base + s * stride] - M), partials[base + s * stride + 1u], L);
  }
  let inv = 1.0 / L;
  let oo = b * p.C + h * hs;
  for (var d = lid; d < hs; d += WG) {
    var acc = 0.0;
    for (var s = 0u; s < p.splits; s++) {
      acc = fma(exp(partials[base + s * stride] - M), partials[base + s * stride + 2u + d], acc);
    }
    out[oo + d] = acc * inv;
  }
}

const SERIAL_WG: u32 = 4u;

/** scale · q·k_j for `serial`: q from row `row` of qkv, k_j at `key` in the key cache. */
fn serialScore(row: u32, key: u32) -> f32 {
  var dot = 0.0;
  for (var d = 0u; d < p.hs; d++) { dot = fma(qkv[row + d], kCache[key + d], dot); }
  return dot * p.scale;
}

@compute @workgroup_size(SERIAL_WG, 1, 1)
fn serial(@builtin(global_invocation_id) gid: vec3<u32>) {
  let bh = gid.x;
  keepBindings(bh == 0xffffffffu);
  if (bh >= p.B * p.H) { return; }
  let b = bh / p.H;
  let h = bh % p.H;
  let pos = decodePosition(b, p.B);
  if (pos >= p.Tmax) { return; }
  let hs = p.hs;
  let cache = bh * p.Tmax * hs;
  let row = b * 3u * p.C + h * hs;
  // This invocation alone reads (b, h)'s cache: its own writes are visible to its reads without a barrier.
  for (var d = 0u; d < hs; d++) {
    kCache[cache + pos * hs + d] = qkv[row + p.C + d];
    vCache[cache + pos * hs + d] = qkv[row + 2u * p.C + d];
  }
  var m = NEG;
  for (var j = 0u; j <= pos; j++) { m = max(m, serialScore(row, cache + j * hs)); }
  var acc: array<f32, 128>;
  for (var d = 0u; d < hs; d++) { acc[d] = 0.0; }
  var l = 0.0;
  for (var j = 0u; j <= pos; j++) {
    let e = exp(serialScore(row, cache + j * hs) - m);
    l += e;
    for (var d = 0u; d < hs; d++) { acc[d] = fma(e, vCache[cache + j * hs + d], acc[d]); }
  }
  let oo = b * p.C + h * hs;
  for (var d = 0u; d < hs; d++) { out[oo + d] = acc[d] / l; }
}

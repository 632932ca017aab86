// attention_backward.wgsl — causal multi-head self-attention backward (nanoGPT layout), f32, tiled, recomputing the
// probabilities from the forward's log-sum-exp (the FlashAttention-2 backward): no T×T matrix is read or written.
//
// Shapes as attention_forward.wgsl (hs = C / H, scale = 1/√hs):
//   dout [B·T, C] (read), qkv [B·T, 3C] (read), out [B·T, C] the forward's output (read), lse [B, H, T] (read),
//   dqkv [B·T, 3C] (read_write; dq writes the q third, dkdv the k and v thirds: every element once).
// With P[t, j] = exp(s[t, j] − lse_t), dP[t, j] = dout_t·v_j, D_t = dout_t·out_t = Σ_j P[t, j] dP[t, j]:
//   dS[t, j] = P[t, j] · (dP[t, j] − D_t) for j ≤ t (the gradient of q_t·k_j is scale·dS; scale is applied last)
//   dq_t = scale · Σ_{j ≤ t} dS[t, j] k_j,   dk_j = scale · Σ_{t ≥ j} dS[t, j] q_t,   dv_j = Σ_{t ≥ j} P[t, j] dout_t.
// D_t is recomputed where it is needed (hs multiply-adds per query row and tile), so there is no third kernel.
//
// Two entry points, the same bindings: 0 dout, 1 qkv, 2 out, 3 lse (read), 4 dqkv (read_write), 5 uniform Params.
// Overrides (attentionTiles in src/gpu/ops/attention.ts): HS = hs; RT rows owned by a workgroup (queries for dq,
// keys for dkdv; a power of two ≤ 64 with RT·HS ≤ 1024); ST rows of the streamed tile (keys for dq, queries for
// dkdv). Workgroup: 64 threads; thread (r, g) = (lid / G, lid % G), G = 64/RT, owns dims g, g+G, … of owned row r.
// Workgroup memory (f32): owned rows 2·RT·HSP, streamed rows 2·ST·HSP, pair values RT·STP (dq) or 2·RT·STP (dkdv),
// per-query lse and D 2·64; attentionTiles keeps it ≤ 15 KiB (WebGPU's default limit is 16 KiB). Rows are padded to
// an odd stride (HSP = HS | 1, STP = ST | 1) so that neighbouring threads reading neighbouring rows at one column hit
// different banks of workgroup memory; the padding changes no sum's order, so no result.
//   dq: a workgroup per (query tile of RT rows, b·h), looping over key tiles k0 ≤ its last query.
//          Dispatch (ceil(T / RT), B·H, 1).
//   dkdv:  a workgroup per (key tile of RT keys, b·h), looping over query tiles holding a query ≥ its first key.
//          Dispatch (ceil(T / RT), B·H, 1).
// Each streamed tile: stage rows; barrier; pair values (thread i takes pairs strided by 64, only j ≤ t); barrier;
// accumulate; barrier. No atomics; deterministic (every sum in a fixed order).
// Includes: lib/attention_rows.wgsl (qkvAt), expanded at build time.

override HS: u32;
override RT: u32;
override ST: u32;
override HSP: u32 = HS | 1u; // row stride of the owned and streamed tiles
override STP: u32 = ST | 1u; // row stride of the pair tiles

const WG: u32 = 64u;
const MAX_DIMS: u32 = 16u; // ceil(HS / G) ≤ RT·HS/64 ≤ 16

override G: u32 = WG / RT;
override NDIM: u32 = (HS + G - 1u) / G;

struct Params {
  T: u32,
  C: u32,
  H: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> out: array<f32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> own0: array<f32, RT * HSP>; // dq: q rows;  dkdv: k rows
var<workgroup> own1: array<f32, RT * HSP>; // dq: dout rows; dkdv: v rows
var<workgroup> str0: array<f32, ST * HSP>; // dq: k rows;  dkdv: q rows
var<workgroup> str1: array<f32, ST * HSP>; // dq: v rows;  dkdv: dout rows
var<workgroup> pairP: array<f32, RT * STP>; // dkdv: P[t, j] at [(j − k0)·STP + (t − t0)]
var<workgroup> pairDS: array<f32, RT * STP>; // dS (dq: at [(t − q0)·STP + j − k0]; dkdv: as pairP)
var<workgroup> rowLse: array<f32, 64>; // lse and D of the query rows held (owned or streamed)
var<workgroup> rowD: array<f32, 64>;

#include "lib/attention_rows.wgsl"

// Channel d of head h of position t of sequence b in dout; 0 for t ≥ T.
fn doutAt(b: u32, h: u32, t: u32, d: u32) -> f32 {
  if (t >= p.T) { return 0.0; }
  return dout[(b * p.T + t) * p.C + h * HS + d];
}

// lse_t and D_t = dout_t·out_t of query t (0 for t ≥ T) into slot `slot` of rowLse/rowD.
fn loadQueryStats(slot: u32, t: u32, bh: u32, b: u32, h: u32) {
  var l = 0.0;
  var dd = 0.0;
  if (t < p.T) {
    l = lse[bh * p.T + t];
    let o = (b * p.T + t) * p.C + h * HS;
    for (var d = 0u; d < HS; d++) { dd = fma(dout[o + d], out[o + d], dd); }
  }
  rowLse[slot] = l;
  rowD[slot] = dd;
}

@compute @workgroup_size(64, 1, 1)
fn dq(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = p.T;
  let bh = wg.y;
  let b = bh / p.H;
  let h = bh % p.H;
  let q0 = wg.x * RT;
  let qEnd = min(T, q0 + RT);

  for (var i = lid; i < RT * HS; i += WG) {
    let at = (i / HS) * HSP + i % HS;
    own0[at] = qkvAt(b, h, q0 + i / HS, 0u, i % HS);
    own1[at] = doutAt(b, h, q0 + i / HS, i % HS);
  }
  if (lid < RT) { loadQueryStats(lid, q0 + lid, bh, b, h); }

  let r = lid / G;
  let g = lid % G;
  let t = q0 + r;
  var acc: array<f32, MAX_DIMS>;

  let nTiles = (qEnd + ST - 1u) / ST;
  for (var kt = 0u; kt < nTiles; kt++) {
    let k0 = kt * ST;
    workgroupBarrier();
    for (var i = lid; i < ST * HS; i += WG) {
      let at = (i / HS) * HSP + i % HS;
      str0[at] = qkvAt(b, h, k0 + i / HS, 1u, i % HS);
      str1[at] = qkvAt(b, h, k0 + i / HS, 2u, i % HS);
    }
    workgroupBarrier();
    for (var i = lid; i < RT * ST; i += WG) {
      let rr = i / ST;
      let jj = i % ST;
      if (k0 + jj <= q0 + rr) {
        var qk = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < HS; d++) {
          qk = fma(own0[rr * HSP + d], str0[jj * HSP + d], qk);
          dp = fma(own1[rr * HSP + d], str1[jj * HSP + d], dp);
        }
        let pr = exp(qk * p.scale - rowLse[rr]);
        pairDS[rr * STP + jj] = pr * (dp - rowD[rr]);
      }
    }
    workgroupBarrier();
    if (t < T && t >= k0) {
      let jn = min(ST, t - k0 + 1u);
      for (var j = 0u; j < jn; j++) {
        let ds = pairDS[r * STP + j];
        for (var i = 0u; i < NDIM; i++) {
          let d = g + i * G;
          if (d < HS) { acc[i] = fma(ds, str0[j * HSP + d], acc[i]); }
        }
      }
    }
  }

  if (t < T) {
    let o = (b * T + t) * 3u * p.C + h * HS;
    for (var i = 0u; i < NDIM; i++) {
      let d = g + i * G;
      if (d < HS) { dqkv[o + d] = acc[i] * p.scale; }
    }
  }
}

@compute @workgroup_size(64, 1, 1)
fn dkdv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let T = p.T;
  let bh = wg.y;
  let b = bh / p.H;
  let h = bh % p.H;
  let k0 = wg.x * RT;

  for (var i = lid; i < RT * HS; i += WG) {
    let at = (i / HS) * HSP + i % HS;
    own0[at] = qkvAt(b, h, k0 + i / HS, 1u, i % HS);
    own1[at] = qkvAt(b, h, k0 + i / HS, 2u, i % HS);
  }

  let r = lid / G; // owned key k0 + r
  let g = lid % G;
  let key = k0 + r;
  var dk: array<f32, MAX_DIMS>;
  var dv: array<f32, MAX_DIMS>;

  let firstTile = k0 / ST; // query tiles holding a query ≥ k0
  let nTiles = (T + ST - 1u) / ST;
  for (var qt = firstTile; qt < nTiles; qt++) {
    let t0 = qt * ST;
    workgroupBarrier();
    for (var i = lid; i < ST * HS; i += WG) {
      let at = (i / HS) * HSP + i % HS;
      str0[at] = qkvAt(b, h, t0 + i / HS, 0u, i % HS);
      str1[at] = doutAt(b, h, t0 + i / HS, i % HS);
    }
    if (lid < ST) { loadQueryStats(lid, t0 + lid, bh, b, h); }
    workgroupBarrier();
    for (var i = lid; i < RT * ST; i += WG) {
      let jj = i / ST; // owned key k0 + jj
      let rr = i % ST; // query t0 + rr
      if (k0 + jj <= t0 + rr && t0 + rr < T) {
        var qk = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < HS; d++) {
          qk = fma(str0[rr * HSP + d], own0[jj * HSP + d], qk);
          dp = fma(str1[rr * HSP + d], own1[jj * HSP + d], dp);
        }
        let pr = exp(qk * p.scale - rowLse[rr]);
        pairP[jj * STP + rr] = pr;
        pairDS[jj * STP + rr] = pr * (dp - rowD[rr]);
      }
    }
    workgroupBarrier();
    if (key < T) {
      let rStart = select(0u, key - t0, key > t0);
      let rEnd = min(ST, T - t0);
      for (var rr = rStart; rr < rEnd; rr++) {
        let pr = pairP[r * STP + rr];
        let ds = pairDS[r * STP + rr];
        for (var i = 0u; i < NDIM; i++) {
          let d = g + i * G;
          if (d < HS) {
            dv[i] = fma(pr, str1[rr * HSP + d], dv[i]);
            dk[i] = fma(ds, str0[rr * HSP + d], dk[i]);
          }
        }
      }
    }
  }

  if (key < T) {
    let o = (b * T + key) * 3u * p.C + h * HS;
    for (var i = 0u; i < NDIM; i++) {
      let d = g + i * G;
      if (d < HS) {
        dqkv[o + p.C + d] = dk[i] * p.scale;
        dqkv[o + 2u * p.C + d] = dv[i];
      }
    }
  }
}

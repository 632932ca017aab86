// sample_tokens.wgsl — next-token sampling for generation, one workgroup per row, plus the step counter.
//
// The rules and their order are src/cpu/sampling.ts's (the reference): (1) stop-token logit bias while thinking, then
// stop-logit TS: x[stop] ← (x[stop] + bias) / τ_z (τ_z = stopLogitTemperature, 1 = off); the margin rule reads
// margin = max_i x_i − x[stop] here,
// (2) softmax at temperature T (T = 0: greedy, computed at T = 1), (3) stop-token temperature τ while thinking,
// (4) top-k (ties → lower id), (5) top-p on the distribution renormalised after top-k, renormalise,
// (6) inverse-CDF over ids ascending with u = uniformFor(seed, pos, row) (PCG hash below, same as the CPU's).
// Then the emitted token y (s1 budget forcing; decodeStepRow in the reference), in order: (E1) forced[b, pos+1] ≥ 0
// (prompt prefill); (E2) else pendingIndex > 0: extensionIds[pendingIndex], pendingIndex ← pendingIndex + 1, or 0
// past the last id; (E3) else thinking and cap > 0 and thinkingTokens ≥ cap: thinkEndId; (E3b) else the margin rule:
// thinking and stop ≥ 0 and δ = stopMarginNats > 0 and (stopMarginBoundaryId < 0 or tokens[b, pos] ==
// stopMarginBoundaryId) and margin < δ: stopTokenId; (E4) else the sample x,
// except that thinking and x == thinkEndId and thinkingTokens < minThinkingTokens and extensionsUsed < maxExtensions
// emit extensionIds[0] instead (extensionsUsed += 1, pendingIndex ← 1 if extensionCount > 1 else 0). E3 and E4 need
// thinkEndId ≥ 0 (and thinking needs thinkStartId ≥ 0); cap = 0 and minThinkingTokens = 0 turn them off.
//
// Shapes and bindings (row-major):
//   0 logits   [B, V] f32 (read)         logits of the current position pos of each row, V ≤ 1024.
//   1 state    [B, 4] u32 (read_write)   per row (flag, thinkingTokens, extensionsUsed, pendingIndex); flag = 1 inside
//                                        a thinking span. After emitting y: y == thinkStartId → flag = 1,
//                                        thinkingTokens = 0; y == thinkEndId → flag = 0; else if flag, thinkingTokens
//                                        += 1. extensionsUsed and pendingIndex change only by rules E2 and E4.
//   2 forced   [B, Tmax] i32 (read)      forced[b, pos+1] ≥ 0: emit that token instead of sampling (prompt prefill);
//                                        −1: rules E2–E4.
//   3 tokens   [B, Tmax] u32 (read_write) tokens[b, pos+1] ← the token.
//   4 logprobs [B, Tmax] f32 (read_write) logprobs[b, pos+1] ← log q[token] under the final distribution q (for greedy,
//                                        q computed at T = 1), whichever rule chose it; q = 0 (or token ≥ V) gets −∞.
//   5 step     [1], [2], [≥ 2 + 2B] or [≥ 2 + 3B] u32 (read_write) (lib/decode_position.wgsl): pos, the position
//                                        whose logits these are, is step[0] (from 2 + 3B elements, plus row b's offset
//                                        step[2 + 2B + b]: rows at different positions); from 2 elements, step[1] is
//                                        added to the seed (so a new generation needs only a buffer write); from 2 + 2B,
//                                        row b draws from its own stream instead: (seed, row) = (step[2 + 2b],
//                                        step[3 + 2b]) in the hash below, so a prompt's random numbers need not depend
//                                        on the row it was given.
//   6 probs    [B, V] f32 (read_write)   debug: the final distribution q, written only when WRITE_PROBS == 1
//                                        (bind any buffer otherwise).
//   7 uniform Params (budget: thinkingCapTokens, minThinkingTokens, maxExtensions, extensionCount ≤ 8 and the ids
//                                        packed 4 per vec4: id k = extensionIds[k / 4][k % 4]).
// Nothing is written in row b when its pos + 1 ≥ Tmax.
// Entry points:
//   main:         workgroup of WG threads per row (each thread owns ids lid + WG·r, r < 4, so V ≤ 4·WG);
//                 workgroup reductions, an O(V²/WG) rank count for top-k/top-p, workgroup prefix sums over 4·WG ids.
//                 Dispatch (B, 1, 1). WG (override, a power of two, 32 to 256) is chosen from V by the host
//                 (samplingWorkgroupSize): threads past the vocabulary would only wait at every barrier.
//   advance_step: 1 thread: step[0] ← step[0] + 1. Dispatch (1, 1, 1) after main (and after everything else of the
//                 step), so a whole generation is one command buffer.
// Includes: lib/reduce.wgsl (reduceMax, reduceSum over `red`), lib/reduce_u32.wgsl (reduceMaxU, reduceSumU over
// `redU`) and lib/decode_position.wgsl (decodePosition), expanded at build time.
// Random numbers: pcg(x) = PCG-RXS-M-XS 32; h = pcg(pcg(pcg(seed) ^ pos) ^ row); u = f32(h >> 8) / 2²⁴ in [0, 1), with
// (seed, row) = (p.seed + step[1], b), or row b's stream from `step` (binding 5).

override WRITE_PROBS: u32 = 0u;

struct Params {
  B: u32,
  V: u32,
  Tmax: u32,
  seed: u32,
  temperature: f32,
  topK: u32,
  topP: f32,
  stopTokenId: i32,
  stopTemperature: f32,
  stopLogitBias: f32,
  thinkStartId: i32,
  thinkEndId: i32,
  negInfBits: u32, // 0xff800000: −∞ for log 0, produced at run time (a constant infinity is a shader-creation error)
  thinkingCapTokens: u32,
  minThinkingTokens: u32,
  maxExtensions: u32,
  extensionCount: u32,
  stopLogitTemperature: f32, // τ_z of stop-logit TS (1 = off)
  stopMarginNats: f32, // δ of the margin rule (0 = off)
  stopMarginBoundaryId: i32, // the margin rule only after this token (−1 = every token); extensionIds starts at word 20
  extensionIds: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@group(0) @binding(2) var<storage, read> forced: array<i32>;
@group(0) @binding(3) var<storage, read_write> tokens: array<u32>;
@group(0) @binding(4) var<storage, read_write> logprobs: array<f32>;
@group(0) @binding(5) var<storage, read_write> step: array<u32>;
@group(0) @binding(6) var<storage, read_write> probs: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

override WG: u32 = 256u; // threads per row, a power of two in [32, 256] with V ≤ PER · WG
const PER: u32 = 4u; // ids per thread
const MAXV: u32 = 1024u; // PER · the largest WG: the size of the workgroup arrays

var<workgroup> q: array<f32, 1024>; // probabilities by id
var<workgroup> sc: array<f32, 1024>; // scan buffer
var<workgroup> red: array<f32, 256>;
var<workgroup> redU: array<u32, 256>;
var<workgroup> shU: u32;
var<workgroup> shI: i32;
var<workgroup> shStop: f32; // the stop token's logit after step (1)

fn pcg(x: u32) -> u32 {
  let state = x * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn extensionId(k: u32) -> u32 {
  let i = min(k, 7u);
  return p.extensionIds[i / 4u][i % 4u];
}

#include "lib/reduce.wgsl"
#include "lib/reduce_u32.wgsl"
#include "lib/decode_position.wgsl"

// Inclusive prefix sum of sc[0..4·WG) in place (callers zero-fill beyond V). Thread lid owns sc[4·lid .. 4·lid+4).
fn scanInclusive(lid: u32) {
  let b = lid * PER;
  var run = 0.0;
  for (var k = 0u; k < PER; k++) {
    run += sc[b + k];
    sc[b + k] = run;
  }
  red[lid] = run;
  workgroupBarrier();
  // Hillis–Steele inclusive scan of the 256 chunk totals.
  for (var off = 1u; off < WG; off <<= 1u) {
    var v = red[lid];
    if (lid >= off) { v += red[lid - off]; }
    workgroupBarrier();
    red[lid] = v;
    workgroupBarrier();
  }
  var before = 0.0;
  if (lid > 0u) { before = red[lid - 1u]; }
  for (var k = 0u; k < PER; k++) { sc[b + k] += before; }
  workgroupBarrier();
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x;
  let V = p.V;
  if (lid == 0u) { shU = decodePosition(min(row, p.B - 1u), p.B); }
  let pos = workgroupUniformLoad(&shU);
  if (pos + 1u >= p.Tmax || row >= p.B) { return; }
  let outIdx = row * p.Tmax + pos + 1u;

  // The stop rules apply only while thinking; broadcast so branches on it stay workgroup-uniform.
  if (lid == 0u) {
    var stop = -1;
    if (state[row * 4u] != 0u && p.stopTokenId >= 0 && u32(p.stopTokenId) < V) { stop = p.stopTokenId; }
    shI = stop;
  }
  let stop = workgroupUniformLoad(&shI);

  // (1) logit bias, (2) softmax at temperature.
  let invT = select(1.0, 1.0 / p.temperature, p.temperature > 0.0);
  var x: array<f32, 4>;
  var mx = -3.0e38;
  for (var r = 0u; r < PER; r++) {
    let i = lid + r * WG;
    var v = -3.0e38;
    if (i < V) {
      v = logits[row * V + i];
      if (i32(i) == stop) {
        v = (v + p.stopLogitBias) / p.stopLogitTemperature;
        shStop = v;
      }
      mx = max(mx, v);
    }
    x[r] = v;
  }
  let m = reduceMax(mx, lid);
  var sum = 0.0;
  for (var r = 0u; r < PER; r++) {
    let i = lid + r * WG;
    var e = 0.0;
    if (i < V) { e = exp((x[r] - m) * invT); }
    x[r] = e;
    sum += e;
  }
  let invS = 1.0 / reduceSum(sum, lid);
  for (var r = 0u; r < PER; r++) { q[lid + r * WG] = x[r] * invS; }
  workgroupBarrier();

  // (3) stop-token temperature τ: p' = σ(logit(p)/τ), the others scaled by (1 − p')/(1 − p).
  if (stop >= 0 && p.stopTemperature != 1.0) {
    let ps = q[u32(stop)];
    workgroupBarrier();
    if (ps > 0.0) {
      var pNew = 1.0;
      var f = 0.0;
      if (ps < 1.0) {
        let z = clamp((log(ps) - log(1.0 - ps)) / p.stopTemperature, -80.0, 80.0);
        pNew = 1.0 / (1.0 + exp(-z));
        f = (1.0 - pNew) / (1.0 - ps);
      }
      for (var r = 0u; r < PER; r++) {
        let i = lid + r * WG;
        if (i32(i) == stop) { q[i] = pNew; } else { q[i] = q[i] * f; }
      }
    }
    workgroupBarrier();
  }

  // (4) top-k, (5) top-p, by rank: rank_i = #{j : q_j > q_i or (q_j == q_i and j < i)} (a permutation of 0..V-1).
  let useK = p.topK > 0u && p.topK < V;
  let useP = p.topP < 1.0;
  if (useK || useP) {
    var rank: array<u32, 4>;
    var mine: array<f32, 4>;
    for (var r = 0u; r < PER; r++) {
      let i = lid + r * WG;
      var rk = 0u;
      if (i < V) {
        let qi = q[i];
        for (var j = 0u; j < V; j++) {
          let qj = q[j];
          if (qj > qi || (qj == qi && j < i)) { rk++; }
        }
      }
      rank[r] = rk;
      mine[r] = q[i];
    }
    workgroupBarrier();
    for (var r = 0u; r < PER; r++) {
      let i = lid + r * WG;
      if (useK && i < V && rank[r] >= p.topK) { mine[r] = 0.0; }
      q[i] = mine[r];
      sc[i] = 0.0;
    }
    workgroupBarrier();
    if (useP) {
      for (var r = 0u; r < PER; r++) {
        let i = lid + r * WG;
        if (i < V) { sc[rank[r]] = mine[r]; }
      }
      workgroupBarrier();
      scanInclusive(lid); // sc[r] = mass of the r+1 most probable tokens (after top-k)
      let bound = p.topP * sc[PER * WG - 1u];
      for (var r = 0u; r < PER; r++) {
        let i = lid + r * WG;
        if (i < V) {
          var before = 0.0;
          if (rank[r] > 0u) { before = sc[rank[r] - 1u]; }
          if (!(before < bound)) { q[i] = 0.0; }
        }
      }
      workgroupBarrier();
    }
  }

  // (6) cumulative mass over ids ascending.
  for (var r = 0u; r < PER; r++) { sc[lid + r * WG] = q[lid + r * WG]; }
  workgroupBarrier();
  scanInclusive(lid);
  let z = sc[PER * WG - 1u];

  var token = 0u;
  if (p.temperature > 0.0) {
    var seed = p.seed;
    var stream = row;
    let stepWords = arrayLength(&step);
    if (stepWords >= 2u + 2u * p.B) {
      seed = step[2u + 2u * row];
      stream = step[3u + 2u * row];
    } else if (stepWords >= 2u) {
      seed += step[1];
    }
    let h = pcg(pcg(pcg(seed) ^ pos) ^ stream);
    let u = f32(h >> 8u) * (1.0 / 16777216.0);
    let goal = u * z;
    var cnt = 0u;
    var last = 0u;
    for (var r = 0u; r < PER; r++) {
      let i = lid + r * WG;
      if (i < V) {
        if (sc[i] <= goal) { cnt++; }
        if (q[i] > 0.0) { last = max(last, i); }
      }
    }
    let count = reduceSumU(cnt, lid);
    let lastId = reduceMaxU(last, lid);
    token = select(lastId, count, count < V);
  } else {
    // argmax, ties → lowest id: maximise q, then minimise the id (encoded as MAXV − id).
    var best = -1.0;
    var bestId = 0u;
    for (var r = 0u; r < PER; r++) {
      let i = lid + r * WG;
      if (i < V && q[i] > best) {
        best = q[i];
        bestId = i;
      }
    }
    let bmax = reduceMax(best, lid);
    var cand = 0u;
    if (best == bmax) { cand = MAXV - bestId; }
    token = MAXV - reduceMaxU(cand, lid);
  }

  if (WRITE_PROBS == 1u) {
    for (var r = 0u; r < PER; r++) {
      let i = lid + r * WG;
      if (i < V) { probs[row * V + i] = q[i] / z; }
    }
  }

  if (lid == 0u) {
    let sb = row * 4u;
    var flag = state[sb];
    var thinkingTokens = state[sb + 1u];
    var extensionsUsed = state[sb + 2u];
    var pending = state[sb + 3u];
    let budgetOn = flag != 0u && p.thinkEndId >= 0;
    let f = forced[outIdx];
    if (f >= 0) {
      token = u32(f);
    } else if (pending > 0u) {
      token = extensionId(pending);
      pending = select(0u, pending + 1u, pending + 1u < p.extensionCount);
    } else if (budgetOn && p.thinkingCapTokens > 0u && thinkingTokens >= p.thinkingCapTokens) {
      token = u32(p.thinkEndId);
    } else if (stop >= 0 && p.stopMarginNats > 0.0 &&
               (p.stopMarginBoundaryId < 0 || i32(tokens[outIdx - 1u]) == p.stopMarginBoundaryId) &&
               m - shStop < p.stopMarginNats) {
      token = u32(stop);
    } else if (budgetOn && i32(token) == p.thinkEndId && thinkingTokens < p.minThinkingTokens &&
               extensionsUsed < p.maxExtensions && p.extensionCount > 0u) {
      token = extensionId(0u);
      extensionsUsed += 1u;
      pending = select(0u, 1u, p.extensionCount > 1u);
    }
    var lp = bitcast<f32>(p.negInfBits);
    if (token < V && q[token] > 0.0) { lp = log(q[token]) - log(z); }
    tokens[outIdx] = token;
    logprobs[outIdx] = lp;
    if (i32(token) == p.thinkStartId) {
      flag = 1u;
      thinkingTokens = 0u;
    } else if (i32(token) == p.thinkEndId) {
      flag = 0u;
    } else if (flag != 0u) {
      thinkingTokens += 1u;
    }
    state[sb] = flag;
    state[sb + 1u] = thinkingTokens;
    state[sb + 2u] = extensionsUsed;
    state[sb + 3u] = pending;
  }
}

@compute @workgroup_size(1, 1, 1)
fn advance_step() {
  let s = step[0];
  step[0] = s + 1u;
  if (s == 0xfffffffeu && p.B == 0u) {
    // Never reached in practice; keeps every binding in this entry point's layout (shared with `main`).
    tokens[0] = u32(forced[0]) + state[0] + u32(logits[0]);
    logprobs[0] = probs[0];
  }
}

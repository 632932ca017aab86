// crossentropy_forward_backward.wgsl — fused softmax cross-entropy forward + backward, and the weighted loss sum.
//
// Shapes: logits [N, V] (row-major), targets [N] i32 (−1 = ignore the row), weights [N] f32, losses [N], total [1].
// Entry points:
//   main:        one workgroup of 64 threads per row i, workgroup reductions for the max and the sum of exp:
//                  losses[i] = logsumexp(logits_i) − logits_i[target_i]               (unweighted; 0 if ignored)
//                  logits_i ← weights[i] · (softmax(logits_i) − onehot(target_i))      (0 if ignored)
//                IN PLACE: logits is overwritten with dlogits (the logits are not needed after the loss).
//                A target outside [−1, V) is a caller bug; the row is then treated as ignored.
//                Dispatch (rowsX, ceil(N / rowsX), 1) with rowsX = min(N, maxComputeWorkgroupsPerDimension);
//                row = wg.y · rowsX + wg.x.
//   reduce_loss: one workgroup of 256 threads: total[0] = Σ_i weights[i] · losses[i] (f32, fixed-order tree, so
//                deterministic). Dispatch (1, 1, 1), after main.
// Bindings (both entry points): 0 logits (read_write), 1 targets (read), 2 weights (read), 3 losses (read_write),
//           4 total (read_write), 5 uniform Params.
// Includes: lib/reduce.wgsl (reduceMax, reduceSum over `red`; main's reductions), expanded at build time.

struct Params {
  N: u32,
  V: u32,
  rowsX: u32,
}

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<storage, read_write> total: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

const WG: u32 = 64u;
var<workgroup> red: array<f32, 256>;

#include "lib/reduce.wgsl"

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * p.rowsX + wg.x;
  if (row >= p.N) { return; }
  if (p.V == 0u) { total[0] = 0.0; } // never true (V ≥ 1); keeps `total` in this entry point's layout
  let V = p.V;
  let base = row * V;
  let tgt = targets[row];
  let ignore = tgt < 0 || tgt >= i32(V);
  var mx = -3.0e38;
  for (var v = lid; v < V; v += WG) { mx = max(mx, logits[base + v]); }
  let m = reduceMax(mx, lid);
  var sum = 0.0;
  for (var v = lid; v < V; v += WG) { sum += exp(logits[base + v] - m); }
  let s = reduceSum(sum, lid);
  if (lid == 0u) {
    var loss = 0.0;
    if (!ignore) { loss = log(s) + m - logits[base + u32(tgt)]; }
    losses[row] = loss;
  }
  // Every thread has read what it needs of the row only from its own strided elements, except thread 0 above, which
  // read logits[target]: wait for it before the row is overwritten.
  workgroupBarrier();
  let wgt = weights[row];
  let inv = 1.0 / s;
  for (var v = lid; v < V; v += WG) {
    var g = exp(logits[base + v] - m) * inv;
    if (i32(v) == tgt) { g -= 1.0; }
    if (ignore) { g = 0.0; }
    logits[base + v] = wgt * g;
  }
}

@compute @workgroup_size(256, 1, 1)
fn reduce_loss(@builtin(local_invocation_index) lid: u32) {
  if (p.V == 0u) { logits[0] = f32(targets[0]); } // never true; keeps the shared layout
  var acc = 0.0;
  for (var i = lid; i < p.N; i += 256u) { acc = fma(weights[i], losses[i], acc); }
  red[lid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { total[0] = red[0]; }
}

// layernorm_forward.wgsl — out = (x − mean)·rstd·weight + bias over the last dimension, biased variance (PyTorch).
//
// Shapes (row-major): inp [N, C], weight [C], bias [C], out [N, C], mean [N], rstd [N]; rstd = 1/√(var + eps).
// Bindings: 0 inp (read), 1 weight (read), 2 bias (read), 3 out (read_write), 4 mean (read_write),
//           5 rstd (read_write), 6 uniform Params { N, C, eps }.
// Workgroup: 32×8 threads = 8 rows per workgroup, 32 threads per row striding over C (coalesced); two passes over the
//   row (mean, then Σ(x − mean)², which is more accurate than E[x²] − mean²), each reduced in workgroup memory.
// Dispatch: ceil(N/8) workgroups, laid out as a 2D grid (x ≤ 65535, y = ceil(count/x)); rows ≥ N do nothing.
// Entry point `serial`, for a CPU adapter (SwiftShader): one invocation per row, 4 a workgroup, the same two passes
//   summed in column order, no workgroup memory and no barrier (`main` has 14 barriers a workgroup, and a software
//   adapter runs a workgroup's invocations as fibres that each barrier switches). Dispatch: ceil(N/4) workgroups on the
//   same 2D grid.

struct Params { N: u32, C: u32, eps: f32, _pad: u32 }

@group(0) @binding(0) var<storage, read> inp: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

const LANES: u32 = 32u;
const ROWS: u32 = 8u;

var<workgroup> red: array<f32, 256>; // [ROWS][LANES]

// Sums `v` over the 32 lanes of row-slot `ly`; every lane gets the total. Called uniformly by the whole workgroup.
// The first barrier keeps this call's writes from overtaking the previous call's reads of `red`. It stands at the
// start rather than after the final read (`let t = red[..]; workgroupBarrier(); return t;`): that equivalent form
// returned wrong variances on Dawn's OpenGL ES backend with Mesa llvmpipe (the read was evidently moved past the
// barrier), and the layernorm tests caught it there.
fn rowSum(v: f32, lx: u32, ly: u32) -> f32 {
  workgroupBarrier();
  red[ly * LANES + lx] = v;
  workgroupBarrier();
  for (var s = LANES / 2u; s > 0u; s >>= 1u) {
    if (lx < s) { red[ly * LANES + lx] += red[ly * LANES + lx + s]; }
    workgroupBarrier();
  }
  return red[ly * LANES];
}

// A row's share of the work for the thread owning columns c0, c0 + stride, … (`main`: a lane, stride LANES; `serial`:
// the whole row, stride 1), in column order: Σ x, then Σ (x − m)², then the normalised output.
fn partSum(base: u32, c0: u32, stride: u32) -> f32 {
  var s = 0.0;
  for (var c = c0; c < p.C; c += stride) { s += inp[base + c]; }
  return s;
}

fn partSquares(base: u32, m: f32, c0: u32, stride: u32) -> f32 {
  var v = 0.0;
  for (var c = c0; c < p.C; c += stride) {
    let d = inp[base + c] - m;
    v = fma(d, d, v);
  }
  return v;
}

fn writeNormalised(base: u32, m: f32, rs: f32, c0: u32, stride: u32) {
  for (var c = c0; c < p.C; c += stride) {
    out[base + c] = fma((inp[base + c] - m) * rs, weight[c], bias[c]);
  }
}

@compute @workgroup_size(32, 8, 1)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let row = (wg.y * nwg.x + wg.x) * ROWS + lid.y;
  let valid = row < p.N;
  let C = p.C;
  let base = row * C;

  var s = 0.0;
  if (valid) { s = partSum(base, lid.x, LANES); }
  let m = rowSum(s, lid.x, lid.y) / f32(C);

  var v = 0.0;
  if (valid) { v = partSquares(base, m, lid.x, LANES); }
  let rs = inverseSqrt(rowSum(v, lid.x, lid.y) / f32(C) + p.eps);

  if (!valid) { return; }
  writeNormalised(base, m, rs, lid.x, LANES);
  if (lid.x == 0u) {
    mean[row] = m;
    rstd[row] = rs;
  }
}

const SERIAL_ROWS: u32 = 4u;

@compute @workgroup_size(SERIAL_ROWS, 1, 1)
fn serial(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = (wg.y * nwg.x + wg.x) * SERIAL_ROWS + lid;
  if (row >= p.N) { return; }
  let C = p.C;
  let base = row * C;
  let m = partSum(base, 0u, 1u) / f32(C);
  let rs = inverseSqrt(partSquares(base, m, 0u, 1u) / f32(C) + p.eps);
  writeNormalised(base, m, rs, 0u, 1u);
  mean[row] = m;
  rstd[row] = rs;
}

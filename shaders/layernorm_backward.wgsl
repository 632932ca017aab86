// layernorm_backward.wgsl — gradients of layernorm_forward.wgsl. Two entry points:
//
// `dinp` (per row): xhat = (x − mean)·rstd, dnorm = dout·weight,
//     dinp = rstd·(dnorm − mean_c(dnorm) − xhat·mean_c(dnorm·xhat))     (dinp += … when ACCUMULATE == 1)
//   Workgroup 32×8: 8 rows per workgroup, 32 lanes per row; dispatch ceil(N/8) workgroups as a 2D grid.
// `dinp_serial`, for a CPU adapter (SwiftShader): the same per row, one invocation per row, 4 a workgroup, sums in
//   column order, no barrier (a software adapter runs a workgroup's invocations as fibres that each barrier switches);
//   dispatch ceil(N/4) workgroups as a 2D grid.
//
// `dparams` (stage 1 of the column reduction): for row chunk k (rows [k·rowsPerChunk, (k+1)·rowsPerChunk) ∩ [0, N))
//     partW[k, c] = Σ dout·xhat,  partB[k, c] = Σ dout
//   written to scratch: partW at scratch[k·C + c], partB at scratch[bOffset + k·C + c].
//   Workgroup 64×4: 64 consecutive columns (coalesced row reads) × 4 row lanes, reduced over the lanes in workgroup
//   memory. Dispatch (ceil(C/64), chunks, 1). Stage 2 (Σ over k into dweight/dbias) is sum_slices.wgsl, twice.
//
// Shapes: dout/inp/dinp [N, C], weight [C], mean/rstd [N], scratch ≥ bOffset + chunks·C.
// Bindings: 0 dout (read), 1 inp (read), 2 weight (read), 3 mean (read), 4 rstd (read),
//           5 dst (read_write: dinp for `dinp`, scratch for `dparams`),
//           6 uniform Params { N, C, rowsPerChunk, bOffset }.
//   Both entry points use every binding (`dparams` reads weight only in a dead branch so the layouts agree).
// Overrides: ACCUMULATE (dinp only).

override ACCUMULATE: u32 = 0u;

struct Params { N: u32, C: u32, rowsPerChunk: u32, bOffset: u32 }

@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> inp: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

const LANES: u32 = 32u;
const ROWS: u32 = 8u;

var<workgroup> red: array<f32, 512>;

// Sums a and b over the 32 lanes of row-slot ly (two reductions at once); every lane gets both totals.
fn rowSum2(a: f32, b: f32, lx: u32, ly: u32) -> vec2<f32> {
  workgroupBarrier(); // first, not after the final read: see rowSum in layernorm_forward.wgsl
  let i = ly * LANES + lx;
  red[i] = a;
  red[256u + i] = b;
  workgroupBarrier();
  for (var s = LANES / 2u; s > 0u; s >>= 1u) {
    if (lx < s) {
      red[i] += red[i + s];
      red[256u + i] += red[256u + i + s];
    }
    workgroupBarrier();
  }
  return vec2<f32>(red[ly * LANES], red[256u + ly * LANES]);
}

// A row's share of dinp for the thread owning columns c0, c0 + stride, … (`dinp`: a lane, stride LANES;
// `dinp_serial`: the whole row, stride 1), in column order: (Σ dnorm, Σ dnorm·xhat), then dinp from the row's means.
fn partSums(base: u32, m: f32, rs: f32, c0: u32, stride: u32) -> vec2<f32> {
  var sumD = 0.0;
  var sumDX = 0.0;
  for (var c = c0; c < p.C; c += stride) {
    let xhat = (inp[base + c] - m) * rs;
    let dn = dout[base + c] * weight[c];
    sumD += dn;
    sumDX = fma(dn, xhat, sumDX);
  }
  return vec2<f32>(sumD, sumDX);
}

fn writeDinp(base: u32, m: f32, rs: f32, meanD: f32, meanDX: f32, c0: u32, stride: u32) {
  for (var c = c0; c < p.C; c += stride) {
    let xhat = (inp[base + c] - m) * rs;
    let dn = dout[base + c] * weight[c];
    var g = rs * (dn - meanD - xhat * meanDX);
    if (ACCUMULATE == 1u) { g += dst[base + c]; }
    dst[base + c] = g;
  }
}

@compute @workgroup_size(32, 8, 1)
fn dinp(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let row = (wg.y * nwg.x + wg.x) * ROWS + lid.y;
  let valid = row < p.N;
  let C = p.C;
  let base = row * C;
  var m = 0.0;
  var rs = 0.0;
  var part = vec2<f32>(0.0);
  if (valid) {
    m = mean[row];
    rs = rstd[row];
    part = partSums(base, m, rs, lid.x, LANES);
  }
  let sums = rowSum2(part.x, part.y, lid.x, lid.y);
  if (!valid) { return; }
  writeDinp(base, m, rs, sums.x / f32(C), sums.y / f32(C), lid.x, LANES);
}

const SERIAL_ROWS: u32 = 4u;

@compute @workgroup_size(SERIAL_ROWS, 1, 1)
fn dinp_serial(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = (wg.y * nwg.x + wg.x) * SERIAL_ROWS + lid;
  if (row >= p.N) { return; }
  let C = p.C;
  let base = row * C;
  let m = mean[row];
  let rs = rstd[row];
  let sums = partSums(base, m, rs, 0u, 1u);
  writeDinp(base, m, rs, sums.x / f32(C), sums.y / f32(C), 0u, 1u);
}

@compute @workgroup_size(64, 4, 1)
fn dparams(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let C = p.C;
  let c = wg.x * 64u + lid.x;
  let k = wg.y;
  let rowStart = k * p.rowsPerChunk;
  let rowEnd = min(p.N, rowStart + p.rowsPerChunk);
  var sw = 0.0;
  var sb = 0.0;
  if (c < C) {
    for (var r = rowStart + lid.y; r < rowEnd; r += 4u) {
      let d = dout[r * C + c];
      let xhat = (inp[r * C + c] - mean[r]) * rstd[r];
      sw = fma(d, xhat, sw);
      sb += d;
    }
  }
  let i = lid.y * 64u + lid.x;
  red[i] = sw;
  red[256u + i] = sb;
  workgroupBarrier();
  if (lid.y == 0u && c < C) {
    let w = red[lid.x] + red[64u + lid.x] + red[128u + lid.x] + red[192u + lid.x];
    let b = red[256u + lid.x] + red[320u + lid.x] + red[384u + lid.x] + red[448u + lid.x];
    dst[k * C + c] = w;
    dst[p.bOffset + k * C + c] = b;
  }
  // Keep `weight` statically used so both entry points have the same auto layout.
  if (p.C == 0xffffffffu) { dst[0] = weight[0]; }
}

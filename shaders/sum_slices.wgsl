// sum_slices.wgsl — out[i] = Σ_s parts[s·len + i] (+ bias[i % biasLen]) (+ out[i] when ACCUMULATE == 1).
// Reduces the partial products of a split-K matmul.
//
// Bindings: 0 parts [slices, len] (read), 1 out [len] (read_write), 2 bias (read; any buffer when HAS_BIAS == 0),
//           3 uniform Params { len, slices, biasLen }.
// Overrides: HAS_BIAS, ACCUMULATE.
// Workgroup: 256 threads, one element each; dispatch (ceil(len/256), 1, 1) — len up to 256·65535.

override HAS_BIAS: u32 = 0u;
override ACCUMULATE: u32 = 0u;

struct Params { len: u32, slices: u32, biasLen: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> parts: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.len) { return; }
  var s = 0.0;
  for (var k = 0u; k < p.slices; k++) { s += parts[k * p.len + i]; }
  if (HAS_BIAS == 1u) { s += bias[i % p.biasLen]; }
  if (ACCUMULATE == 1u) { s += out[i]; }
  out[i] = s;
  if (HAS_BIAS == 2u) { out[0] = bias[0]; }
}

// matmul_dot.wgsl — C = A · Wᵀ (+ bias) (+ a residual, or a GELU output), f32, for a CPU adapter (SwiftShader,
// llvmpipe): a Linear layer's forward with no workgroup memory and no barrier. A software adapter runs a workgroup's
// invocations as fibres on a CPU core and pays for every barrier and every invocation, while the core's caches do the
// staging the tiled kernels (matmul.wgsl, matmul_vec4.wgsl) do in workgroup memory. Here each invocation owns one row
// m of C and 4 neighbouring columns n0 .. n0 + 3 and walks all of K alone: acc[j] += dot(A[m, k..k+3],
// W[n0 + j, k..k+3]) in vec4 steps of k, each vec4 of A read once for 4 columns. The sum runs over k ascending in
// groups of 4 (added by dot); the tiled kernels' order differs, so results agree to f32 rounding, not bit for bit.
//
// Shapes (row-major): A [M, K], W [N, K] (a PyTorch Linear weight), C [M, N], bias [N]. K % 4 == 0 (checked by
// src/gpu/ops/matmul.ts); M and N are free (columns past N read row N − 1 and are not stored).
// Bindings: those of matmul_rows.wgsl: 0 a (read, vec4), 1 w (read, vec4), 2 c (read_write), 3 bias [N] (read; any
//           buffer when the bias flag is off), 4 g [M, N] (read_write; the GELU output with the GELU flag, the residual
//           read with the residual flag, any other writable buffer otherwise), 5 uniform Params.
// Flags (Params.flags, read at run time: on a CPU adapter a pipeline compiles for most of a second and a branch on a
//        uniform costs next to nothing, so one pipeline serves every variant; the bits of matmul.wgsl's DYNAMIC_FLAGS):
//        bit 2 bias, bit 4 GELU (C gets the pre-activation and g = gelu(C), exactly as shaders/gelu_forward.wgsl),
//        bit 5 residual (C = (product + bias) + g, the order of the tiled kernels' epilogue). No accumulate, no split-K.
// Workgroup: 64 invocations; invocation i of the dispatch owns row i / ceil(N / 4), columns 4 · (i % ceil(N / 4)) + j.
// Dispatch (ceil(M · ceil(N / 4) / 64), 1, 1).
// Includes: lib/gelu.wgsl (gelu), expanded at build time.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  flags: u32,
}

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> g: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

const WG: u32 = 64u;
#include "lib/gelu.wgsl"

fn flag(bit: u32) -> bool { return ((p.flags >> bit) & 1u) == 1u; }

fn store(m: u32, n: u32, product: f32) {
  if (n >= p.N) { return; }
  var v = product;
  if (flag(2u)) { v += bias[n]; }
  let idx = m * p.N + n;
  if (flag(5u)) { v += g[idx]; }
  c[idx] = v;
  if (flag(4u)) {
    g[idx] = gelu(v);
  }
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let blocks = (p.N + 3u) / 4u;
  let m = gid.x / blocks;
  let n0 = (gid.x % blocks) * 4u;
  if (m >= p.M) { return; }
  let K4 = p.K / 4u;
  let w0 = min(n0, p.N - 1u) * K4;
  let w1 = min(n0 + 1u, p.N - 1u) * K4;
  let w2 = min(n0 + 2u, p.N - 1u) * K4;
  let w3 = min(n0 + 3u, p.N - 1u) * K4;
  let row = m * K4;
  var acc = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < K4; k4++) {
    let av = a[row + k4];
    acc += vec4<f32>(dot(av, w[w0 + k4]), dot(av, w[w1 + k4]), dot(av, w[w2 + k4]), dot(av, w[w3 + k4]));
  }
  store(m, n0, acc.x);
  store(m, n0 + 1u, acc.y);
  store(m, n0 + 2u, acc.z);
  store(m, n0 + 3u, acc.w);
}

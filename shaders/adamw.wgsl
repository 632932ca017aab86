// adamw.wgsl — one AdamW step over a flat parameter buffer (PyTorch torch.optim.AdamW semantics, amsgrad off):
//   g = grad·scale                                (scale = clip[1], the global_norm.wgsl output, when HAS_CLIP)
//   p ← p − lr·wd·p                               (only where the decay-mask bit is 1, or everywhere without a mask)
//   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − lr·(m / bc1) / (√(v / bc2) + eps),    bc1 = 1 − β1^step, bc2 = 1 − β2^step
//
// Shapes: params, grads, m, v [n] (one flat layout shared by all four); maskBits [ceil(n/32)] u32, bit (i & 31) of
//   word i >> 5 set = decay element i; hyper [8] f32 { lr, beta1, beta2, eps, weightDecay, bc1, bc2, _ } rewritten by
//   the CPU each step with queue.writeBuffer (so the prepared dispatch is reused); clip [≥ 2] = [norm, scale].
// Bindings: 0 params (read_write), 1 grads (read), 2 m (read_write), 3 v (read_write), 4 maskBits (read, u32),
//           5 hyper (read), 6 clip (read), 7 uniform Params { n }.
// Overrides: HAS_MASK (0: decay every element; maskBits is then any buffer), HAS_CLIP (0: scale 1; clip is any buffer).
// Workgroup: 256 threads, one element each. Dispatch ceil(n/256) workgroups as a 2D grid (x ≤ 65535).

override HAS_MASK: u32 = 1u;
override HAS_CLIP: u32 = 1u;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read_write> params: array<f32>;
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> maskBits: array<u32>;
@group(0) @binding(5) var<storage, read> hyper: array<f32, 8>;
@group(0) @binding(6) var<storage, read> clip: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;

@compute @workgroup_size(256, 1, 1)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let i = (wg.y * nwg.x + wg.x) * 256u + lid.x;
  // Keep every binding statically used in every variant so the auto layout always has all of them.
  if (HAS_MASK == 2u) { params[0] = f32(maskBits[0]); }
  if (HAS_CLIP == 2u) { params[0] = clip[0]; }
  if (i >= p.n) { return; }
  let lr = hyper[0];
  let beta1 = hyper[1];
  let beta2 = hyper[2];
  let eps = hyper[3];
  let wd = hyper[4];
  let bc1 = hyper[5];
  let bc2 = hyper[6];
  var g = grads[i];
  if (HAS_CLIP == 1u) { g *= clip[1]; }
  var decay = true;
  if (HAS_MASK == 1u) { decay = ((maskBits[i >> 5u] >> (i & 31u)) & 1u) == 1u; }
  var pi = params[i];
  if (decay) { pi -= lr * wd * pi; }
  let mi = beta1 * m[i] + (1.0 - beta1) * g;
  let vi = beta2 * v[i] + (1.0 - beta2) * g * g;
  pi -= lr * (mi / bc1) / (sqrt(vi / bc2) + eps);
  m[i] = mi;
  v[i] = vi;
  params[i] = pi;
}

// global_norm.wgsl — the global L2 norm of a flat gradient buffer and the clip scale of
// torch.nn.utils.clip_grad_norm_:  norm = √Σ g²,  scale = maxNorm / (norm + 1e-6) if norm > maxNorm else 1
// (maxNorm ≤ 0: no clipping, scale 1). adamw.wgsl reads `scale` straight from the output (no CPU round trip).
//
// Two entry points over the same bindings:
//   `partials`: src = grads [n], dst = partial sums of squares [numPartials]. Workgroup k (of numPartials) sums
//     src[i]² for i = k·256 + lid + j·numPartials·256 (grid stride, coalesced), then a tree in workgroup memory.
//     Dispatch (numPartials, 1, 1).
//   `finish`: src = partials [numPartials], dst = out [2] = [norm, scale]. One workgroup. Dispatch (1, 1, 1).
// Bindings: 0 src (read), 1 dst (read_write), 2 uniform Params { n, numPartials, maxNorm }.
// Workgroup: 256 threads.

struct Params { n: u32, numPartials: u32, maxNorm: f32, _pad: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> red: array<f32, 256>;

fn treeSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  return red[0];
}

@compute @workgroup_size(256, 1, 1)
fn partials(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let stride = p.numPartials * 256u;
  var s = 0.0;
  for (var i = wg.x * 256u + lid.x; i < p.n; i += stride) {
    let g = src[i];
    s = fma(g, g, s);
  }
  let total = treeSum(s, lid.x);
  if (lid.x == 0u) { dst[wg.x] = total; }
}

@compute @workgroup_size(256, 1, 1)
fn finish(@builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  for (var i = lid.x; i < p.numPartials; i += 256u) { s += src[i]; }
  let total = treeSum(s, lid.x);
  if (lid.x == 0u) {
    let norm = sqrt(total);
    var scale = 1.0;
    if (p.maxNorm > 0.0 && norm > p.maxNorm) { scale = p.maxNorm / (norm + 1e-6); }
    dst[0] = norm;
    dst[1] = scale;
  }
}

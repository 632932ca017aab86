// lib/attention_rows.wgsl — reads of one head's q, k, v rows for the tiled attention kernels (attention_forward.wgsl,
// attention_backward.wgsl), included with `#include "lib/attention_rows.wgsl"` (resolved at build time by
// scripts/wgsl_include.ts). Rows past the sequence read as 0, so a partial tile is padded with zeros.
//
// The including shader declares: `override HS: u32` (the head size), `qkv: array<f32>` ([B·T, 3C]) and a uniform `p`
// with fields T and C.

// Channel d of head h's part (0 = q, 1 = k, 2 = v) of position t of sequence b; 0 for t ≥ T.
fn qkvAt(b: u32, h: u32, t: u32, part: u32, d: u32) -> f32 {
  if (t >= p.T) { return 0.0; }
  return qkv[(b * p.T + t) * 3u * p.C + part * p.C + h * HS + d];
}


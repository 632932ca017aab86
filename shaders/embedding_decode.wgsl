// embedding_decode.wgsl — embeds the current token of each row for one KV-cache generation step.
//
// Shapes (row-major):
//   history [B, Tmax] u32   token ids of every row; the current token of row b is history[b·Tmax + pos_b]
//   step    [≥ 1] u32       pos_b = decodePosition(b, B): step[0], plus row b's offset when the buffer holds them
//                           (lib/decode_position.wgsl; step[0] is advanced on the GPU by sample_tokens.wgsl)
//   wte     [V, C]          token embedding;  wpe [Tmax', C] position embedding (Tmax' ≥ Tmax)
//   out     [B, C]          out[b, :] = wte[history[b, pos_b], :] + wpe[pos_b, :]   (overwritten)
// Ids are validated on the CPU before they reach the GPU (prompts) or come from the sampler (always < V); an id ≥ V
// is clamped to V − 1 so a bug can never read outside wte. Nothing is written in row b when pos_b ≥ Tmax.
// Bindings: 0 history (read), 1 step (read), 2 wte (read), 3 wpe (read), 4 out (read_write), 5 uniform Params.
// Workgroup: 64 threads, one output element each; dispatch (ceil(B·C / 64), 1, 1).
// Includes: lib/decode_position.wgsl (decodePosition), expanded at build time.

struct Params {
  B: u32,
  C: u32,
  V: u32,
  Tmax: u32,
}

@group(0) @binding(0) var<storage, read> history: array<u32>;
@group(0) @binding(1) var<storage, read> step: array<u32>;
@group(0) @binding(2) var<storage, read> wte: array<f32>;
@group(0) @binding(3) var<storage, read> wpe: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

#include "lib/decode_position.wgsl"

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.B * p.C) { return; }
  let b = i / p.C;
  let c = i % p.C;
  let pos = decodePosition(b, p.B);
  if (pos >= p.Tmax) { return; }
  let tok = min(history[b * p.Tmax + pos], p.V - 1u);
  out[i] = wte[tok * p.C + c] + wpe[pos * p.C + c];
}

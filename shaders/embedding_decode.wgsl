// embedding_decode.wgsl — embeds the current token of each row for one KV-cache generation step.
//
// Shapes (row-major):
//   history [B, Tmax] u32   token ids of every row; the current token of row b is history[b·Tmax + pos]
//   step    [1] u32         pos = step[0] (advanced on the GPU by sample_tokens.wgsl's `advance_step`)
//   wte     [V, C]          token embedding;  wpe [Tmax', C] position embedding (Tmax' ≥ Tmax)
//   out     [B, C]          out[b, :] = wte[history[b, pos], :] + wpe[pos, :]   (overwritten)
// Ids are validated on the CPU before they reach the GPU (prompts) or come from the sampler (always < V); an id ≥ V
// is clamped to V − 1 so a bug can never read outside wte. Nothing is written when pos ≥ Tmax.
// Bindings: 0 history (read), 1 step (read), 2 wte (read), 3 wpe (read), 4 out (read_write), 5 uniform Params.
// Workgroup: 64 threads, one output element each; dispatch (ceil(B·C / 64), 1, 1).

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

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let pos = step[0];
  if (i >= p.B * p.C || pos >= p.Tmax) { return; }
  let b = i / p.C;
  let c = i % p.C;
  let tok = min(history[b * p.Tmax + pos], p.V - 1u);
  out[i] = wte[tok * p.C + c] + wpe[pos * p.C + c];
}

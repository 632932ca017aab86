// lib/decode_position.wgsl — the position of row b in a KV-cache decode step, included with
// `#include "lib/decode_position.wgsl"` (resolved at build time by scripts/wgsl_include.ts) by embedding_decode.wgsl,
// attention_decode.wgsl and sample_tokens.wgsl.
//
// The including shader declares `step: array<u32>` (storage, read or read_write), laid out as (src/gpu/ops/decode_step.ts
// writes it):
//   step[0]                    s, the step counter (sample_tokens.wgsl's `advance_step` adds 1 after each step)
//   step[1]                    added to the sampler's seed (from 2 words)
//   step[2 + 2b], step[3 + 2b] row b's random stream (seed, row) (from 2 + 2B words)
//   step[2 + 2B + b]           row b's position offset (from 2 + 3B words)
// Row b's position is s + step[2 + 2B + b] when the buffer holds 2 + 3B words or more, else s for every row (rows in
// lockstep). B is the number of rows the dispatch covers; the generator binds exactly 2 + 3B words.

fn decodePosition(b: u32, B: u32) -> u32 {
  if (arrayLength(&step) >= 2u + 3u * B) { return step[0] + step[2u + 2u * B + b]; }
  return step[0];
}

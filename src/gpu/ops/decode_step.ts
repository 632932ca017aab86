/**
 * The decode step buffer shared by embedding_decode.wgsl, attention_decode.wgsl and sample_tokens.wgsl (layout in
 * shaders/lib/decode_position.wgsl): [s, seed offset, B × (stream seed, stream row), B × position offset] u32. Row b
 * decodes position s + offsets[b]; sample_tokens.wgsl's `advance_step` adds 1 to s after each step.
 */

/** Words of a step buffer for B rows with streams and position offsets (bind exactly this many). */
export function decodeStepWords(B: number): number {
  return 2 + 3 * B;
}

export interface DecodeStepInit {
  /** The step counter s at the first step. */
  s: number;
  /** Row b's random stream (seed, row) in the sampler's hash. */
  streams: readonly { seed: number; row: number }[];
  /** Row b's position is s + offsets[b] (one per stream). */
  offsets: readonly number[];
}

/** The step buffer's contents for B = streams.length rows (seed offset 0). */
export function packDecodeStep(init: DecodeStepInit): Uint32Array {
  const B = init.streams.length;
  if (init.offsets.length !== B) throw new RangeError(`${init.offsets.length} position offsets for ${B} streams`);
  const words = new Uint32Array(decodeStepWords(B));
  words[0] = init.s;
  init.streams.forEach((st, b) => {
    words[2 + 2 * b] = st.seed;
    words[3 + 2 * b] = st.row;
  });
  init.offsets.forEach((o, b) => {
    if (!Number.isInteger(o) || o < 0 || o > 0xffffffff) throw new RangeError(`offsets[${b}] must be a u32, got ${o}`);
    words[2 + 2 * B + b] = o;
  });
  return words;
}

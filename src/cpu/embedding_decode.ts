/**
 * CPU reference for shaders/embedding_decode.wgsl: out[b, :] = wte[history[b, pos], :] + wpe[pos, :].
 * history [B, Tmax], wte [V, C], wpe [≥Tmax, C] → out [B, C].
 */
export function embeddingDecode(
  history: Uint32Array | Int32Array,
  pos: number,
  wte: Float32Array,
  wpe: Float32Array,
  B: number,
  C: number,
  Tmax: number,
): Float32Array {
  const out = new Float32Array(B * C);
  for (let b = 0; b < B; b++) {
    const tok = history[b * Tmax + pos]!;
    for (let c = 0; c < C; c++) out[b * C + c] = wte[tok * C + c]! + wpe[pos * C + c]!;
  }
  return out;
}

/**
 * CPU reference for shaders/embedding_decode.wgsl: out[b, :] = wte[history[b, pos_b], :] + wpe[pos_b, :], with pos_b =
 * `pos` (every row) or pos[b] (one position per row). history [B, Tmax], wte [V, C], wpe [≥Tmax, C] → out [B, C]; a row
 * with pos_b ≥ Tmax is left NaN (the kernel writes nothing there).
 */
export function embeddingDecode(
  history: Uint32Array | Int32Array,
  pos: number | readonly number[],
  wte: Float32Array,
  wpe: Float32Array,
  B: number,
  C: number,
  Tmax: number,
): Float32Array {
  const out = new Float32Array(B * C).fill(Number.NaN);
  for (let b = 0; b < B; b++) {
    const at = typeof pos === 'number' ? pos : pos[b]!;
    if (at >= Tmax) continue;
    const tok = history[b * Tmax + at]!;
    for (let c = 0; c < C; c++) out[b * C + c] = wte[tok * C + c]! + wpe[at * C + c]!;
  }
  return out;
}

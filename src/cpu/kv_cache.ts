/**
 * CPU reference for shaders/kv_cache_fill.wgsl: copies the keys and values of P positions of R rows from a c_attn
 * output qkv [R·P, 3C] into one layer's caches kCache, vCache [B, H, Tmax, hs] (hs = C / H), rows rowOffset ..
 * rowOffset + R − 1, positions 0 .. P − 1, in place. Everything else in the caches is left as it was.
 */
export function kvCacheFill(
  qkv: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  R: number,
  P: number,
  C: number,
  H: number,
  Tmax: number,
  rowOffset: number,
): void {
  const hs = C / H;
  for (let r = 0; r < R; r++) {
    for (let t = 0; t < P; t++) {
      const src = (r * P + t) * 3 * C;
      for (let h = 0; h < H; h++) {
        const dst = (((rowOffset + r) * H + h) * Tmax + t) * hs;
        for (let d = 0; d < hs; d++) {
          kCache[dst + d] = qkv[src + C + h * hs + d]!;
          vCache[dst + d] = qkv[src + 2 * C + h * hs + d]!;
        }
      }
    }
  }
}

/**
 * CPU references for shaders/embedding_forward.wgsl and shaders/embedding_backward.wgsl, plus the CSR token index
 * the backward kernel needs (built on the CPU per batch, so the GPU needs no float atomics and is deterministic).
 */

/** out [B·T, C]: out[b·T+t, :] = wte[tokens[b·T+t], :] + wpe[t, :]. tokens [B·T]; wte [V, C]; wpe [Tmax, C], Tmax ≥ T. */
export function embeddingForward(
  tokens: Int32Array,
  wte: Float32Array,
  wpe: Float32Array,
  B: number,
  T: number,
  C: number,
): Float32Array {
  // Each f32 + f32 is exact in f64, so rounding the f64 result once gives the correctly rounded f32 sum.
  return Float32Array.from(embeddingForward64(tokens, wte, wpe, B, T, C));
}

/** The same forward in f64 (inputs of any precision), for finite-difference checks. */
export function embeddingForward64(
  tokens: Int32Array,
  wte: ArrayLike<number>,
  wpe: ArrayLike<number>,
  B: number,
  T: number,
  C: number,
): Float64Array {
  if (tokens.length !== B * T) throw new Error(`embeddingForward: tokens has ${tokens.length} elements, needs B·T`);
  if (wpe.length < T * C) throw new Error(`embeddingForward: wpe has ${wpe.length} elements, needs ≥ T·C = ${T * C}`);
  const V = wte.length / C;
  const out = new Float64Array(B * T * C);
  for (let p = 0; p < B * T; p++) {
    const tok = tokens[p]!;
    if (!Number.isInteger(tok) || tok < 0 || tok >= V)
      throw new Error(`embeddingForward: token ${tok} out of [0, ${V})`);
    const t = p % T;
    for (let c = 0; c < C; c++) out[p * C + c] = wte[tok * C + c]! + wpe[t * C + c]!;
  }
  return out;
}

/**
 * dout [B·T, C] → dwte [V, C] (dwte[v] = Σ_{p: tokens[p]=v} dout[p]; absent tokens 0) and dwpe [Tmax, C]
 * (dwpe[t] = Σ_b dout[b·T+t] for t < T; rows T..Tmax−1 zero). Fresh arrays (overwrite semantics), f64 sums.
 */
export function embeddingBackward(
  dout: Float32Array,
  tokens: Int32Array,
  B: number,
  T: number,
  C: number,
  V: number,
  Tmax: number,
): { dwte: Float32Array; dwpe: Float32Array } {
  if (dout.length !== B * T * C) throw new Error(`embeddingBackward: dout has ${dout.length} elements, needs B·T·C`);
  if (tokens.length !== B * T) throw new Error(`embeddingBackward: tokens has ${tokens.length} elements, needs B·T`);
  if (Tmax < T) throw new Error(`embeddingBackward: Tmax ${Tmax} < T ${T}`);
  const dwte = new Float64Array(V * C);
  const dwpe = new Float64Array(Tmax * C);
  for (let p = 0; p < B * T; p++) {
    const tok = tokens[p]!;
    if (tok < 0 || tok >= V) throw new Error(`embeddingBackward: token ${tok} out of [0, ${V})`);
    const t = p % T;
    for (let c = 0; c < C; c++) {
      dwte[tok * C + c]! += dout[p * C + c]!;
      dwpe[t * C + c]! += dout[p * C + c]!;
    }
  }
  return { dwte: Float32Array.from(dwte), dwpe: Float32Array.from(dwpe) };
}

/**
 * CSR index of positions grouped by token id (counting sort, stable: positions ascending within a bucket).
 * tokenOffsets [V+1]: bucket v is positionsByToken[tokenOffsets[v] .. tokenOffsets[v+1]).
 * positionsByToken [tokens.length]: flat positions b·T+t. Throws on ids outside [0, V).
 */
export function buildTokenIndex(
  tokens: Int32Array,
  V: number,
): { tokenOffsets: Uint32Array; positionsByToken: Uint32Array } {
  const tokenOffsets = new Uint32Array(V + 1);
  for (let p = 0; p < tokens.length; p++) {
    const tok = tokens[p]!;
    if (!Number.isInteger(tok) || tok < 0 || tok >= V)
      throw new Error(`buildTokenIndex: token ${tok} at ${p} out of [0, ${V})`);
    tokenOffsets[tok + 1]!++;
  }
  for (let v = 0; v < V; v++) tokenOffsets[v + 1]! += tokenOffsets[v]!;
  const cursor = tokenOffsets.slice(0, V);
  const positionsByToken = new Uint32Array(tokens.length);
  for (let p = 0; p < tokens.length; p++) positionsByToken[cursor[tokens[p]!]!++] = p;
  return { tokenOffsets, positionsByToken };
}

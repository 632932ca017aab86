/**
 * CPU reference for shaders/attention_forward.wgsl, attention_backward.wgsl and attention_decode.wgsl: causal
 * multi-head self-attention as in nanoGPT, f64 accumulation, plain Float32Array in/out.
 *
 * Layouts (row-major):
 *   qkv  [B·T, 3C]  the c_attn Linear output; per row q = [0, C), k = [C, 2C), v = [2C, 3C); head h uses channels
 *                   [h·hs, (h+1)·hs) of each, hs = C/H.
 *   out  [B·T, C]   head h's output in channels [h·hs, (h+1)·hs) (transpose(1, 2).view(B, T, C) in nanoGPT).
 *   att  [B, H, T, T] softmax probabilities; att[b, h, t, j] = 0 for j > t.
 *   lse  [B, H, T]    log Σ_{j ≤ t} exp(s[t, j]) of each query row (natural log); the GPU forward saves only this, and
 *                     its backward recomputes att[t, j] = exp(s[t, j] − lse[t]).
 *   score s[t, j] = (q_t · k_j) / √hs for j ≤ t; softmax over j ≤ t with the row maximum subtracted.
 *
 * The functions accept Float64Array as well (finite-difference checks run them in f64): the output type follows
 * `qkv`'s type.
 */

type Floats = Float32Array | Float64Array;

function alloc(like: Floats, n: number): Floats {
  return like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

export function checkAttentionShape(B: number, T: number, C: number, H: number): number {
  for (const [name, v] of [
    ['B', B],
    ['T', T],
    ['C', C],
    ['H', H],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`attention: ${name} must be a positive integer, got ${v}`);
  }
  if (C % H !== 0) throw new Error(`attention: C = ${C} is not divisible by H = ${H}`);
  return C / H;
}

/** Forward: out [B·T, C], att [B, H, T, T] and lse [B, H, T] from qkv [B·T, 3C]. */
export function attentionForward(
  qkv: Float32Array,
  B: number,
  T: number,
  C: number,
  H: number,
): { out: Float32Array; att: Float32Array; lse: Float32Array };
export function attentionForward(
  qkv: Float64Array,
  B: number,
  T: number,
  C: number,
  H: number,
): { out: Float64Array; att: Float64Array; lse: Float64Array };
export function attentionForward(
  qkv: Floats,
  B: number,
  T: number,
  C: number,
  H: number,
): { out: Floats; att: Floats; lse: Floats } {
  const hs = checkAttentionShape(B, T, C, H);
  if (qkv.length < B * T * 3 * C) throw new Error(`attention: qkv has ${qkv.length} elements, needs ${B * T * 3 * C}`);
  const out = alloc(qkv, B * T * C);
  const att = alloc(qkv, B * H * T * T);
  const lse = alloc(qkv, B * H * T);
  const scale = 1 / Math.sqrt(hs);
  const C3 = 3 * C;
  const s = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const qo = (b * T + t) * C3 + h * hs;
        let m = Number.NEGATIVE_INFINITY;
        for (let j = 0; j <= t; j++) {
          const ko = (b * T + j) * C3 + C + h * hs;
          let dot = 0;
          for (let d = 0; d < hs; d++) dot += qkv[qo + d]! * qkv[ko + d]!;
          s[j] = dot * scale;
          if (s[j]! > m) m = s[j]!;
        }
        let sum = 0;
        for (let j = 0; j <= t; j++) {
          s[j] = Math.exp(s[j]! - m);
          sum += s[j]!;
        }
        lse[(b * H + h) * T + t] = m + Math.log(sum);
        const ab = ((b * H + h) * T + t) * T;
        for (let j = 0; j <= t; j++) {
          s[j] = s[j]! / sum;
          att[ab + j] = s[j]!;
        }
        const oo = (b * T + t) * C + h * hs;
        for (let d = 0; d < hs; d++) {
          let acc = 0;
          for (let j = 0; j <= t; j++) acc += s[j]! * qkv[(b * T + j) * C3 + 2 * C + h * hs + d]!;
          out[oo + d] = acc;
        }
      }
    }
  }
  return { out, att, lse };
}

/**
 * Backward: dqkv [B·T, 3C] from dout [B·T, C], given the forward's qkv and att (probabilities). Pure. (The GPU
 * backward computes the same from qkv, out and lse, never holding att.)
 */
export function attentionBackward(
  dout: Float32Array,
  qkv: Float32Array,
  att: Float32Array,
  B: number,
  T: number,
  C: number,
  H: number,
): Float32Array;
export function attentionBackward(
  dout: Float64Array,
  qkv: Float64Array,
  att: Float64Array,
  B: number,
  T: number,
  C: number,
  H: number,
): Float64Array;
export function attentionBackward(
  dout: Floats,
  qkv: Floats,
  att: Floats,
  B: number,
  T: number,
  C: number,
  H: number,
): Floats {
  const hs = checkAttentionShape(B, T, C, H);
  const scale = 1 / Math.sqrt(hs);
  const C3 = 3 * C;
  const dqkv = alloc(qkv, B * T * C3);
  const dS = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const ab = (b * H + h) * T * T;
      for (let t = 0; t < T; t++) {
        const go = (b * T + t) * C + h * hs;
        // dP[t, j] = dout_t · v_j; dS = P ⊙ (dP − Σ_j P dP) · scale
        let inner = 0;
        for (let j = 0; j <= t; j++) {
          const vo = (b * T + j) * C3 + 2 * C + h * hs;
          let dp = 0;
          for (let d = 0; d < hs; d++) dp += dout[go + d]! * qkv[vo + d]!;
          dS[j] = dp;
          inner += att[ab + t * T + j]! * dp;
        }
        for (let j = 0; j <= t; j++) {
          const pj = att[ab + t * T + j]!;
          dS[j] = pj * (dS[j]! - inner) * scale;
          const vo = (b * T + j) * C3 + 2 * C + h * hs;
          const ko = (b * T + j) * C3 + C + h * hs;
          const qo = (b * T + t) * C3 + h * hs;
          for (let d = 0; d < hs; d++) {
            dqkv[vo + d] = dqkv[vo + d]! + pj * dout[go + d]!;
            dqkv[qo + d] = dqkv[qo + d]! + dS[j]! * qkv[ko + d]!;
            dqkv[ko + d] = dqkv[ko + d]! + dS[j]! * qkv[qo + d]!;
          }
        }
      }
    }
  }
  return dqkv;
}

/**
 * One decode step with a KV cache: out [B, C] for the query q [B, C] of row b at position pos_b, attending to cached
 * keys and values 0..pos_b inclusive. kCache, vCache are [B, H, Tmax, hs] (one layer's cache; position pos_b already
 * written). pos_b = `pos` (every row) or pos[b] (one position per row, where pos_b ≥ Tmax leaves row b NaN: the kernel
 * writes nothing there).
 */
export function attentionDecode(
  q: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  pos: number | readonly number[],
  B: number,
  C: number,
  H: number,
  Tmax: number,
): Float32Array {
  const hs = checkAttentionShape(B, Tmax, C, H);
  const positions = typeof pos === 'number' ? new Array<number>(B).fill(pos) : pos;
  if (positions.length !== B) throw new Error(`attentionDecode: ${positions.length} positions for ${B} rows`);
  for (const at of positions) {
    if (!Number.isInteger(at) || at < 0 || (typeof pos === 'number' && at >= Tmax))
      throw new Error(`attentionDecode: pos ${at} outside [0, ${Tmax})`);
  }
  const scale = 1 / Math.sqrt(hs);
  const out = new Float32Array(B * C).fill(Number.NaN);
  const s = new Float64Array(Tmax);
  for (let b = 0; b < B; b++) {
    const pos = positions[b]!;
    if (pos >= Tmax) continue;
    for (let h = 0; h < H; h++) {
      const cb = (b * H + h) * Tmax * hs;
      let m = Number.NEGATIVE_INFINITY;
      for (let j = 0; j <= pos; j++) {
        let dot = 0;
        for (let d = 0; d < hs; d++) dot += q[b * C + h * hs + d]! * kCache[cb + j * hs + d]!;
        s[j] = dot * scale;
        if (s[j]! > m) m = s[j]!;
      }
      let sum = 0;
      for (let j = 0; j <= pos; j++) {
        s[j] = Math.exp(s[j]! - m);
        sum += s[j]!;
      }
      for (let d = 0; d < hs; d++) {
        let acc = 0;
        for (let j = 0; j <= pos; j++) acc += s[j]! * vCache[cb + j * hs + d]!;
        out[b * C + h * hs + d] = acc / sum;
      }
    }
  }
  return out;
}

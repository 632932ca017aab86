import matmulSource from '../../../shaders/matmul.wgsl?raw';
import matmulDotSource from '../../../shaders/matmul_dot.wgsl?raw';
import matmulRowsSource from '../../../shaders/matmul_rows.wgsl?raw';
import matmulVec4Source from '../../../shaders/matmul_vec4.wgsl?raw';
import sumSlicesSource from '../../../shaders/sum_slices.wgsl?raw';
import { dummyTensor, type GpuContext, isSoftwareAdapter } from '../context';
import { ceilDiv, type Dispatch, prepareDispatch } from '../dispatch';
import { overlaps, type TensorRef } from '../tensor';

export interface MatmulArgs {
  /** op(A) is [M, K]; A is stored [K, M] when transA. */
  a: TensorRef;
  /** op(B) is [K, N]; B is stored [N, K] when transB. */
  b: TensorRef;
  /** Output [M, N]. */
  c: TensorRef;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  /** Added to every row of C: [N]. */
  bias?: TensorRef;
  /** C += op(A)·op(B) instead of C = … */
  accumulate?: boolean;
  /**
   * GELU epilogue: C still receives the pre-activation (the GELU backward reads it) and `gelu` [M, N] receives
   * gelu(C), the tanh approximation computed exactly as shaders/gelu_forward.wgsl. Must not overlap C; not with
   * `accumulate`; never split over k.
   */
  gelu?: TensorRef;
  /**
   * Residual epilogue: C = op(A)·op(B) + bias + `residual` [M, N] (a transformer block's residual add fused into its
   * c_proj; the same bits as adding `residual` to the product afterwards). Must not overlap C; not with `accumulate`
   * or `gelu`; never split over k.
   */
  residual?: TensorRef;
  /**
   * Scratch space for split-K partial products. When given and the output is too small to fill the GPU
   * (fewer than `targetWorkgroups` tiles) while K is long, the k range is split and reduced afterwards.
   */
  scratch?: TensorRef;
  /**
   * Where the scalar kernel reads its flags (transposes, bias, accumulate, GELU, residual): 'pipeline', override constants, one
   * pipeline per variant (the default on a GPU); 'uniform', the uniform buffer, one pipeline for all (the default on
   * a software adapter, where a pipeline compiles for most of a second). The vec4 kernel always takes 'pipeline'.
   */
  flagsIn?: 'pipeline' | 'uniform';
  label?: string;
}

/** Workgroups we want in flight: about two per SM on a large GPU. Smaller GPUs lose nothing from split-K. */
const TARGET_WORKGROUPS = 256;
/** Split-K chunks are multiples of this, so every tile configuration's k step divides them. */
const K_STEP = 16;

/**
 * One tile configuration. `scalar` is shaders/matmul.wgsl (any shape: 64×64 tile, 4×4 outputs per thread, k step 16,
 * scalar loads); `vec4` is shaders/matmul_vec4.wgsl (rows of whole vec4s only), 16×16 threads with
 * (tileM / 16) × (tileN / 16) outputs each, staging tileM × kStep of A and kStep × tileN of B per k step; `rows` is
 * shaders/matmul_rows.wgsl (A · Wᵀ with K % 4 == 0, for few rows): 8 × 8 outputs per workgroup, 32 threads a column
 * each stepping k by kStep = 128; `dot` is shaders/matmul_dot.wgsl (A · Wᵀ with K % 4 == 0, a CPU adapter's): one
 * invocation per row and 4 columns.
 */
export interface MatmulTile {
  readonly kernel: 'scalar' | 'vec4' | 'rows' | 'dot';
  readonly tileM: number;
  readonly tileN: number;
  readonly kStep: number;
}

export const SCALAR_TILE: MatmulTile = { kernel: 'scalar', tileM: 64, tileN: 64, kStep: 16 };

/**
 * The vec4 configurations, largest first. A bigger tile reuses each staged element more (8×8 outputs per thread do 64
 * fma per 4 vec4 reads of workgroup memory; 4×4 do 16 per 2) but leaves fewer workgroups to fill the GPU. 128×128
 * steps k by 8 so its two staged tiles stay near 8 KiB like the others (8.25 KiB, 8.5 KiB for 64×64 and 12.5 KiB for
 * 128×64, rows padded by one vec4 against bank conflicts).
 */
export const VEC4_TILES: readonly MatmulTile[] = [
  { kernel: 'vec4', tileM: 128, tileN: 128, kStep: 8 },
  { kernel: 'vec4', tileM: 128, tileN: 64, kStep: 16 },
  { kernel: 'vec4', tileM: 64, tileN: 64, kStep: 16 },
];

export const ROWS_TILE: MatmulTile = { kernel: 'rows', tileM: 8, tileN: 8, kStep: 128 };

/**
 * shaders/matmul_dot.wgsl, for a CPU adapter: A · Wᵀ (K % 4 == 0, not accumulating) with one invocation per row and 4
 * columns, walking all of K alone (no workgroup memory, no barrier).
 */
export const DOT_TILE: MatmulTile = { kernel: 'dot', tileM: 1, tileN: 4, kStep: 1 };

/** Invocations per workgroup of matmul_dot.wgsl. */
const DOT_WORKGROUP = 64;
/** The dot kernel's workgroups lie along x: at most WebGPU's default 65535 of them. */
const DOT_MAX_INVOCATIONS = 65535 * DOT_WORKGROUP;

/** Invocations of the dot kernel for an M × N output: one per row and 4 columns. */
function dotInvocations(M: number, N: number): number {
  return M * ceilDiv(N, 4);
}

/**
 * Most rows the `rows` kernel takes: a decode step's rows in use (the sessions' 32, the benches' 64). Each of its
 * workgroups reads its 8 weight rows for 8 rows of A, so past a few dozen rows the tiled kernels, which stage each
 * weight tile once per 64 or 128 rows, do less work.
 */
export const ROWS_MAX_M = 64;

/** True when every operand of this shape can be read and written as whole vec4s (see shaders/matmul_vec4.wgsl). */
export function vec4Aligned(M: number, N: number, K: number, transA = false, transB = false): boolean {
  const aAligned = transA ? M % 4 === 0 : K % 4 === 0;
  const bAligned = transB ? K % 4 === 0 : true;
  return N % 4 === 0 && aAligned && bAligned;
}

/**
 * The tile configuration for a shape. Unaligned shapes take the scalar kernel. On a GPU, aligned shapes take the
 * largest vec4 tile that fits inside the output (a tile wider or taller than C would be mostly padding) and still
 * gives TARGET_WORKGROUPS workgroups (at 8192 rows: N = 512 → 128×128, N = 384 → 128×64, N = 128 → 64×64), or the
 * smallest tile when none does (split-K then adds workgroups where K is long).
 *
 * On a CPU adapter (`cpuAdapter`, which prepareMatmul sets from isSoftwareAdapter) a Linear layer's forward (A · Wᵀ,
 * K % 4 == 0, not accumulating) takes the dot kernel and everything else the scalar kernel. SwiftShader runs a
 * workgroup's invocations as fibres and pays for each barrier and invocation; the dot kernel has no barrier. Measured
 * there (2 cores, 2026-12-05), scalar against dot: 9.6–19.5 against 1.2–1.6 ms at 16×256×64 (a decode step's c_fc),
 * 41.8 against 17.7 ms at 32×768×192, 392 against 179 ms at 4096×192×64 (a training forward). Its form for dX and dW
 * (one vec4 of B per k) was no faster than the scalar kernel there (280 against 280 ms at 4096×64×192, 278 against
 * 175 ms at dW 192×64×4096), so it was not kept. The scalar kernel had taken a third to a half of the best vec4 tile's
 * time (SwiftShader runs the vec4 kernel's indexed register blocks as memory).
 *
 * On a GPU a Linear layer (A · Wᵀ, K % 4 == 0, not accumulating) over at most ROWS_MAX_M rows, a decode step's, takes
 * the rows kernel instead (`rows: false` asks for the tiled choice, for comparisons): there a 64-row tile is mostly
 * empty and N / 64 workgroups walk all of K (medium at 32 rows: 3 to 12 workgroups per layer, on a GPU of 132 SMs).
 * Not on a CPU adapter: SwiftShader, which runs workgroups one after another on the CPU, ran it 4–15× slower than the
 * scalar kernel at tiny's and medium's decode shapes (2 cores, 2026-12-05; e.g. 124 against 9 ms at 32×192×64, 148
 * against 40 ms at 32×192×768). Its speed on a GPU is not measured yet (`npm run bench` times both kernels at each
 * preset's decode shapes).
 */
export function chooseMatmulTile(
  M: number,
  N: number,
  K: number,
  opts: { transA?: boolean; transB?: boolean; cpuAdapter?: boolean; accumulate?: boolean; rows?: boolean } = {},
): MatmulTile {
  if (opts.cpuAdapter)
    return rowsKernelFits(K, opts) && dotInvocations(M, N) <= DOT_MAX_INVOCATIONS ? DOT_TILE : SCALAR_TILE;
  if ((opts.rows ?? true) && M <= ROWS_MAX_M && rowsKernelFits(K, opts)) return ROWS_TILE;
  if (!vec4Aligned(M, N, K, opts.transA, opts.transB)) return SCALAR_TILE;
  const fitting = VEC4_TILES.filter((tile) => tile.tileM <= M && tile.tileN <= N);
  const tile = fitting.find((t) => ceilDiv(M, t.tileM) * ceilDiv(N, t.tileN) >= TARGET_WORKGROUPS);
  return tile ?? VEC4_TILES[VEC4_TILES.length - 1]!;
}

/** True when the `rows` and `dot` kernels compute this product: A [M, K] · W[N, K]ᵀ, K % 4 == 0, not accumulating. */
function rowsKernelFits(K: number, opts: { transA?: boolean; transB?: boolean; accumulate?: boolean }): boolean {
  return opts.transB === true && opts.transA !== true && opts.accumulate !== true && K % 4 === 0;
}

/** A matmul's epilogue flags (0/1 each), as the kernels' override constants name them. */
interface Epilogue {
  HAS_BIAS: number;
  ACCUMULATE: number;
  GELU: number;
  RESIDUAL: number;
}

/** The flag word of DYNAMIC_FLAGS (matmul.wgsl; matmul_dot.wgsl reads bits 2, 4, 5): bits 0–5 TRANS_A … RESIDUAL. */
function flagBits(transA: boolean, transB: boolean, e: Epilogue): number {
  return (
    (transA ? 1 : 0) | (transB ? 2 : 0) | (e.HAS_BIAS << 2) | (e.ACCUMULATE << 3) | (e.GELU << 4) | (e.RESIDUAL << 5)
  );
}

/** How many k-slices a matmul of this shape uses with `scratchElements` of scratch. */
export function chooseSplits(
  M: number,
  N: number,
  K: number,
  scratchElements: number,
  tile: MatmulTile = SCALAR_TILE,
): number {
  const tiles = ceilDiv(M, tile.tileM) * ceilDiv(N, tile.tileN);
  if (tiles >= TARGET_WORKGROUPS || K < 512) return 1;
  let splits = Math.min(ceilDiv(TARGET_WORKGROUPS, tiles), Math.floor(K / 128));
  splits = Math.min(splits, Math.floor(scratchElements / (M * N)));
  return Math.max(1, splits);
}

/** A small writable buffer per device, bound as the GELU output of matmuls without the GELU epilogue (never written). */
const writableDummies = new WeakMap<GpuContext, TensorRef>();
function writableDummy(ctx: GpuContext): TensorRef {
  let t = writableDummies.get(ctx);
  if (!t) {
    const buffer = ctx.device.createBuffer({ label: 'matmul.dummy', size: 256, usage: GPUBufferUsage.STORAGE });
    t = { buffer, offset: 0, length: 64 };
    writableDummies.set(ctx, t);
  }
  return t;
}

export function checkMatmulShapes(args: MatmulArgs): void {
  const { a, b, c, M, N, K, label = 'matmul' } = args;
  for (const [name, v] of [
    ['M', M],
    ['N', N],
    ['K', K],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${label}: ${name} must be a positive integer, got ${v}`);
  }
  if (a.length < M * K) throw new Error(`${label}: A has ${a.length} elements, needs ${M * K}`);
  if (b.length < K * N) throw new Error(`${label}: B has ${b.length} elements, needs ${K * N}`);
  if (c.length < M * N) throw new Error(`${label}: C has ${c.length} elements, needs ${M * N}`);
  if (args.bias && args.bias.length < N) throw new Error(`${label}: bias has ${args.bias.length} elements, needs ${N}`);
  if (args.gelu) {
    if (args.gelu.length < M * N) throw new Error(`${label}: gelu has ${args.gelu.length} elements, needs ${M * N}`);
    if (overlaps(args.gelu, c)) throw new Error(`${label}: the gelu output must not overlap C`);
    if (args.accumulate) throw new Error(`${label}: the gelu epilogue cannot accumulate into C`);
  }
  if (args.residual) {
    const r = args.residual;
    if (r.length < M * N) throw new Error(`${label}: residual has ${r.length} elements, needs ${M * N}`);
    if (overlaps(r, c)) throw new Error(`${label}: the residual must not overlap C (accumulate adds C itself)`);
    if (args.accumulate) throw new Error(`${label}: the residual epilogue cannot also accumulate into C`);
    if (args.gelu) throw new Error(`${label}: the residual and gelu epilogues cannot be combined`);
  }
}

/**
 * Prepares C = op(A)·op(B) (+ bias) (+ C or + residual) (and gelu(C)): one dispatch, or two with split-K. The kernel and tile come
 * from `chooseMatmulTile`; `tile` overrides that choice (tests use it to reach every configuration).
 */
export function prepareMatmul(ctx: GpuContext, args: MatmulArgs, tile?: MatmulTile): Dispatch[] {
  checkMatmulShapes(args);
  const { M, N, K, label = 'matmul' } = args;
  const transA = args.transA === true;
  const transB = args.transB === true;
  const accumulate = args.accumulate === true;
  const chosen = tile ?? chooseMatmulTile(M, N, K, { transA, transB, accumulate, cpuAdapter: isSoftwareAdapter(ctx) });
  if (chosen.kernel === 'vec4' && !vec4Aligned(M, N, K, transA, transB)) {
    throw new Error(`${label}: the vec4 kernel needs rows of whole vec4s; M=${M} N=${N} K=${K} are not`);
  }
  const bias = args.bias ?? dummyTensor(ctx);
  const epilogue: Epilogue = {
    HAS_BIAS: args.bias ? 1 : 0,
    ACCUMULATE: accumulate ? 1 : 0,
    GELU: args.gelu ? 1 : 0,
    RESIDUAL: args.residual ? 1 : 0,
  };
  /** The bindings of a one-dispatch product: a, b, c, bias and the GELU output or residual. */
  const operands = [args.a, args.b, args.c, bias, args.gelu ?? args.residual ?? writableDummy(ctx)];
  if (chosen.kernel === 'rows' || chosen.kernel === 'dot') {
    if (!rowsKernelFits(K, { transA, transB, accumulate })) {
      throw new Error(
        `${label}: the ${chosen.kernel} kernel computes A · Wᵀ (transB, not transA, no accumulate) with K a multiple ` +
          `of 4; got transA=${transA} transB=${transB} accumulate=${accumulate} K=${K}`,
      );
    }
  }
  if (chosen.kernel === 'dot') {
    if (dotInvocations(M, N) > DOT_MAX_INVOCATIONS) {
      throw new Error(
        `${label}: the dot kernel takes at most ${DOT_MAX_INVOCATIONS} rows × column quads, got M=${M} N=${N}`,
      );
    }
    return [
      prepareDispatch(
        ctx,
        { name: 'matmul_dot', source: matmulDotSource },
        operands,
        [{ u: M }, { u: N }, { u: K }, { u: flagBits(transA, transB, epilogue) }],
        [ceilDiv(dotInvocations(M, N), DOT_WORKGROUP), 1, 1],
        label,
      ),
    ];
  }
  if (chosen.kernel === 'rows') {
    const { HAS_BIAS, GELU, RESIDUAL } = epilogue;
    return [
      prepareDispatch(
        ctx,
        { name: 'matmul_rows', source: matmulRowsSource, constants: { HAS_BIAS, GELU, RESIDUAL } },
        operands,
        [{ u: M }, { u: N }, { u: K }],
        [ceilDiv(N, chosen.tileN), ceilDiv(M, chosen.tileM), 1],
        label,
      ),
    ];
  }
  const splits = args.scratch && !args.gelu && !args.residual ? chooseSplits(M, N, K, args.scratch.length, chosen) : 1;
  const kChunk = ceilDiv(ceilDiv(K, splits), K_STEP) * K_STEP;
  const realSplits = ceilDiv(K, kChunk);
  const flags: Record<string, number> = { TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0 };
  if (chosen.kernel === 'vec4') {
    flags.RM = chosen.tileM / 16;
    flags.RN = chosen.tileN / 16;
    flags.TK = chosen.kStep;
  }
  const spec =
    chosen.kernel === 'vec4'
      ? { name: 'matmul_vec4', source: matmulVec4Source }
      : { name: 'matmul', source: matmulSource };
  const grid = [ceilDiv(N, chosen.tileN), ceilDiv(M, chosen.tileM)] as const;
  const uniformFlags =
    chosen.kernel === 'scalar' && (args.flagsIn ?? (isSoftwareAdapter(ctx) ? 'uniform' : 'pipeline')) === 'uniform';
  /** The dispatch's override constants and uniform words for these epilogue flags (0/1 each). */
  const variant = (e: Epilogue) => {
    const all: Record<string, number> = { ...flags, ...e };
    const params = [{ u: M }, { u: N }, { u: K }, { u: kChunk }, { u: flagBits(transA, transB, e) }];
    return { constants: uniformFlags ? { DYNAMIC_FLAGS: 1 } : all, params };
  };
  if (realSplits === 1 || !args.scratch) {
    const { constants, params } = variant(epilogue);
    return [prepareDispatch(ctx, { ...spec, constants }, operands, params, [grid[0], grid[1], 1], label)];
  }
  const { constants, params } = variant({ HAS_BIAS: 0, ACCUMULATE: 0, GELU: 0, RESIDUAL: 0 });
  const partial = prepareDispatch(
    ctx,
    { ...spec, constants },
    [args.a, args.b, args.scratch, dummyTensor(ctx), writableDummy(ctx)],
    params,
    [grid[0], grid[1], realSplits],
    `${label}.splitk`,
  );
  const reduce = prepareDispatch(
    ctx,
    {
      name: 'sum_slices',
      source: sumSlicesSource,
      constants: { HAS_BIAS: args.bias ? 1 : 0, ACCUMULATE: args.accumulate ? 1 : 0 },
    },
    [args.scratch, args.c, bias],
    [{ u: M * N }, { u: realSplits }, { u: N }],
    [ceilDiv(M * N, 256), 1, 1],
    `${label}.reduce`,
  );
  return [partial, reduce];
}

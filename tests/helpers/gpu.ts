/**
 * Real WebGPU for tests: Dawn through the `webgpu` package. No mocks. On a machine without a GPU the Vulkan driver is
 * SwiftShader (see scripts/test.mjs, which sets the environment and fails with instructions when there is no adapter).
 */
import { afterAll } from 'vitest';
import type { GpuContext } from '../../src/gpu/context';
import { createStorage, type TensorRef, whole } from '../../src/gpu/tensor';
import { createNodeGpuContext } from '../../src/headless/dawn';
import { createRng, type Rng } from '../../src/util/rng';

/**
 * One device per test worker, created on first use and kept across the test files the worker runs (vitest.config.ts
 * sets `isolate: false`), so each shader pipeline is compiled once per worker, not once per file: on SwiftShader a
 * compile costs 0.3–1 s and a model's passes need dozens. The pipeline cache lives on the context.
 */
const SHARED = Symbol.for('stoptime.test.gpuContext');
type Shared = { [SHARED]?: Promise<GpuContext> };

// A file leaves no work behind on the shared device.
afterAll(async () => {
  const ctx = await (globalThis as Shared)[SHARED];
  await ctx?.device.queue.onSubmittedWorkDone();
});

/** The worker's device (see above). */
export function gpuContext(): Promise<GpuContext> {
  const shared = globalThis as Shared;
  shared[SHARED] ??= createNodeGpuContext();
  return shared[SHARED];
}

const KEPT = Symbol.for('stoptime.test.keptForProcess');

/**
 * Keeps `objects` reachable until the worker exits. A test that makes its own Dawn instance or destroys a device holds
 * them here, so their native teardown never runs from a garbage-collector finalizer in the middle of a later test file
 * of the same worker (see src/headless/dawn.ts).
 */
export function keepForProcess(...objects: unknown[]): void {
  const g = globalThis as { [KEPT]?: unknown[] };
  g[KEPT] ??= [];
  g[KEPT].push(...objects);
}

/** A storage tensor holding `data` (f32, or raw u32/i32 bits). */
export function upload(ctx: GpuContext, data: Float32Array | Int32Array | Uint32Array, label = 'test'): TensorRef {
  const buffer = createStorage(ctx.device, data.length, label);
  ctx.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return { ...whole(buffer), length: data.length };
}

/** A storage tensor of `length` elements filled with NaN, so any element a kernel forgets to write shows up. */
export function poisoned(ctx: GpuContext, length: number, label = 'poisoned'): TensorRef {
  return upload(ctx, new Float32Array(length).fill(Number.NaN), label);
}

export async function readF32(ctx: GpuContext, t: TensorRef): Promise<Float32Array> {
  const bytes = await readBytes(ctx, t);
  return new Float32Array(bytes);
}

export async function readU32(ctx: GpuContext, t: TensorRef): Promise<Uint32Array> {
  return new Uint32Array(await readBytes(ctx, t));
}

export async function readI32(ctx: GpuContext, t: TensorRef): Promise<Int32Array> {
  return new Int32Array(await readBytes(ctx, t));
}

async function readBytes(ctx: GpuContext, t: TensorRef): Promise<ArrayBuffer> {
  const size = t.length * 4;
  const staging = ctx.device.createBuffer({
    size: Math.max(4, size),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = ctx.device.createCommandEncoder();
  enc.copyBufferToBuffer(t.buffer, t.offset * 4, staging, 0, size);
  ctx.device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const copy = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  return copy;
}

/** Seeded uniform floats in [lo, hi). */
export function randomF32(rng: Rng, length: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = lo + (hi - lo) * rng.next();
  return out;
}

export function seeded(seed: number): Rng {
  return createRng(seed);
}

/**
 * The same context with some device limits overridden (the rest are the real ones), to exercise limit-dependent code
 * paths (2D dispatch grids, buffer caps) at test sizes. The device itself is the real one.
 */
export function withLimits(ctx: GpuContext, overrides: Partial<Record<keyof GPUSupportedLimits, number>>): GpuContext {
  const limits = new Proxy(ctx.device.limits, {
    get: (target, key) =>
      key in overrides ? overrides[key as keyof GPUSupportedLimits] : Reflect.get(target, key, target),
  });
  const device = new Proxy(ctx.device, {
    get(target, key) {
      if (key === 'limits') return limits;
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { ...ctx, device };
}

/**
 * The two forms of a kernel that reduces with lib/reduce.wgsl (src/gpu/subgroups.ts): the tree, on any device, and
 * the subgroup form. `reductionOption` is the `subgroups` option for a form: on a device without subgroup reductions
 * the subgroup form runs as the tree (tests/gpu/subgroups.test.ts checks that CI's SwiftShader has them, so CI runs
 * both).
 */
export const REDUCTION_FORMS = ['tree', 'subgroups'] as const;
export type ReductionForm = (typeof REDUCTION_FORMS)[number];
export function reductionOption(ctx: GpuContext, form: ReductionForm): boolean {
  return form === 'subgroups' && ctx.subgroupReductions;
}

/** Whether a prepared dispatch runs the subgroup form of its kernel (its pipeline's label names the module). */
export function usesSubgroups(dispatch: { pipeline: GPUComputePipeline }): boolean {
  return dispatch.pipeline.label.includes('+subgroups|');
}

/**
 * Which kernel choices a test's context leads the engine to make: `adapter`, those of the adapter the tests run on
 * (on CI's SwiftShader the software forms: dot and scalar matmuls, one decode split, the serial decode attention and
 * layernorms, few reduction workgroups, and subgroup reductions); `hardware`, those a GPU with subgroups gets
 * (withHardwarePaths); `portable`, those a GPU without the subgroups feature gets (the tree reductions of
 * lib/reduce.wgsl: a browser that does not offer subgroups).
 */
export const KERNEL_PATHS = ['adapter', 'hardware', 'portable'] as const;
export type KernelPaths = (typeof KERNEL_PATHS)[number];

/**
 * The same device, described to the engine as a hardware GPU, so that isSoftwareAdapter is false and every op takes
 * the choices it makes on a GPU: the tiled vec4 and rows matmuls with pipeline-constant epilogues, the decode attention
 * split over the cache (partial + combine), the layernorms' 32-lane rows, full reduction grids. The kernel tests run
 * each form on its own; the model tests run every path of KERNEL_PATHS, so the composition a user's GPU runs (buffers,
 * scratch sizes, dispatch order) is tested end to end on a software adapter too. Only adapter.info and adapterName are
 * changed; the device, its limits and the pipeline cache are the real ones.
 */
export function withHardwarePaths(ctx: GpuContext, opts: { subgroups?: boolean } = {}): GpuContext {
  const real = ctx.adapter.info;
  const info = {
    vendor: real.vendor,
    architecture: 'hardware-paths',
    device: real.device,
    description: 'the engine told this adapter is a GPU (tests/helpers/gpu.ts withHardwarePaths)',
    isFallbackAdapter: false,
    subgroupMinSize: real.subgroupMinSize,
    subgroupMaxSize: real.subgroupMaxSize,
  };
  const adapter = new Proxy(ctx.adapter, {
    get(target, key) {
      if (key === 'info') return info;
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const hardware = { ...ctx, adapter, adapterName: 'hardware paths (test)' };
  return opts.subgroups === false
    ? { ...hardware, subgroupReductions: false, subgroupProblem: 'switched off by the test (withHardwarePaths)' }
    : hardware;
}

/** The context for a test run on `paths` (KERNEL_PATHS). */
export function contextFor(ctx: GpuContext, paths: KernelPaths): GpuContext {
  if (paths === 'adapter') return ctx;
  return withHardwarePaths(ctx, { subgroups: paths === 'hardware' });
}

import { probeSubgroupLayout } from './subgroups';
import type { TensorRef } from './tensor';

/**
 * The GPU context: one GPUDevice plus the caches every op shares (compiled pipelines keyed by shader and override
 * constants). Everything GPU-side in Stoptime receives a `GpuContext`; nothing reaches for a global device.
 */

export interface GpuContext {
  readonly device: GPUDevice;
  /**
   * The `GPU` object and adapter the device came from. Held so they stay alive as long as the device: in Node, Dawn
   * destroys its instance when the `GPU` object is garbage-collected, which aborts the process under a live device.
   */
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly adapterName: string;
  /** Whether the device was created with the `subgroups` feature (requested whenever the adapter has it). */
  readonly subgroups: boolean;
  /**
   * Whether kernels that reduce with lib/reduce.wgsl take its subgroup form by default (src/gpu/subgroups.ts): the
   * device has subgroups and their layout passed the probe.
   */
  readonly subgroupReductions: boolean;
  /** Why subgroup reductions are off, or null when they are on. */
  readonly subgroupProblem: string | null;
  /** Compiled compute pipelines, keyed by `label|constants`. */
  readonly pipelines: Map<string, GPUComputePipeline>;
  readonly modules: Map<string, GPUShaderModule>;
  /** Rejects when the device is lost; race it against long waits so a lost device surfaces as an error. */
  readonly lost: Promise<never>;
  /** A small read-only buffer to bind where a shader's optional input is switched off (never read). */
  readonly dummy: GPUBuffer;
  /** Validation and out-of-memory errors nobody captured; checked by `assertNoErrors`. */
  readonly uncapturedErrors: string[];
}

export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
}

export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
}

/** Limits the engine asks for, capped by what the adapter offers. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
] as const;

export function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0);
  return parts.length > 0 ? parts.join(' / ') : 'unknown adapter';
}

/**
 * Requests an adapter and device from a `GPU` object (`navigator.gpu` in the browser, Dawn's `create()` in Node).
 * Throws `NoAdapterError` with instructions when there is none.
 */
export async function createGpuContext(
  gpu: GPU | undefined,
  adapterOptions: GPURequestAdapterOptions = { powerPreference: 'high-performance' },
): Promise<GpuContext> {
  if (!gpu) {
    throw new NoAdapterError(
      'WebGPU is not available here (navigator.gpu is undefined). Use a recent Chrome or Edge; in Node, use the `webgpu` package (Dawn).',
    );
  }
  const adapter = await gpu.requestAdapter(adapterOptions);
  if (!adapter) {
    throw new NoAdapterError(
      'No WebGPU adapter found. On a machine without a GPU, install a Vulkan software driver ' +
        '(Debian: `apt-get install chromium`, then set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json ' +
        'and LD_LIBRARY_PATH=/usr/lib/chromium); in Chrome, enable WebGPU (chrome://flags/#enable-unsafe-webgpu).',
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const key of WANTED_LIMITS) requiredLimits[key] = adapter.limits[key];
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  if (adapter.features.has('subgroups')) requiredFeatures.push('subgroups');
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const lost = device.lost.then((info) => {
    throw new DeviceLostError(`GPU device lost (${info.reason}): ${info.message}`);
  });
  // Keep an unobserved rejection from crashing Node; callers race `lost` where they wait.
  lost.catch(() => {});
  const uncapturedErrors: string[] = [];
  device.addEventListener('uncapturederror', (event) => {
    const message = (event as GPUUncapturedErrorEvent).error.message;
    if (uncapturedErrors.length < 100) uncapturedErrors.push(message);
  });
  const dummy = device.createBuffer({ label: 'dummy', size: 256, usage: GPUBufferUsage.STORAGE });
  const subgroupProblem = await probeSubgroupLayout(device);
  return {
    device,
    gpu,
    adapter,
    adapterName: describeAdapter(adapter),
    subgroups: device.features.has('subgroups'),
    subgroupReductions: subgroupProblem === null,
    subgroupProblem,
    pipelines: new Map(),
    modules: new Map(),
    lost,
    dummy,
    uncapturedErrors,
  };
}

/** Compiles (once) and returns a compute pipeline for `source` with the given override constants. */
export function getPipeline(
  ctx: GpuContext,
  label: string,
  source: string,
  constants: Record<string, number> = {},
  entryPoint = 'main',
): GPUComputePipeline {
  const constKey = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`)
    .join(',');
  const key = `${label}|${entryPoint}|${constKey}`;
  const cached = ctx.pipelines.get(key);
  if (cached) return cached;
  let module = ctx.modules.get(label);
  if (!module) {
    module = ctx.device.createShaderModule({ label, code: source });
    ctx.modules.set(label, module);
  }
  const pipeline = ctx.device.createComputePipeline({
    label: key,
    layout: 'auto',
    compute: { module, entryPoint, constants },
  });
  ctx.pipelines.set(key, pipeline);
  return pipeline;
}

/** Waits for the queue, but fails fast if the device is lost meanwhile. */
export async function waitIdle(ctx: GpuContext): Promise<void> {
  await Promise.race([ctx.device.queue.onSubmittedWorkDone(), ctx.lost]);
}

/** Throws if the device reported an error nobody captured (a validation error means a bug in the engine). */
export function assertNoErrors(ctx: GpuContext): void {
  if (ctx.uncapturedErrors.length > 0) {
    const errors = ctx.uncapturedErrors.splice(0);
    throw new Error(`WebGPU reported ${errors.length} error(s): ${errors.join(' | ')}`);
  }
}

/** The dummy buffer as a tensor, for optional inputs that are switched off. */
export function dummyTensor(ctx: GpuContext): TensorRef {
  return { buffer: ctx.dummy, offset: 0, length: 64 };
}

/**
 * Whether the adapter is a CPU rasteriser (SwiftShader, llvmpipe/lavapipe, WARP). There a few workgroups run at a
 * time and each workgroup barrier is a fibre switch of every thread, so kernels size their grids differently: fewer,
 * fuller workgroups (matmul tiles, the decode split, the gradient norm's partial sums).
 */
export function isSoftwareAdapter(ctx: GpuContext): boolean {
  const info = ctx.adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return (
    info.isFallbackAdapter === true ||
    info.architecture === 'swiftshader' ||
    /swiftshader|llvmpipe|lavapipe|microsoft basic render/i.test(ctx.adapterName)
  );
}

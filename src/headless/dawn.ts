/**
 * Which Dawn backend Node code (headless runs, benchmarks, tests) asks for. One place, read from the environment:
 *
 * - `STOPTIME_DAWN_BACKEND` unset or `vulkan`: Dawn's default, core WebGPU. A GPU where Dawn finds one, SwiftShader
 *   on a machine without (scripts/webgpu-env.mjs points the Vulkan loader at it).
 * - `STOPTIME_DAWN_BACKEND=opengles`: Dawn's OpenGL ES backend in compatibility mode. With Mesa's llvmpipe (Debian:
 *   `apt-get install libegl1 libegl-mesa0 libgles2`, `EGL_PLATFORM=surfaceless`) this is a multi-threaded software
 *   adapter several times faster than SwiftShader, and the fastest adapter a machine without a GPU has.
 */
import { create, globals } from 'webgpu';
import { createGpuContext, type GpuContext } from '../gpu/context';

Object.assign(globalThis, globals);

export type DawnBackend = 'vulkan' | 'opengles';

export function dawnBackendFromEnv(env: Record<string, string | undefined> = process.env): DawnBackend {
  const value = env.STOPTIME_DAWN_BACKEND;
  if (value === undefined || value === '' || value === 'vulkan') return 'vulkan';
  if (value === 'opengles') return 'opengles';
  throw new Error(`STOPTIME_DAWN_BACKEND: expected 'vulkan' or 'opengles', got ${JSON.stringify(value)}`);
}

/**
 * One Dawn instance per backend for the life of the process, kept on `globalThis` (a test worker loads this module
 * once per module graph). Every context a process makes (tests, benchmarks, headless runs) asks the same instance for
 * its adapter and device, so no instance is ever garbage-collected while others run: dawn.node tears an instance down
 * from a finalizer, at whatever moment the collector picks, and a long-lived test worker that dropped instances could
 * die there. The instance keeps Node's event loop alive; the command-line entry points end with `process.exit`.
 */
const INSTANCES = Symbol.for('stoptime.dawn.instances');
type Instances = { [INSTANCES]?: Map<DawnBackend, GPU> };

function dawnInstance(backend: DawnBackend, flags: string[]): GPU {
  const g = globalThis as Instances;
  g[INSTANCES] ??= new Map();
  let gpu = g[INSTANCES].get(backend);
  if (!gpu) {
    gpu = create(flags) as unknown as GPU;
    g[INSTANCES].set(backend, gpu);
  }
  return gpu;
}

/**
 * Dawn options of every Node instance. Dawn quantizes timestamp queries by default (to 65.536 µs: a browser's defence
 * against timing attacks, which a local process does not need), and the benchmark's per-kernel profiles are made of
 * them: a decode step's kernels take tens of microseconds on a GPU, so quantized they read as 0 or 65.5 µs.
 */
export const DAWN_NODE_FLAGS: readonly string[] = ['disable-dawn-features=timestamp_quantization'];

/** Dawn's `GPU` object (this process's one instance for `backend`) and the adapter options for `backend`. */
export function dawnGpu(backend: DawnBackend = dawnBackendFromEnv()): {
  gpu: GPU;
  adapterOptions: GPURequestAdapterOptions;
} {
  if (backend === 'opengles') {
    // Headless EGL (no display server); Mesa reads it when Dawn opens the display.
    process.env.EGL_PLATFORM ??= 'surfaceless';
    return {
      gpu: dawnInstance(backend, ['backend=opengles', ...DAWN_NODE_FLAGS]),
      adapterOptions: { featureLevel: 'compatibility', powerPreference: 'high-performance' },
    };
  }
  return { gpu: dawnInstance(backend, [...DAWN_NODE_FLAGS]), adapterOptions: { powerPreference: 'high-performance' } };
}

/** A GpuContext on the backend the environment names. */
export function createNodeGpuContext(backend: DawnBackend = dawnBackendFromEnv()): Promise<GpuContext> {
  const { gpu, adapterOptions } = dawnGpu(backend);
  return createGpuContext(gpu, adapterOptions);
}

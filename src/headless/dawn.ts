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

/** Dawn's `GPU` object and the adapter options for `backend`. */
export function dawnGpu(backend: DawnBackend = dawnBackendFromEnv()): {
  gpu: GPU;
  adapterOptions: GPURequestAdapterOptions;
} {
  if (backend === 'opengles') {
    // Headless EGL (no display server); Mesa reads it when Dawn opens the display.
    process.env.EGL_PLATFORM ??= 'surfaceless';
    return {
      gpu: create(['backend=opengles']) as unknown as GPU,
      adapterOptions: { featureLevel: 'compatibility', powerPreference: 'high-performance' },
    };
  }
  return { gpu: create([]) as unknown as GPU, adapterOptions: { powerPreference: 'high-performance' } };
}

/** A GpuContext on the backend the environment names. */
export function createNodeGpuContext(backend: DawnBackend = dawnBackendFromEnv()): Promise<GpuContext> {
  const { gpu, adapterOptions } = dawnGpu(backend);
  return createGpuContext(gpu, adapterOptions);
}

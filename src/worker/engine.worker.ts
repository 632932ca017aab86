/// <reference lib="webworker" />
/**
 * The engine worker: owns the GPUDevice and implements StoptimeWorkerApi, exposed with comlink.
 */
import * as Comlink from 'comlink';
import { createGpuContext, type GpuContext } from '../gpu/context';
import { runSelfTest } from '../train/selftest';
import type { StoptimeWorkerApi } from './api';

let context: Promise<GpuContext> | null = null;

function gpuContext(): Promise<GpuContext> {
  if (!context) {
    context = createGpuContext(navigator.gpu);
    // A failed attempt (no adapter) may succeed later, e.g. after the user enables WebGPU: don't cache the failure.
    context.catch(() => {
      context = null;
    });
  }
  return context;
}

const api = {
  async init() {
    const ctx = await gpuContext();
    return { adapter: ctx.adapterName };
  },
  async selfTest(steps: number, seed: number) {
    return runSelfTest(await gpuContext(), steps, seed);
  },
} satisfies StoptimeWorkerApi;

Comlink.expose(api);

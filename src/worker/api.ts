/**
 * The one interface between the UI and the engine worker (src/worker/engine.worker.ts), called through comlink.
 * The worker owns the GPUDevice; the UI thread never touches the GPU.
 */
import type { SelfTestResult } from '../train/selftest';

export interface EngineInfo {
  /** "vendor / architecture / description" of the adapter. */
  adapter: string;
}

export interface StoptimeWorkerApi {
  /** Creates the GPU device in the worker (once) and describes its adapter. Rejects with a clear message without one. */
  init(): Promise<EngineInfo>;
  /** Trains a small model to reverse digit strings for `steps` steps and returns its loss curve. */
  selfTest(steps: number, seed: number): Promise<SelfTestResult>;
}

export type { SelfTestResult };

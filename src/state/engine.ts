/**
 * Engine state for the UI: the worker connection and what it reported. Components read this store; only its actions
 * talk to the worker.
 */
import * as Comlink from 'comlink';
import { create } from 'zustand';
import type { SelfTestResult, StoptimeWorkerApi } from '../worker/api';

type Status =
  | { kind: 'idle' }
  | { kind: 'running' }
  | { kind: 'done'; result: SelfTestResult }
  | { kind: 'error'; message: string };

interface EngineState {
  adapter: string | null;
  adapterError: string | null;
  selfTest: Status;
  connect(): Promise<void>;
  runSelfTest(steps: number): Promise<void>;
}

let remote: Comlink.Remote<StoptimeWorkerApi> | null = null;

function worker(): Comlink.Remote<StoptimeWorkerApi> {
  if (!remote) {
    const w = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), {
      type: 'module',
      name: 'stoptime-engine',
    });
    remote = Comlink.wrap<StoptimeWorkerApi>(w);
  }
  return remote;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export const useEngine = create<EngineState>((set) => ({
  adapter: null,
  adapterError: null,
  selfTest: { kind: 'idle' },
  async connect() {
    try {
      const info = await worker().init();
      set({ adapter: info.adapter, adapterError: null });
    } catch (e) {
      set({ adapter: null, adapterError: message(e) });
    }
  },
  async runSelfTest(steps: number) {
    set({ selfTest: { kind: 'running' } });
    try {
      const result = await worker().selfTest(steps, 1);
      set({ selfTest: { kind: 'done', result } });
    } catch (e) {
      set({ selfTest: { kind: 'error', message: message(e) } });
    }
  },
}));

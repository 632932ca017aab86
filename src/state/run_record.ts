/**
 * A saved run: what IndexedDB stores (src/state/runs_db.ts) and what a run file carries (src/state/run_file.ts).
 * Plain JSON apart from the checkpoint's Float32Arrays, which live in their own store.
 */
import type { MetricKey } from '../train/metrics';
import type { EvalPoint, TraceSample } from '../train/results';
import type { RunConfig } from '../train/run_config';

export type RunStatus = 'running' | 'paused' | 'stopped' | 'finished' | 'interrupted' | 'imported' | 'error';

export interface MetricPoint {
  step: number;
  /** ms since the run started (training time only). */
  elapsedMs: number;
  values: Partial<Record<MetricKey, number>>;
}

export interface RunRecord {
  /** Unique id (random hex). */
  id: string;
  name: string;
  /** ms since epoch. */
  createdAt: number;
  updatedAt: number;
  config: RunConfig;
  status: RunStatus;
  /** Adapter the run trained on ("NVIDIA … / …", "CPU reference"). */
  adapter: string;
  /** Optimiser steps done. */
  stepsDone: number;
  timeline: MetricPoint[];
  evalPoints: EvalPoint[];
  /** Latest sample generations during training. */
  samples: { step: number; samples: TraceSample[] } | null;
  /** Step of the stored checkpoint (null: none stored). */
  checkpointStep: number | null;
}

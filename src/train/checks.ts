/**
 * Input checks shared by the GPU Trainer (trainer.ts) and the CPU trainer (cpu_trainer.ts), so both backends reject
 * the same bad batches and saved states with the same messages, each naming the field and, where it applies, the
 * position.
 */
import { checkTargetIds, checkTokenIds } from '../model/config';
import type { Batch, TrainerState } from './backend';

/** Rejects a batch whose arrays are not B·T long, whose ids are outside the vocabulary, or whose weights are not finite. */
export function checkBatch(batch: Batch, batchSize: number, seqLen: number, vocabSize: number): void {
  const N = batchSize * seqLen;
  for (const [name, arr] of [
    ['tokens', batch.tokens],
    ['targets', batch.targets],
    ['weights', batch.weights],
  ] as const) {
    if (!arr || arr.length !== N) {
      throw new RangeError(`batch.${name} has ${arr?.length ?? 'no'} entries, expected B·T = ${N}`);
    }
  }
  checkTokenIds(batch.tokens, vocabSize, 'batch.tokens');
  checkTargetIds(batch.targets, vocabSize, 'batch.targets');
  for (let i = 0; i < N; i++) {
    if (!Number.isFinite(batch.weights[i]!)) {
      throw new RangeError(`batch.weights[${i}] = ${batch.weights[i]} is not finite`);
    }
  }
}

function checkArena(value: unknown, field: string, totalElements: number): Float32Array {
  if (!(value instanceof Float32Array)) {
    throw new RangeError(`state.${field} must be a Float32Array of ${totalElements} elements`);
  }
  if (value.length !== totalElements) {
    throw new RangeError(
      `state.${field} has ${value.length} elements, expected ${totalElements} (this model's parameter arena)`,
    );
  }
  for (let i = 0; i < value.length; i++) {
    if (!Number.isFinite(value[i]!)) throw new RangeError(`state.${field}[${i}] = ${value[i]} is not finite`);
  }
  return value;
}

/**
 * Checks a saved trainer state against a model's arena size (`layout.totalElements`) and returns a copy of it, so the
 * caller may reuse its arrays as soon as this returns. Every array must be finite; the second moment must also be
 * ≥ 0 (AdamW takes its square root); the step a non-negative integer.
 */
export function checkTrainerState(state: TrainerState, totalElements: number): TrainerState {
  if (typeof state !== 'object' || state === null) throw new RangeError('state must be an object');
  const params = checkArena(state.params, 'params', totalElements);
  // A missing moment (null, or absent in an imported file) starts from zero.
  const m = state.m === null || state.m === undefined ? null : checkArena(state.m, 'm', totalElements);
  const v = state.v === null || state.v === undefined ? null : checkArena(state.v, 'v', totalElements);
  if (v) {
    for (let i = 0; i < v.length; i++) {
      if (v[i]! < 0) throw new RangeError(`state.v[${i}] = ${v[i]} is negative (a second moment is ≥ 0)`);
    }
  }
  if (!Number.isSafeInteger(state.step) || state.step < 0) {
    throw new RangeError(`state.step must be a non-negative integer, got ${state.step}`);
  }
  return { params: params.slice(), m: m ? m.slice() : null, v: v ? v.slice() : null, step: state.step };
}

/**
 * The lab queue's pure rules (src/state/lab_queue.ts): which method lists can be queued, the items they become, and the
 * queue's transitions: one item at a time in order, a failure goes on to the next, cancel drops the waiting ones, a
 * finished item keeps its run id.
 */
import { describe, expect, it } from 'vitest';
import {
  currentLabItem,
  EMPTY_LAB_QUEUE,
  type LabAction,
  type LabQueueState,
  labBusy,
  labItemSpecs,
  labQueueIssues,
  labQueueReducer,
} from '../../src/state/lab_queue';
import { type LabMethodId, labConfig, labMethodsFor } from '../../src/train/lab_presets';
import { runConfigIssues } from '../../src/train/run_config';

const apply = (q: LabQueueState, ...actions: LabAction[]) => actions.reduce(labQueueReducer, q);
const statuses = (q: LabQueueState) => q.items.map((i) => i.status);
const METHODS: LabMethodId[] = ['answer', 'cot', 'grpo'];
const queued = (n: number) =>
  apply(EMPTY_LAB_QUEUE, { type: 'enqueue', specs: labItemSpecs('sokoban', METHODS.slice(0, n), 'smoke', 4) });

describe('labQueueIssues', () => {
  it('accepts the methods a task offers with a suite size in range', () => {
    const ids = labMethodsFor('sokoban').map((m) => m.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(labQueueIssues('sokoban', ids, 128)).toEqual([]);
  });

  it('names a method the task lacks, a repeated method, no method and a bad suite size', () => {
    expect(labQueueIssues('sokoban', ['nope'], 8).map((i) => i.path)).toEqual(['methods.nope']);
    expect(labQueueIssues('general_points', ['cot', 'nope'], 8)[0]!.message).toMatch(/no method 'nope'/);
    expect(labQueueIssues('sokoban', ['cot', 'cot'], 8).map((i) => i.path)).toEqual(['methods']);
    expect(labQueueIssues('sokoban', [], 8).map((i) => i.path)).toEqual(['methods']);
    for (const size of [0, 2.5, Number.NaN, 5000]) {
      expect(labQueueIssues('sokoban', ['cot'], size).map((i) => i.path)).toEqual(['suiteSize']);
    }
  });
});

describe('labItemSpecs', () => {
  it("makes one item per method in order: the method's config with the suite size, named after the method", () => {
    const specs = labItemSpecs('sokoban', ['grpo', 'answer'], 'paper', 37);
    expect(specs.map((s) => s.label)).toEqual(['GRPO (from short SFT) · sokoban', 'SFT answer-only · sokoban']);
    const expected = labConfig('sokoban', 'grpo', 'paper');
    expect(specs[0]!.config).toEqual({ ...expected, eval: { ...expected.eval, size: 37 } });
    expect(specs[0]!.config.rl).toBeDefined();
    expect(specs[1]!.config.rl).toBeUndefined();
    for (const s of specs) expect(runConfigIssues(s.config)).toEqual([]);
  });

  it('throws, naming the field, for what labQueueIssues refuses', () => {
    expect(() => labItemSpecs('sokoban', ['cot'], 'smoke', 0)).toThrow(/suiteSize/);
  });
});

describe('labQueueReducer', () => {
  it('appends items as queued with fresh ids, and is busy while any waits', () => {
    const q = queued(2);
    expect(statuses(q)).toEqual(['queued', 'queued']);
    expect(q.current).toBeNull();
    expect(labBusy(q)).toBe(true);
    expect(labBusy(EMPTY_LAB_QUEUE)).toBe(false);
    const more = apply(q, { type: 'enqueue', specs: labItemSpecs('general_points', ['cot'], 'smoke', 4) });
    expect(more.items.map((i) => i.id)).toEqual([0, 1, 2]);
    expect(q.items).toHaveLength(2);
  });

  it('works on one item at a time, in order, through its stages, and records the run of a finished item', () => {
    let q = apply(queued(2), { type: 'begin' });
    expect(q.current).toBe(0);
    expect(statuses(q)).toEqual(['training', 'queued']);
    // A second begin while an item is current changes nothing.
    expect(labQueueReducer(q, { type: 'begin' })).toBe(q);
    q = apply(
      q,
      { type: 'run', runId: 'r0' },
      { type: 'stage', status: 'rl' },
      { type: 'stage', status: 'evaluating' },
      { type: 'progress', message: 'suite 2 of 10: size8' },
    );
    expect(currentLabItem(q)).toMatchObject({ status: 'evaluating', runId: 'r0', message: 'suite 2 of 10: size8' });
    q = apply(q, { type: 'finish', status: 'done', message: null });
    expect(q.current).toBeNull();
    expect(q.items[0]).toMatchObject({ status: 'done', runId: 'r0', message: null });
    expect(labBusy(q)).toBe(true);
    q = apply(q, { type: 'begin' });
    expect(q.current).toBe(1);
    expect(statuses(q)).toEqual(['done', 'training']);
  });

  it('goes on to the next item after a failure, keeping the message', () => {
    let q = apply(queued(3), { type: 'begin' }, { type: 'run', runId: 'r0' });
    q = apply(
      q,
      { type: 'finish', status: 'failed', message: 'none of the training examples fits' },
      { type: 'begin' },
    );
    expect(statuses(q)).toEqual(['failed', 'training', 'queued']);
    expect(q.items[0]!.message).toBe('none of the training examples fits');
    expect(q.items[0]!.runId).toBe('r0');
    expect(q.current).toBe(1);
  });

  it('cancel drops the queued items and asks the current one to end; the queue is then idle', () => {
    let q = apply(queued(3), { type: 'begin' }, { type: 'run', runId: 'r0' }, { type: 'cancel' });
    expect(statuses(q)).toEqual(['training', 'cancelled', 'cancelled']);
    expect(q.cancelRequested).toBe(true);
    expect(labBusy(q)).toBe(true);
    q = apply(q, { type: 'finish', status: 'cancelled', message: 'stopped at step 1' });
    expect(q.cancelRequested).toBe(false);
    expect(labBusy(q)).toBe(false);
    expect(apply(q, { type: 'begin' }).current).toBeNull();
    expect(q.items[0]).toMatchObject({ status: 'cancelled', runId: 'r0', message: 'stopped at step 1' });
    // Items queued after a cancel run normally.
    q = apply(q, { type: 'enqueue', specs: labItemSpecs('sokoban', ['answer'], 'smoke', 4) }, { type: 'begin' });
    expect(statuses(q)).toEqual(['cancelled', 'cancelled', 'cancelled', 'training']);
    expect(q.cancelRequested).toBe(false);
  });

  it('cancel between items cancels the waiting ones without asking anything of an item', () => {
    const q = apply(queued(2), { type: 'cancel' });
    expect(statuses(q)).toEqual(['cancelled', 'cancelled']);
    expect(q.cancelRequested).toBe(false);
    expect(labBusy(q)).toBe(false);
  });

  it('refuses stage, run and finish actions without a current item', () => {
    for (const action of [
      { type: 'run', runId: 'r' },
      { type: 'stage', status: 'rl' },
      { type: 'progress', message: 'x' },
      { type: 'finish', status: 'done', message: null },
    ] as const) {
      expect(() => labQueueReducer(queued(1), action)).toThrow(`'${action.type}' needs a current item`);
    }
  });
});

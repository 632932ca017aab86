/**
 * The lab queue (pure): methods of the SFT-generalization lab (src/train/lab_presets.ts) queued in the playground and
 * worked on one at a time by the store (`queueLab`): each item's run is trained (SFT, then the RL stage when its
 * config has one), then evaluated on every suite of its task. This module holds the queue's state and its
 * transitions; the store owns the side effects (sessions, worker calls, saving) and dispatches these actions.
 *
 * Item lifecycle: queued → training → (rl →) evaluating → done; any stage may end in failed (with the reason) or
 * cancelled. A failed or cancelled item does not stop the queue: the next queued item begins. `cancel` drops every
 * queued item and asks the current one to end (the store also stops its session).
 */
import type { ConfigIssue } from '../model/config';
import {
  LAB_METHODS,
  type LabMethodId,
  type LabScale,
  type LabTask,
  labConfig,
  labMethodsFor,
} from '../train/lab_presets';
import { evalConfigSchema, type RunConfig } from '../train/run_config';

export type LabItemStatus = 'queued' | 'training' | 'rl' | 'evaluating' | 'done' | 'failed' | 'cancelled';

/** Statuses of an item being worked on (the queue's current item). */
export type LabStageStatus = Extract<LabItemStatus, 'training' | 'rl' | 'evaluating'>;
/** Statuses an item ends in. */
export type LabEndStatus = Extract<LabItemStatus, 'done' | 'failed' | 'cancelled'>;

export interface LabItem {
  /** Unique within the queue (items are only appended). */
  id: number;
  task: LabTask;
  method: LabMethodId;
  scale: LabScale;
  /** The run's name: method label and task ("SFT chain-of-thought · sokoban"). */
  label: string;
  /** What the run trains and is evaluated with (labConfig, eval.size = the suite size chosen). */
  config: RunConfig;
  status: LabItemStatus;
  /** Why the item failed or was cancelled; null otherwise. */
  message: string | null;
  /** The run it trains, once created. */
  runId: string | null;
}

export interface LabQueueState {
  items: readonly LabItem[];
  /** Index in `items` of the item being worked on; null between items and when idle. */
  current: number | null;
  /** Cancel arrived while an item was current: the store ends it before its next stage. */
  cancelRequested: boolean;
  /** Id of the next item appended. */
  nextId: number;
}

export const EMPTY_LAB_QUEUE: LabQueueState = { items: [], current: null, cancelRequested: false, nextId: 0 };

export type LabAction =
  /** Appends items (from labItemSpecs) as 'queued'. */
  | { type: 'enqueue'; specs: readonly LabItemSpec[] }
  /** Makes the first queued item current ('training'); no change when none is queued or one is current. */
  | { type: 'begin' }
  /** The current item's run was created. */
  | { type: 'run'; runId: string }
  /** The current item moves on to its RL stage or its suite evaluation. */
  | { type: 'stage'; status: Exclude<LabStageStatus, 'training'> }
  /** A progress note on the current item (e.g. which suite is being evaluated). */
  | { type: 'progress'; message: string }
  /** The current item ends; the queue is between items until the next 'begin'. */
  | { type: 'finish'; status: LabEndStatus; message: string | null }
  /** Every queued item is cancelled; the current one (if any) is asked to end. */
  | { type: 'cancel' };

/** An item before it is queued. */
export type LabItemSpec = Pick<LabItem, 'task' | 'method' | 'scale' | 'label' | 'config'>;

/** Largest suite size (the evaluation set's limit). */
const suiteSizeSchema = evalConfigSchema.shape.size;

/**
 * What keeps `methods` of `task` from being queued with `suiteSize` problems per suite (empty: nothing): no method
 * ticked, a method the task cannot run (the diverse ones need a diverse-instruction variant), a method named twice,
 * or a suite size outside the evaluation set's range.
 */
export function labQueueIssues(task: LabTask, methods: readonly string[], suiteSize: number): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const available = labMethodsFor(task).map((m) => m.id as string);
  if (methods.length === 0) issues.push({ path: 'methods', message: 'tick at least one method' });
  for (const id of methods) {
    if (!available.includes(id)) {
      issues.push({
        path: `methods.${id}`,
        message: `task '${task}' has no method '${id}' (methods: ${available.join(', ')})`,
      });
    }
  }
  if (new Set(methods).size !== methods.length) issues.push({ path: 'methods', message: 'must not repeat a method' });
  const sizeIssue = suiteSizeIssue(suiteSize);
  if (sizeIssue !== null) issues.push({ path: 'suiteSize', message: sizeIssue });
  return issues;
}

/** What is wrong with a number of problems per suite (the evaluation set's rule), or null. */
export function suiteSizeIssue(suiteSize: number): string | null {
  const size = suiteSizeSchema.safeParse(suiteSize);
  return size.success ? null : size.error.issues.map((i) => i.message).join('; ');
}

/** The run name of a method on a task. */
export function labRunLabel(task: LabTask, method: LabMethodId): string {
  const m = LAB_METHODS.find((x) => x.id === method);
  if (!m) throw new Error(`no lab method '${method}'`);
  return `${m.label} · ${task}`;
}

/**
 * The items of `methods` of `task` at `scale` with `suiteSize` problems per suite (the config's evaluation size, so
 * the run records what it was evaluated on), in the order given. Throws, naming the fields, where labQueueIssues
 * finds a problem.
 */
export function labItemSpecs(
  task: LabTask,
  methods: readonly LabMethodId[],
  scale: LabScale,
  suiteSize: number,
  seed = 1,
): LabItemSpec[] {
  const issues = labQueueIssues(task, methods, suiteSize);
  if (issues.length > 0) throw new Error(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
  return methods.map((method) => {
    const config = labConfig(task, method, scale, seed);
    return {
      task,
      method,
      scale,
      label: labRunLabel(task, method),
      config: { ...config, eval: { ...config.eval, size: suiteSize } },
    };
  });
}

/** Whether the queue has work: an item being worked on, or one waiting. */
export function labBusy(q: LabQueueState): boolean {
  return q.current !== null || q.items.some((i) => i.status === 'queued');
}

/** The item being worked on, or null. */
export function currentLabItem(q: LabQueueState): LabItem | null {
  return q.current === null ? null : (q.items[q.current] ?? null);
}

function withCurrent(q: LabQueueState, action: string, update: (item: LabItem) => LabItem): LabQueueState {
  const item = currentLabItem(q);
  if (q.current === null || item === null) throw new Error(`lab queue: '${action}' needs a current item, none is`);
  const items = q.items.slice();
  items[q.current] = update(item);
  return { ...q, items };
}

/** The queue after `action` (a new state; `q` is not changed). Throws for an action the state cannot take. */
export function labQueueReducer(q: LabQueueState, action: LabAction): LabQueueState {
  switch (action.type) {
    case 'enqueue': {
      const added = action.specs.map(
        (spec, i): LabItem => ({ ...spec, id: q.nextId + i, status: 'queued', message: null, runId: null }),
      );
      return { ...q, items: [...q.items, ...added], nextId: q.nextId + added.length };
    }
    case 'begin': {
      if (q.current !== null) return q;
      const next = q.items.findIndex((i) => i.status === 'queued');
      if (next < 0) return q;
      const items = q.items.slice();
      items[next] = { ...q.items[next]!, status: 'training' };
      return { ...q, items, current: next, cancelRequested: false };
    }
    case 'run':
      return withCurrent(q, action.type, (item) => ({ ...item, runId: action.runId }));
    case 'stage':
      return withCurrent(q, action.type, (item) => ({ ...item, status: action.status }));
    case 'progress':
      return withCurrent(q, action.type, (item) => ({ ...item, message: action.message }));
    case 'finish': {
      const done = withCurrent(q, action.type, (item) => ({ ...item, status: action.status, message: action.message }));
      return { ...done, current: null, cancelRequested: false };
    }
    case 'cancel': {
      const items = q.items.map(
        (i): LabItem =>
          i.status === 'queued' ? { ...i, status: 'cancelled', message: 'cancelled before it started' } : i,
      );
      return { ...q, items, cancelRequested: q.current !== null };
    }
  }
}

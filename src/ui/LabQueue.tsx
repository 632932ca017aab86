/**
 * The lab queue panel: pick a task of the SFT-generalization lab, tick its methods (src/train/lab_presets.ts; each
 * with the settings it changes), choose the scale and the problems per evaluation suite, and queue them. The store
 * (`queueLab`) trains and evaluates them one at a time; the list shows each item's status, its live step while it
 * trains, and why it failed. Cancel stops the current item's run and drops the queued ones.
 */
import { memo, useMemo, useState } from 'react';
import { type LabItem, labBusy, labQueueIssues } from '../state/lab_queue';
import { engineBusy, isActive, useStore } from '../state/store';
import {
  LAB_TASKS,
  type LabMethod,
  type LabMethodId,
  type LabScale,
  type LabTask,
  labConfig,
  labMethodsFor,
} from '../train/lab_presets';
import { issueAt, NumberField, SelectField } from './fields';

const TASK_LABEL: Record<LabTask, string> = { sokoban: 'Sokoban', general_points: 'General Points (24 game)' };
const TASK_OPTIONS = LAB_TASKS.map((t) => ({ value: t, label: TASK_LABEL[t] }));
const SCALE_OPTIONS: readonly { value: LabScale; label: string }[] = [
  { value: 'paper', label: 'paper (the published preset, for a GPU)' },
  { value: 'software', label: 'software (narrow model, 200 steps: fits a machine without a GPU)' },
  { value: 'smoke', label: 'smoke (pipeline check, not a result)' },
];

const STATUS_TEXT: Record<LabItem['status'], string> = {
  queued: 'queued',
  training: 'training (SFT)',
  rl: 'training (RL)',
  evaluating: 'evaluating suites',
  done: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** The default problems per suite of a task at a scale (every method of a task shares its evaluation settings). */
const defaultSuiteSize = (task: LabTask, scale: LabScale) => labConfig(task, 'answer', scale).eval.size;

function MethodRow({
  method,
  task,
  scale,
  checked,
  onToggle,
}: {
  method: LabMethod;
  task: LabTask;
  scale: LabScale;
  checked: boolean;
  onToggle(on: boolean): void;
}) {
  const c = labConfig(task, method.id, scale);
  const id = `lab-method-${method.id}`;
  return (
    <tr>
      <td>
        <label className="check" htmlFor={id}>
          <input
            id={id}
            type="checkbox"
            checked={checked}
            onChange={(e) => onToggle(e.target.checked)}
            data-testid={id}
          />
          {method.label}
        </label>
      </td>
      <td>{c.task.targetStyle === 'cot' ? 'CoT' : 'answer'}</td>
      <td>{c.task.instructions}</td>
      <td className="num">{c.sft.steps}</td>
      <td className="num">{c.rl ? c.rl.steps : '—'}</td>
    </tr>
  );
}

const LabItemRow = memo(function LabItemRow({ item, index }: { item: LabItem; index: number }) {
  const runId = item.runId;
  const live = useStore((s) =>
    isActive(s.session) && runId !== null && s.session.runId === runId
      ? `step ${s.session.step} / ${s.session.totalSteps}${s.session.state === 'paused' ? ' (paused)' : ''}`
      : null,
  );
  const suites = useStore((s) => (runId === null ? null : (s.runs[runId]?.suiteResults?.length ?? null)));
  const selectRun = useStore((s) => s.selectRun);
  const hasRun = useStore((s) => runId !== null && s.runs[runId] !== undefined);
  return (
    <li className={`lab-item lab-${item.status}`} data-testid={`lab-item-${index}`} data-status={item.status}>
      <div className="run-line">
        <span className="lab-item-name">{item.label}</span>
        <span className="muted small">{item.scale}</span>
      </div>
      <div className="run-meta">
        <span className="lab-status" data-testid={`lab-item-${index}-status`}>
          {STATUS_TEXT[item.status]}
        </span>
        {live && <span data-testid={`lab-item-${index}-step`}> · {live}</span>}
        {item.status === 'done' && suites !== null && <span> · {suites} suites</span>}
        {hasRun && runId !== null && (
          <>
            {' '}
            <button type="button" className="link" onClick={() => selectRun(runId)}>
              show run
            </button>
          </>
        )}
      </div>
      {item.message && <div className="lab-message">{item.message}</div>}
    </li>
  );
});

function LabItems() {
  const items = useStore((s) => s.lab.items);
  if (items.length === 0) return <p className="muted small">Queued methods appear here, one run each.</p>;
  return (
    <ol className="runs lab-items">
      {items.map((item, i) => (
        <LabItemRow key={item.id} item={item} index={i} />
      ))}
    </ol>
  );
}

export function LabQueue() {
  const [task, setTask] = useState<LabTask>('sokoban');
  const [scale, setScale] = useState<LabScale>('paper');
  const [unticked, setUnticked] = useState<ReadonlySet<LabMethodId>>(() => new Set());
  const [suiteSize, setSuiteSize] = useState(() => defaultSuiteSize('sokoban', 'paper'));
  const engineReady = useStore((s) => s.engine !== null);
  const labRunning = useStore((s) => labBusy(s.lab));
  // A run outside the queue is training: the queue would have to wait for it, so it is not offered.
  const otherRun = useStore((s) => isActive(s.session) && !labBusy(s.lab));
  const suitesRunning = useStore((s) => s.suitesEval !== null);
  const { queueLab, cancelLab } = useStore.getState();
  const methods = useMemo(() => labMethodsFor(task), [task]);
  const ticked = methods.filter((m) => !unticked.has(m.id)).map((m) => m.id);
  const issues = labQueueIssues(task, ticked, suiteSize);
  const blocker = !engineReady
    ? 'The engine is starting.'
    : otherRun
      ? 'A run is training: let it finish or stop it first.'
      : suitesRunning
        ? 'A suite evaluation is running: let it finish or cancel it first.'
        : issues.length > 0
          ? issues.map((i) => i.message).join('; ')
          : null;
  const toggle = (id: LabMethodId, on: boolean) =>
    setUnticked((prev) => {
      const next = new Set(prev);
      if (on) next.delete(id);
      else next.add(id);
      return next;
    });
  return (
    <section className="panel" aria-labelledby="lab-queue-title" data-testid="lab-queue-panel">
      <h2 id="lab-queue-title">
        Lab queue <span className="subtitle">(methods trained and evaluated one at a time)</span>
      </h2>
      <div className="form-grid">
        <SelectField
          label="Task"
          value={task}
          options={TASK_OPTIONS}
          onChange={(t) => {
            setTask(t);
            setSuiteSize(defaultSuiteSize(t, scale));
          }}
          testId="lab-task"
        />
        <SelectField
          label="Scale"
          value={scale}
          options={SCALE_OPTIONS}
          onChange={(s) => {
            setScale(s);
            setSuiteSize(defaultSuiteSize(task, s));
          }}
          hint={
            scale === 'smoke'
              ? "A few steps of the small model, to check the pipeline end to end; its context can't hold Sokoban's CoT targets, so those methods fail the data check."
              : scale === 'software'
                ? "Sized for a software adapter (well under an hour per task on two CPU cores with Dawn's OpenGL ES backend): a measurement of the pipeline at a scale that cannot reproduce the paper."
                : undefined
          }
          testId="lab-scale"
        />
        <NumberField
          label="Problems per suite"
          value={suiteSize}
          onChange={setSuiteSize}
          issue={issueAt(issues, 'suiteSize')}
          min={1}
          step={1}
          hint={`default ${defaultSuiteSize(task, scale)} (Sokoban: episodes)`}
          testId="lab-suite-size"
        />
      </div>
      <table className="lab-methods">
        <thead>
          <tr>
            <th>Method</th>
            <th>target</th>
            <th>instructions</th>
            <th className="num">SFT steps</th>
            <th className="num">RL steps</th>
          </tr>
        </thead>
        <tbody>
          {methods.map((m) => (
            <MethodRow
              key={m.id}
              method={m}
              task={task}
              scale={scale}
              checked={!unticked.has(m.id)}
              onToggle={(on) => toggle(m.id, on)}
            />
          ))}
        </tbody>
      </table>
      <div className="button-row">
        <button
          type="button"
          className="primary"
          data-testid="lab-queue"
          disabled={blocker !== null}
          title={blocker ?? undefined}
          onClick={() => queueLab(task, ticked, scale, { suiteSize })}
        >
          Queue {ticked.length} {ticked.length === 1 ? 'method' : 'methods'}
        </button>
        <button type="button" data-testid="lab-cancel" disabled={!labRunning} onClick={() => void cancelLab()}>
          Cancel
        </button>
      </div>
      {blocker !== null && issueAt(issues, 'suiteSize') === null && (
        <p className="muted small" data-testid="lab-queue-reason">
          {blocker}
        </p>
      )}
      <p className="muted small">
        Each method becomes one run: SFT, then RL from its checkpoint for GRPO, then every evaluation suite of the task
        (saved with the run). Stop ends the current method's run and the queue goes on; Cancel also drops the queued
        ones.
      </p>
      <LabItems />
      <EvaluateSelectedRun suiteSize={suiteSize} sizeValid={issueAt(issues, 'suiteSize') === null} />
    </section>
  );
}

/**
 * Suites for a run trained outside the queue, imported, or whose queue item was interrupted (a reload loses the
 * queue): the selected run's weights on every suite of its task, with the suite size above.
 */
function EvaluateSelectedRun({ suiteSize, sizeValid }: { suiteSize: number; sizeValid: boolean }) {
  const run = useStore((s) => (s.activeRunId === null ? null : (s.runs[s.activeRunId] ?? null)));
  const suitesEval = useStore((s) => s.suitesEval);
  const free = useStore((s) => s.engine !== null && !isActive(s.session) && !engineBusy(s));
  const { evaluateRunSuites, cancelRunSuites } = useStore.getState();
  const blocker =
    run === null
      ? 'Select a run in the runs list.'
      : run.checkpointStep === null
        ? 'The selected run has no saved weights.'
        : !sizeValid
          ? 'Fix the number of problems per suite.'
          : null;
  return (
    <div className="lab-evaluate">
      <div className="button-row">
        <button
          type="button"
          data-testid="lab-evaluate-run"
          disabled={!free || blocker !== null}
          title={blocker ?? undefined}
          onClick={() => run && void evaluateRunSuites(run.id, suiteSize)}
        >
          Evaluate suites of {run ? `'${run.name}'` : 'the selected run'}
        </button>
        <button
          type="button"
          data-testid="lab-evaluate-cancel"
          disabled={suitesEval === null || suitesEval.cancelRequested}
          onClick={() => cancelRunSuites()}
        >
          Cancel evaluation
        </button>
      </div>
      {suitesEval !== null && (
        <p className="muted small" data-testid="lab-evaluate-status">
          {suitesEval.cancelRequested ? 'cancelling after the current suite… ' : ''}
          {suitesEval.message}
        </p>
      )}
    </div>
  );
}

/**
 * The training panel: every training setting of the one RunConfig in the store (validated inline with
 * sftConfigIssues: the RL settings are the RL panel's), the session controls (Start / Pause / Resume / Stop, Copy
 * link) and the live numbers of the run in training (step, losses, tokens/s, step time, progress and time left,
 * latest sample generations).
 */
import { memo, useMemo } from 'react';
import { totalStepsOf } from '../runs/run_record';
import { engineBusy, isActive, useStore } from '../state/store';
import { getTask } from '../tasks/index';
import { CONTEXT_CHOICES_TOKENS, contextFit, fittedModel } from '../train/context_fit';
import { METRIC } from '../train/metrics';
import {
  contextLengthFor,
  PLAYGROUND_MODELS,
  type PlaygroundModel,
  type RunConfig,
  sftConfigIssues,
} from '../train/run_config';
import { formatCompact, formatNumber, formatSeconds, latestValues, percent } from './chart_data';
import { issueAt, NumberField, SelectField } from './fields';
import { sftStartBlocker } from './start_reason';
import { TraceList } from './TraceList';

const TASKS = [
  { value: 'arithmetic', label: 'arithmetic' },
  { value: 'general_points', label: 'general points (24 game)' },
  { value: 'sokoban', label: 'sokoban' },
] as const;

const SIZES = (Object.keys(PLAYGROUND_MODELS) as PlaygroundModel[]).map((size) => {
  const m = PLAYGROUND_MODELS[size];
  return { value: size, label: `${size} (${m.nLayers}L·d${m.dModel})` };
});

/** Paths that have their own field; other issues are listed under the form. */
const FIELD_PATHS = [
  'seed',
  'task.id',
  'task.targetStyle',
  'task.instructions',
  'task.arithmeticMaxDigits',
  'task.arithmeticTraceStyle',
  'task.arithmeticMaxThinkTokens',
  'model',
  'sft.steps',
  'sft.batchSize',
  'sft.trainSize',
  'sft.data',
  'sft.learningRate',
  'sft.warmupSteps',
  'sft.weightDecay',
  'sft.gradClipNorm',
  'sft.evalLossEverySteps',
  'sft.samplesEverySteps',
  'sft.checkpointEverySteps',
  'eval',
  'decode',
];

function TrainForm() {
  const config = useStore((s) => s.config);
  const setConfig = useStore((s) => s.setConfig);
  const locked = useStore((s) => isActive(s.session));
  const limits = useStore((s) => s.engine?.limits ?? null);
  // The RL settings' issues are the RL panel's (RlPanel.tsx): they neither show here nor block Start. The batch is
  // checked against the adapter's limits while it is typed.
  const issues = useMemo(() => sftConfigIssues(config, limits), [config, limits]);
  const at = (path: string) => issueAt(issues, path);
  const others = issues.filter((i) => !FIELD_PATHS.some((p) => i.path === p || i.path.startsWith(`${p}.`)));
  // The tiny model's context follows the task it trains on (src/train/context_fit.ts).
  const task = (patch: Partial<RunConfig['task']>) =>
    setConfig((c) => {
      const next = { ...c, task: { ...c.task, ...patch } };
      return next.model.size === 'tiny' ? { ...next, model: fittedModel(next, 'tiny') } : next;
    });
  const { seed, task: taskSettings } = config;
  const lengthTags = config.sft.lengthTags;
  const fit = useMemo(
    () => contextFit({ seed, task: taskSettings, sft: { lengthTags } }),
    [seed, taskSettings, lengthTags],
  );
  const context = contextLengthFor(config.model);
  const sft = (patch: Partial<RunConfig['sft']>) => setConfig((c) => ({ ...c, sft: { ...c.sft, ...patch } }));
  const hasDiverse = getTask(config.task.id).diverseVariant !== null;

  return (
    <fieldset className="form-grid" disabled={locked}>
      <legend className="sr-only">Training settings</legend>
      <SelectField
        label="Task"
        value={config.task.id}
        options={TASKS}
        onChange={(id) => task({ id })}
        issue={at('task.id')}
        testId="task-select"
      />
      <SelectField
        label="Target style"
        value={config.task.targetStyle}
        options={[
          { value: 'cot', label: 'CoT: think + answer' },
          { value: 'answer', label: 'answer only' },
        ]}
        onChange={(targetStyle) => task({ targetStyle })}
        issue={at('task.targetStyle')}
      />
      <SelectField
        label="Instructions"
        value={config.task.instructions}
        options={[
          { value: 'fixed', label: 'fixed' },
          { value: 'diverse', label: 'diverse' },
        ]}
        onChange={(instructions) => task({ instructions })}
        disabled={!hasDiverse}
        issue={at('task.instructions')}
        hint={hasDiverse ? 'diverse-instruction variant' : 'sokoban and general points have a diverse variant'}
      />
      <SelectField
        label="Model size"
        value={config.model.size}
        options={SIZES}
        onChange={(size) => setConfig((c) => ({ ...c, model: fittedModel(c, size) }))}
        issue={issueAt(
          issues.filter((i) => i.path !== 'model.contextLength'),
          'model',
        )}
        hint={`${PLAYGROUND_MODELS[config.model.size].nHeads} heads; tiny's context is fitted to the task`}
        testId="model-size"
      />
      <SelectField
        label="Context (tokens)"
        value={String(config.model.contextLength ?? 'size')}
        options={[
          { value: 'size', label: `the size's (${PLAYGROUND_MODELS[config.model.size].contextLength})` },
          ...CONTEXT_CHOICES_TOKENS.map((t) => ({ value: String(t), label: String(t) })),
        ]}
        onChange={(v) =>
          setConfig((c) => ({
            ...c,
            model: v === 'size' ? { size: c.model.size } : { size: c.model.size, contextLength: Number(v) },
          }))
        }
        issue={at('model.contextLength')}
        hint={`holds ${percent(fit.share(context), 0)} of the task's training examples (longest ${fit.longestTokens} tokens)`}
        testId="model-context"
      />
      {config.task.id === 'arithmetic' && (
        <>
          <NumberField
            label="Operand digits"
            value={config.task.arithmeticMaxDigits}
            onChange={(v) => task({ arithmeticMaxDigits: v })}
            issue={at('task.arithmeticMaxDigits')}
            min={1}
            max={6}
            step={1}
          />
          <SelectField
            label="Trace style"
            value={config.task.arithmeticTraceStyle}
            options={[
              { value: 'distilled', label: 'distilled' },
              { value: 'concise', label: 'concise' },
              { value: 'review', label: 'review (slips fixed after the result)' },
            ]}
            onChange={(v) => task({ arithmeticTraceStyle: v })}
            issue={at('task.arithmeticTraceStyle')}
          />
          <NumberField
            label="Max thinking (tokens)"
            value={config.task.arithmeticMaxThinkTokens}
            onChange={(v) => task({ arithmeticMaxThinkTokens: v })}
            issue={at('task.arithmeticMaxThinkTokens')}
            min={8}
            max={400}
            step={1}
          />
        </>
      )}
      <NumberField
        label="Seed"
        value={config.seed}
        onChange={(seed) => setConfig((c) => ({ ...c, seed }))}
        issue={at('seed')}
        min={0}
        step={1}
        testId="seed"
      />
      <NumberField
        label="SFT steps"
        value={config.sft.steps}
        onChange={(steps) => sft({ steps })}
        issue={at('sft.steps')}
        min={1}
        step={1}
        testId="sft-steps"
      />
      <NumberField
        label="Batch size (sequences)"
        value={config.sft.batchSize}
        onChange={(batchSize) => sft({ batchSize })}
        issue={at('sft.batchSize')}
        min={1}
        step={1}
        testId="batch-size"
      />
      <NumberField
        label="Learning rate"
        value={config.sft.learningRate}
        onChange={(learningRate) => sft({ learningRate })}
        issue={at('sft.learningRate')}
        min={0}
        testId="learning-rate"
      />
      <NumberField
        label="Train set (examples)"
        value={config.sft.trainSize}
        onChange={(trainSize) => sft({ trainSize })}
        issue={at('sft.trainSize')}
        min={1}
        step={1}
        {...(config.sft.data === 'fresh'
          ? { hint: 'With fresh data: the probe set whose longest example sets the training window' }
          : {})}
      />
      <SelectField
        label="Training data"
        value={config.sft.data ?? 'fixed'}
        options={[
          { value: 'fixed', label: 'fixed set (train set, in epochs)' },
          { value: 'fresh', label: 'fresh example every row' },
        ]}
        onChange={(data) => sft({ data })}
        issue={at('sft.data')}
        testId="sft-data"
      />
      <NumberField
        label="Warm-up (steps)"
        value={config.sft.warmupSteps}
        onChange={(warmupSteps) => sft({ warmupSteps })}
        issue={at('sft.warmupSteps')}
        min={0}
        step={1}
      />
      <NumberField
        label="Weight decay"
        value={config.sft.weightDecay}
        onChange={(weightDecay) => sft({ weightDecay })}
        issue={at('sft.weightDecay')}
        min={0}
      />
      <NumberField
        label="Grad clip (L2 norm)"
        value={config.sft.gradClipNorm}
        onChange={(gradClipNorm) => sft({ gradClipNorm })}
        issue={at('sft.gradClipNorm')}
        min={0}
      />
      <NumberField
        label="Eval loss every (steps)"
        value={config.sft.evalLossEverySteps}
        onChange={(v) => sft({ evalLossEverySteps: v })}
        issue={at('sft.evalLossEverySteps')}
        min={0}
        step={1}
        hint="0 = never"
      />
      <NumberField
        label="Samples every (steps)"
        value={config.sft.samplesEverySteps}
        onChange={(v) => sft({ samplesEverySteps: v })}
        issue={at('sft.samplesEverySteps')}
        min={0}
        step={1}
        hint="0 = never"
      />
      <NumberField
        label="Checkpoint every (steps)"
        value={config.sft.checkpointEverySteps}
        onChange={(v) => sft({ checkpointEverySteps: v })}
        issue={at('sft.checkpointEverySteps')}
        min={1}
        step={1}
      />
      {others.length > 0 && (
        <ul className="issue-list" role="alert">
          {others.map((i) => (
            <li key={`${i.path}:${i.message}`}>
              {i.path}: {i.message}
            </li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}

function TrainControls() {
  const state = useStore((s) => s.session?.state ?? null);
  const engineReady = useStore((s) => s.engine !== null);
  const limits = useStore((s) => s.engine?.limits ?? null);
  const busy = useStore(engineBusy);
  const measuringAdapter = useStore((s) => s.measuringAdapter);
  const config = useStore((s) => s.config);
  const issues = useMemo(() => sftConfigIssues(config, limits), [config, limits]);
  const { start, pause, resume, stop, copyLink } = useStore.getState();
  const active = state === 'running' || state === 'paused' || state === 'starting';
  const blocker = sftStartBlocker({ engineReady, training: active, engineBusy: busy, measuringAdapter, issues });
  return (
    <>
      <div className="button-row">
        <button
          type="button"
          className="primary"
          data-testid="train-start"
          disabled={active || blocker !== null}
          onClick={() => void start()}
          title={blocker ?? undefined}
        >
          Start
        </button>
        <button type="button" data-testid="train-pause" disabled={state !== 'running'} onClick={() => void pause()}>
          Pause
        </button>
        <button type="button" data-testid="train-resume" disabled={state !== 'paused'} onClick={() => void resume()}>
          Resume
        </button>
        <button type="button" data-testid="train-stop" disabled={!active} onClick={() => void stop()}>
          Stop
        </button>
        <button type="button" className="ghost" data-testid="copy-link" onClick={() => void copyLink()}>
          Copy link
        </button>
      </div>
      {blocker !== null && (
        <p className="muted small" data-testid="train-start-reason">
          {blocker}
        </p>
      )}
    </>
  );
}

const LiveStats = memo(function LiveStats() {
  const session = useStore((s) => s.session);
  const live = useStore((s) => s.live);
  const activeRun = useStore((s) => (s.activeRunId === null ? null : (s.runs[s.activeRunId] ?? null)));
  const showSession = session !== null && session.runId === activeRun?.id;
  // Numbers of the session while it is shown, else the last ones the shown run recorded.
  const values = useMemo(
    () => (showSession ? live : activeRun ? latestValues(activeRun.timeline) : {}),
    [showSession, live, activeRun],
  );
  const step = showSession ? session.step : (activeRun?.stepsDone ?? 0);
  // A run continued by an RL stage counts its SFT steps before the stage plus the stage's steps.
  const total = showSession ? session.totalSteps : activeRun ? totalStepsOf(activeRun) : 0;
  const fraction = values[METRIC.progressFraction] ?? (total > 0 ? step / total : 0);
  const state = showSession ? session.state : (activeRun?.status ?? 'idle');
  const secondsLeft = values[METRIC.secondsLeft];
  return (
    <div className="live">
      <div className="stat-grid">
        <div className="stat">
          <span className="stat-label">step</span>
          <span className="stat-value">
            <span data-testid="step-counter">{step}</span>
            <span className="muted"> / {total}</span>
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">train loss</span>
          <span className="stat-value" data-testid="train-loss">
            {formatNumber(values[METRIC.trainLoss], 4)}
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">eval loss</span>
          <span className="stat-value" data-testid="eval-loss">
            {formatNumber(values[METRIC.evalLoss], 4)}
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">tokens/s</span>
          <span className="stat-value" data-testid="tokens-per-second">
            {formatCompact(values[METRIC.tokensPerSecond])}
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">step time (ms)</span>
          <span className="stat-value" data-testid="step-time">
            {formatNumber(values[METRIC.stepTimeMs], 1)}
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">examples seen (distinct)</span>
          <span className="stat-value" data-testid="examples-seen">
            {formatCompact(values[METRIC.examplesSeen])}
            <span className="muted"> ({formatCompact(values[METRIC.distinctExamples])})</span>
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">state</span>
          <span className={`stat-value state state-${state}`} data-testid="train-state">
            {state}
          </span>
        </div>
      </div>
      <div className="progress">
        <progress aria-label="Training progress" value={Math.min(1, Math.max(0, fraction))} max={1} />
        <span className="progress-text">
          {(100 * Math.min(1, Math.max(0, fraction))).toFixed(1)}%
          {showSession && (session.state === 'running' || session.state === 'paused') && secondsLeft !== undefined && (
            <> · {formatSeconds(secondsLeft)} left</>
          )}
        </span>
      </div>
      {showSession && session.message && <p className="muted small">{session.message}</p>}
    </div>
  );
});

const LiveSamples = memo(function LiveSamples() {
  const samples = useStore((s) => (s.activeRunId === null ? null : (s.runs[s.activeRunId]?.samples ?? null)));
  if (!samples) return <p className="muted small">Sample generations appear here during training.</p>;
  return (
    <div>
      <h3 className="subhead">Samples at step {samples.step} (greedy)</h3>
      <TraceList samples={samples.samples} limit={4} />
    </div>
  );
});

export function TrainPanel() {
  return (
    <section className="panel" aria-labelledby="train-title">
      <h2 id="train-title">Train</h2>
      <TrainForm />
      <TrainControls />
      <LiveStats />
      <LiveSamples />
    </section>
  );
}

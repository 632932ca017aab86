/**
 * The RL panel (GRPO / TLDR, src/train/grpo.ts): the RL settings of the edited config (`config.rl`, the defaults when
 * absent), the reward formula in use, a button that continues the active run from its checkpoint with an RL stage
 * (checked with the rule the store's startRl applies, rlStageConfig, and saying why when it cannot), the stage's live
 * numbers, a small chart of reward and thinking length per level over the RL steps, and a viewer of
 * the latest rollouts (the G completions of one prompt with their rewards and advantages).
 */
import { memo, useMemo } from 'react';
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  type XAxisTickContentProps,
  YAxis,
  type YAxisTickContentProps,
} from 'recharts';
import type { ConfigIssue } from '../model/config';
import { hasRlSteps, type MetricPoint } from '../runs/run_record';
import { labBusy } from '../state/lab_queue';
import { isActive, useStore } from '../state/store';
import type { LengthTag } from '../tasks/types';
import { METRIC, RL_THINKING_TOKENS_BY_LEVEL } from '../train/metrics';
import { rewardFormula } from '../train/rewards';
import { type RlConfig, rlConfigFor, rlStageConfig } from '../train/run_config';
import { formatNumber, latestValues, percent } from './chart_data';
import { issueAt, NumberField, SelectField } from './fields';

const LEVELS: readonly LengthTag[] = ['short', 'medium', 'long'];
const LEVEL_COLOR: Record<LengthTag, string> = { short: '#2ca02c', medium: '#ff7f0e', long: '#d62728' };
const CHART_HEIGHT = 180;
const MARGIN = { top: 8, right: 16, bottom: 4, left: 0 };

/** Axis tick as a plain SVG <text> (recharts' default measures labels in the DOM: a forced layout per update). */
function tick(p: XAxisTickContentProps | YAxisTickContentProps) {
  const value = p.payload.value;
  const text = typeof value === 'number' ? String(Math.round(value * 100) / 100) : String(value);
  const dy = p.verticalAnchor === 'start' ? '0.71em' : p.verticalAnchor === 'middle' ? '0.32em' : '0';
  return (
    <text x={p.x} y={p.y} dy={dy} textAnchor={p.textAnchor} fill="#5b6576" fontSize={11}>
      {text}
    </text>
  );
}

/** The config of the run RL would start from (the active one), or null. */
const useActiveRunConfig = () =>
  useStore((s) => (s.activeRunId === null ? null : (s.runs[s.activeRunId]?.config ?? null)));

function RlForm() {
  const config = useStore((s) => s.config);
  const runConfig = useActiveRunConfig();
  const setConfig = useStore((s) => s.setConfig);
  const locked = useStore((s) => isActive(s.session));
  // The issues of the RL settings shown, on the active run's config as Start RL checks them (else the edited config).
  const issues = useMemo(() => {
    const stage = rlStageConfig(runConfig ?? config, rlConfigFor(config));
    return stage.ok ? [] : stage.issues;
  }, [runConfig, config]);
  const at = (path: string) => issueAt(issues, path);
  const rl = rlConfigFor(config);
  const set = (patch: Partial<RlConfig>) => setConfig((c) => ({ ...c, rl: { ...rlConfigFor(c), ...patch } }));
  const reward = (patch: Partial<RlConfig['reward']>) =>
    setConfig((c) => {
      const r = rlConfigFor(c);
      return { ...c, rl: { ...r, reward: { ...r.reward, ...patch } } };
    });
  const budget = (level: LengthTag, v: number) => reward({ budgets: { ...rl.reward.budgets, [level]: v } });
  const toggleLevel = (level: LengthTag, on: boolean) =>
    set({ levels: LEVELS.filter((l) => (l === level ? on : rl.levels.includes(l))) });
  return (
    <fieldset className="form-grid" disabled={locked}>
      <legend className="sr-only">RL settings</legend>
      <NumberField
        label="RL steps"
        value={rl.steps}
        onChange={(steps) => set({ steps })}
        issue={at('rl.steps')}
        min={1}
        step={1}
        testId="rl-steps"
      />
      <NumberField
        label="Prompts per step (P)"
        value={rl.promptsPerStep}
        onChange={(promptsPerStep) => set({ promptsPerStep })}
        issue={at('rl.promptsPerStep')}
        min={1}
        step={1}
        testId="rl-prompts"
      />
      <NumberField
        label="Generations per prompt (G)"
        value={rl.generationsPerPrompt}
        onChange={(generationsPerPrompt) => set({ generationsPerPrompt })}
        issue={at('rl.generationsPerPrompt')}
        min={2}
        step={1}
        testId="rl-generations"
      />
      <NumberField
        label="Learning rate"
        value={rl.learningRate}
        onChange={(learningRate) => set({ learningRate })}
        issue={at('rl.learningRate')}
        min={0}
        testId="rl-learning-rate"
      />
      <NumberField
        label="Max completion (tokens)"
        value={rl.maxCompletionTokens}
        onChange={(maxCompletionTokens) => set({ maxCompletionTokens })}
        issue={at('rl.maxCompletionTokens')}
        min={1}
        step={1}
        testId="rl-max-tokens"
      />
      <NumberField
        label="Samples every (RL steps)"
        value={rl.evalEverySteps}
        onChange={(evalEverySteps) => set({ evalEverySteps })}
        issue={at('rl.evalEverySteps')}
        min={0}
        step={1}
        hint="0 = never"
        testId="rl-samples-every"
      />
      <SelectField
        label="Length penalty"
        value={rl.reward.lengthPenalty}
        options={[
          { value: 'none', label: 'none' },
          { value: 'budget', label: 'budget (TLDR, per level)' },
          { value: 'group', label: 'group-relative' },
        ]}
        onChange={(lengthPenalty) => reward({ lengthPenalty })}
        issue={at('rl.reward.lengthPenalty')}
        testId="rl-length-penalty"
      />
      <NumberField
        label="λ (length weight)"
        value={rl.reward.lambda}
        onChange={(lambda) => reward({ lambda })}
        issue={at('rl.reward.lambda')}
        min={0}
        testId="rl-lambda"
      />
      {LEVELS.map((level) => (
        <NumberField
          key={level}
          label={`Budget ${level} (tokens)`}
          value={rl.reward.budgets[level]}
          onChange={(v) => budget(level, v)}
          issue={at(`rl.reward.budgets.${level}`)}
          min={1}
          step={1}
        />
      ))}
      <div className="field field-wide">
        <span>Levels mixed in each batch</span>
        <div className="button-row">
          {LEVELS.map((level) => (
            <label key={level}>
              <input
                type="checkbox"
                checked={rl.levels.includes(level)}
                onChange={(e) => toggleLevel(level, e.target.checked)}
                data-testid={`rl-level-${level}`}
              />{' '}
              {level}
            </label>
          ))}
        </div>
        {(at('rl.levels') || at('rl.reward.budgets')) && (
          <span className="issue" role="alert">
            {[at('rl.levels'), at('rl.reward.budgets')].filter(Boolean).join('; ')}
          </span>
        )}
      </div>
      <p className="muted small field-wide" data-testid="rl-formula">
        {rewardFormula(rl.reward)}
      </p>
    </fieldset>
  );
}

interface RlStartContext {
  engineReady: boolean;
  /** A session is training (SFT or RL). */
  training: boolean;
  labRunning: boolean;
  /** The active run (what RL would continue), or null. */
  run: { checkpointStep: number | null; rlStartStep: number | null; stepsDone: number } | null;
  /** The issues of the stage's config (rlStageConfig). */
  issues: readonly ConfigIssue[];
}

/** Why Start RL cannot begin now (null: it can), in a few words. */
function rlStartBlocker(c: RlStartContext): string | null {
  if (!c.engineReady) return 'The engine is starting.';
  if (c.training) return 'A run is training.';
  if (c.labRunning) return 'The lab queue is running.';
  if (c.run === null) return 'Select a run trained with SFT.';
  if (c.run.checkpointStep === null) return 'This run has no checkpoint: train it first.';
  if (hasRlSteps(c.run)) {
    return `This run already has an RL stage (from step ${c.run.rlStartStep}): select a run trained with SFT only.`;
  }
  if (c.issues.length === 0) return null;
  // Issues of the RL settings are marked at their fields; others belong to the run's own config.
  const others = c.issues.filter((i) => !i.path.startsWith('rl.') && i.path !== 'rl');
  if (others.length === 0) return 'Fix the RL settings marked in red.';
  return `The run's settings are invalid: ${others.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
}

function RlControls() {
  const config = useStore((s) => s.config);
  const engineReady = useStore((s) => s.engine !== null);
  const training = useStore((s) => isActive(s.session));
  const labRunning = useStore((s) => labBusy(s.lab));
  const runConfig = useActiveRunConfig();
  const checkpointStep = useStore((s) =>
    s.activeRunId === null ? null : (s.runs[s.activeRunId]?.checkpointStep ?? null),
  );
  const rlStartStep = useStore((s) => (s.activeRunId === null ? null : (s.runs[s.activeRunId]?.rlStartStep ?? null)));
  const stepsDone = useStore((s) => (s.activeRunId === null ? 0 : (s.runs[s.activeRunId]?.stepsDone ?? 0)));
  // The rule startRl applies: the run's own config with the edited RL settings (never the edited SFT settings).
  const issues = useMemo(() => {
    if (runConfig === null) return [];
    const stage = rlStageConfig(runConfig, config.rl);
    return stage.ok ? [] : stage.issues;
  }, [runConfig, config.rl]);
  const blocker = rlStartBlocker({
    engineReady,
    training,
    labRunning,
    run: runConfig === null ? null : { checkpointStep, rlStartStep, stepsDone },
    issues,
  });
  const startRl = useStore((s) => s.startRl);
  return (
    <>
      <div className="button-row">
        <button
          type="button"
          className="primary"
          data-testid="rl-start"
          disabled={blocker !== null}
          onClick={() => void startRl()}
          title={blocker ?? undefined}
        >
          Start RL from this run's checkpoint
        </button>
      </div>
      {blocker !== null && !training && (
        <p className="muted small" data-testid="rl-start-reason">
          {blocker}
        </p>
      )}
    </>
  );
}

type RlRow = { step: number } & Partial<Record<string, number>>;
const EMPTY_ROWS: RlRow[] = [];

/** The RL points of a timeline (those with a reward), as chart rows; the same empty array when there are none. */
function rlRows(timeline: readonly MetricPoint[]): RlRow[] {
  const rows: RlRow[] = [];
  for (const p of timeline) {
    const reward = p.values[METRIC.rlRewardMean];
    if (reward === undefined) continue;
    const row: RlRow = { step: p.step, reward };
    for (const level of LEVELS) {
      const v = p.values[RL_THINKING_TOKENS_BY_LEVEL[level]];
      if (v !== undefined) row[level] = v;
    }
    rows.push(row);
  }
  return rows.length === 0 ? EMPTY_ROWS : rows.slice(-200);
}

const RlChart = memo(function RlChart({ rows }: { rows: RlRow[] }) {
  return (
    <div className="chart-frame" style={{ height: CHART_HEIGHT }}>
      <ResponsiveContainer width="100%" height={CHART_HEIGHT}>
        <LineChart data={rows} margin={MARGIN}>
          <CartesianGrid stroke="#eceff3" />
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} allowDecimals={false} tick={tick} />
          <YAxis yAxisId="reward" width={36} tick={tick} />
          <YAxis yAxisId="tokens" orientation="right" width={36} tick={tick} />
          <Tooltip isAnimationActive={false} />
          <Legend verticalAlign="top" height={20} />
          <Line
            yAxisId="reward"
            dataKey="reward"
            name="reward"
            stroke="#1f77b4"
            dot={false}
            isAnimationActive={false}
          />
          {LEVELS.map((level) => (
            <Line
              key={level}
              yAxisId="tokens"
              dataKey={level}
              name={`thinking ${level}`}
              stroke={LEVEL_COLOR[level]}
              strokeDasharray="4 2"
              dot={false}
              connectNulls
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
      {rows.length === 0 && <div className="chart-empty">RL reward and thinking length per level appear here.</div>}
    </div>
  );
});

const RlLive = memo(function RlLive() {
  const timeline = useStore((s) => (s.activeRunId === null ? null : (s.runs[s.activeRunId]?.timeline ?? null)));
  const rows = useMemo(() => (timeline ? rlRows(timeline) : EMPTY_ROWS), [timeline]);
  // Only RL points change these numbers: during SFT the rows stay the same (empty) array.
  const v = useMemo(() => (rows === EMPTY_ROWS || !timeline ? {} : latestValues(timeline)), [rows, timeline]);
  const stat = (label: string, value: string, testId?: string) => (
    <div className="stat" key={label}>
      <span className="stat-label">{label}</span>
      <span className="stat-value" data-testid={testId}>
        {value}
      </span>
    </div>
  );
  return (
    <div className="live">
      <div className="stat-grid">
        {stat('reward mean', formatNumber(v[METRIC.rlRewardMean], 3), 'rl-reward')}
        {stat('accuracy', percent(v[METRIC.rlAccuracy]), 'rl-accuracy')}
        {LEVELS.map((level) => stat(`thinking ${level}`, formatNumber(v[RL_THINKING_TOKENS_BY_LEVEL[level]], 1)))}
        {stat('KL', formatNumber(v[METRIC.rlKl], 4))}
        {stat('clip fraction', percent(v[METRIC.rlClipFraction]))}
        {stat('zero-std groups', percent(v[METRIC.rlFracZeroStdGroups]))}
        {stat('truncated', percent(v[METRIC.rlTruncatedFraction]))}
      </div>
      <RlChart rows={rows} />
    </div>
  );
});

const RolloutViewer = memo(function RolloutViewer() {
  const rollouts = useStore((s) => s.rollouts);
  const runId = useStore((s) => s.session?.runId ?? null);
  const activeRunId = useStore((s) => s.activeRunId);
  if (!rollouts || runId !== activeRunId) {
    return <p className="muted small">The latest rollouts of an RL stage appear here.</p>;
  }
  return (
    <div data-testid="rollout-viewer">
      <h3 className="subhead">
        Rollouts at step {rollouts.step}
        {rollouts.level ? ` (${rollouts.level})` : ''}
      </h3>
      <pre className="trace-text">{rollouts.prompt}</pre>
      <ol className="rollouts">
        {rollouts.completions.map((c, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a completion's position in its group is its identity
          <li key={`${rollouts.step}-${i}`} data-testid="rollout-completion">
            <span className="muted small">
              reward {c.reward.toFixed(3)} · advantage {c.advantage.toFixed(3)} · {c.correct ? 'correct' : 'wrong'} ·{' '}
              {c.thinkingTokens} thinking tokens
            </span>
            <pre className="trace-text">{c.text}</pre>
          </li>
        ))}
      </ol>
    </div>
  );
});

export function RlPanel() {
  return (
    <section className="panel" aria-labelledby="rl-title">
      <h2 id="rl-title">RL (GRPO / TLDR)</h2>
      <RlForm />
      <RlControls />
      <RlLive />
      <RolloutViewer />
    </section>
  );
}

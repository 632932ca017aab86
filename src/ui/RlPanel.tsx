/**
 * The RL panel (GRPO / TLDR, src/train/grpo.ts): the RL settings of the edited config (`config.rl`, the defaults when
 * absent), the reward formula in use, a button that continues the active run from its checkpoint with an RL stage,
 * the stage's live numbers, a small chart of reward and thinking length per level over the RL steps, and a viewer of
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
import type { MetricPoint } from '../state/run_record';
import { isActive, useStore } from '../state/store';
import type { LengthTag } from '../tasks/types';
import { METRIC, RL_THINKING_TOKENS_BY_LEVEL } from '../train/metrics';
import { rewardFormula } from '../train/rewards';
import { type RlConfig, type RunConfig, rlConfigFor, runConfigIssues } from '../train/run_config';
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

function RlForm() {
  const config = useStore((s) => s.config);
  const setConfig = useStore((s) => s.setConfig);
  const locked = useStore((s) => isActive(s.session));
  const issues = useMemo(() => runConfigIssues(config), [config]);
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

function RlControls() {
  const config = useStore((s) => s.config);
  const engineReady = useStore((s) => s.engine !== null);
  const busy = useStore((s) => isActive(s.session));
  const hasCheckpoint = useStore((s) =>
    s.activeRunId === null ? false : (s.runs[s.activeRunId]?.checkpointStep ?? null) !== null,
  );
  const valid = useMemo(
    () => runConfigIssues({ ...config, rl: rlConfigFor(config) } satisfies RunConfig).length === 0,
    [config],
  );
  const startRl = useStore((s) => s.startRl);
  return (
    <div className="button-row">
      <button
        type="button"
        className="primary"
        data-testid="rl-start"
        disabled={busy || !engineReady || !hasCheckpoint || !valid}
        onClick={() => void startRl()}
        title={!hasCheckpoint ? 'Select a run with a checkpoint (train one first)' : undefined}
      >
        Start RL from this run's checkpoint
      </button>
    </div>
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

/**
 * Decode & evaluate: the decoding settings (global temperature slider, top-k, top-p, one stopping intervention and
 * its parameter), the evaluation set, and per-method sweeps. Every settled change evaluates the current model once
 * (the store debounces and queues); the slider's onChange only updates the store.
 */
import { useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { isActive, SWEEPS, useStore } from '../state/store';
import { getTask } from '../tasks/index';
import {
  decodeConfigSchema,
  evalConfigSchema,
  type Intervention,
  type RunConfig,
  zodIssues,
} from '../train/run_config';
import { SERIES_COLOR, SERIES_IDS, SERIES_LABEL } from './chart_data';
import { issueAt, NumberField, SelectField } from './fields';
import { positionToTemperature, TEMPERATURE_MAX, TEMPERATURE_STOPS, temperatureToPosition } from './scales';

const INTERVENTIONS: readonly { value: Intervention; label: string }[] = [
  { value: 'none', label: 'none (plain decoding)' },
  { value: 'ts', label: 'TS (two-way): p′ = σ(logit(p)/τ) on the stop decision' },
  { value: 'ts_logit', label: 'stop-logit TS: z_stop / τ_z, other logits unchanged' },
  { value: 'margin', label: 'margin: stop when log p(top) − log p(</think>) < δ' },
  { value: 'bias', label: 'logit bias on </think>' },
  { value: 'cap', label: 's1 cap: force </think> at budget B' },
  { value: 'extend', label: 's1 extend: "Wait" until min tokens' },
];

const MARGIN_WHERE: readonly { value: 'tokens' | 'steps'; label: string }[] = [
  { value: 'tokens', label: 'at every token' },
  { value: 'steps', label: "only after a step's ';'" },
];

function TemperatureSlider() {
  const temperature = useStore((s) => s.config.decode.temperature);
  const setDecode = useStore((s) => s.setDecode);
  return (
    <div className="field field-wide">
      <label htmlFor="temperature-slider">
        Temperature <output className="slider-value">{temperature.toFixed(2)}</output>
      </label>
      <input
        id="temperature-slider"
        data-testid="temperature-slider"
        type="range"
        min={0}
        max={TEMPERATURE_STOPS.length - 1}
        step={1}
        value={temperatureToPosition(temperature)}
        aria-valuetext={temperature.toFixed(2)}
        onChange={(e) => setDecode({ temperature: positionToTemperature(Number(e.target.value)) })}
      />
      <span className="hint">0 = greedy; 0.05 a step up to 2, then 0.25 a step up to {TEMPERATURE_MAX}</span>
    </div>
  );
}

function InterventionFields({ decode, issues }: { decode: RunConfig['decode']; issues: ReturnType<typeof zodIssues> }) {
  const setDecode = useStore((s) => s.setDecode);
  const at = (field: string) => issueAt(issues, `decode.${field}`);
  switch (decode.intervention) {
    case 'none':
      return null;
    case 'ts':
      return (
        <NumberField
          label="Stop-decision temperature τ"
          value={decode.stopTemperature}
          onChange={(v) => setDecode({ stopTemperature: v })}
          issue={at('stopTemperature')}
          min={0.05}
          max={100}
          step={0.05}
          hint="<1 sharper, >1 flatter stop/continue"
          testId="stop-temperature"
        />
      );
    case 'bias':
      return (
        <NumberField
          label="Bias on </think> (logits)"
          value={decode.stopLogitBias}
          onChange={(v) => setDecode({ stopLogitBias: v })}
          issue={at('stopLogitBias')}
          min={-100}
          max={100}
          step={0.5}
          hint="> 0 stops sooner"
          testId="stop-bias"
        />
      );
    case 'ts_logit':
      return (
        <NumberField
          label="Stop-logit temperature τ_z"
          value={decode.stopLogitTemperature ?? 1}
          onChange={(v) => setDecode({ stopLogitTemperature: v })}
          issue={at('stopLogitTemperature')}
          min={0.05}
          max={100}
          step={0.05}
          hint="z_stop / τ_z: depends on the logit's sign and size"
          testId="stop-logit-temperature"
        />
      );
    case 'margin':
      return (
        <>
          <NumberField
            label="Margin δ (nats)"
            value={decode.stopMarginNats ?? 0}
            onChange={(v) => setDecode({ stopMarginNats: v })}
            issue={at('stopMarginNats')}
            min={0}
            max={50}
            step={0.25}
            hint="larger stops sooner; 0 = never"
            testId="stop-margin"
          />
          <SelectField
            label="Margin checked"
            value={decode.stopMarginAtSteps ? 'steps' : 'tokens'}
            options={MARGIN_WHERE}
            onChange={(v) => setDecode({ stopMarginAtSteps: v === 'steps' })}
            issue={at('stopMarginAtSteps')}
          />
        </>
      );
    case 'cap':
      return (
        <NumberField
          label="Thinking budget B (tokens)"
          value={decode.thinkingBudgetTokens}
          onChange={(v) => setDecode({ thinkingBudgetTokens: v })}
          issue={at('thinkingBudgetTokens')}
          min={0}
          step={1}
          testId="thinking-budget"
        />
      );
    case 'extend':
      return (
        <>
          <NumberField
            label="Min thinking (tokens)"
            value={decode.minThinkingTokens}
            onChange={(v) => setDecode({ minThinkingTokens: v })}
            issue={at('minThinkingTokens')}
            min={0}
            step={1}
            testId="min-thinking"
          />
          <NumberField
            label={'Max "Wait"s'}
            value={decode.maxExtensions}
            onChange={(v) => setDecode({ maxExtensions: v })}
            issue={at('maxExtensions')}
            min={0}
            max={16}
            step={1}
          />
        </>
      );
  }
}

function EvalStatusLine() {
  const evaluation = useStore((s) => s.evaluation);
  const count = useStore((s) => (s.activeRunId === null ? 0 : (s.runs[s.activeRunId]?.evalPoints.length ?? 0)));
  return (
    <div className="eval-status" aria-live="polite">
      <span>
        Points: <strong data-testid="eval-point-count">{count}</strong>
      </span>
      {evaluation.busy ? (
        <span className="busy" data-testid="eval-busy">
          <span className="spinner" aria-hidden="true" />
          {evaluation.loading ? 'Loading weights' : 'Evaluating'}
          {evaluation.label ? `: ${evaluation.label}` : '…'}
          {evaluation.queued > 0 && ` (${evaluation.queued} queued)`}
        </span>
      ) : (
        <span className="muted">idle</span>
      )}
    </div>
  );
}

function TargetLine() {
  const target = useStore(
    useShallow((s) => {
      const id = isActive(s.session) ? s.session.runId : s.activeRunId;
      const run = id === null ? undefined : s.runs[id];
      if (!run) return { name: null, live: false, hasWeights: false, loaded: false };
      const live = isActive(s.session) && s.session.runId === run.id;
      return {
        name: run.name,
        live,
        hasWeights: live || s.modelRunId === run.id || run.checkpointStep !== null,
        loaded: s.modelRunId === run.id,
      };
    }),
  );
  const engine = useStore((s) => s.engine !== null);
  if (!engine) return <p className="muted small">Waiting for the engine…</p>;
  if (target.name === null) return <p className="muted small">Train a model, or pick a saved run, to evaluate it.</p>;
  if (!target.hasWeights)
    return <p className="muted small">Run “{target.name}” has no saved weights: train or import one with weights.</p>;
  return (
    <p className="small">
      Evaluating <strong>{target.name}</strong>
      {target.live ? ' (current weights, while it trains)' : target.loaded ? '' : ' (weights load on first use)'}
    </p>
  );
}

const LENGTH_TAGS = [
  { value: 'none', label: 'none' },
  { value: 'short', label: '<short>' },
  { value: 'medium', label: '<medium>' },
  { value: 'long', label: '<long>' },
] as const;

export function DecodePanel() {
  const decode = useStore((s) => s.config.decode);
  const evalSettings = useStore((s) => s.config.eval);
  const taskId = useStore((s) => {
    const id = isActive(s.session) ? s.session.runId : s.activeRunId;
    return (id !== null ? s.runs[id]?.config.task.id : undefined) ?? s.config.task.id;
  });
  const setDecode = useStore((s) => s.setDecode);
  const setEvalSettings = useStore((s) => s.setEvalSettings);
  const canRun = useStore((s) => {
    if (s.engine === null) return false;
    const id = isActive(s.session) ? s.session.runId : s.activeRunId;
    const run = id === null ? undefined : s.runs[id];
    if (!run) return false;
    return isActive(s.session) || s.modelRunId === run.id || run.checkpointStep !== null;
  });
  const { sweep, sweepLevels, evaluateNow } = useStore.getState();
  const issues = useMemo(() => {
    const d = decodeConfigSchema.safeParse(decode);
    const e = evalConfigSchema.safeParse(evalSettings);
    return [...(d.success ? [] : zodIssues(d.error, 'decode')), ...(e.success ? [] : zodIssues(e.error, 'eval'))];
  }, [decode, evalSettings]);
  const variants = getTask(taskId).variants.map((v) => ({ value: v, label: v === 'id' ? 'id (training dist.)' : v }));
  const variant = variants.some((v) => v.value === evalSettings.variant) ? evalSettings.variant : 'id';

  return (
    <section className="panel" aria-labelledby="decode-title">
      <h2 id="decode-title">Decode &amp; evaluate</h2>
      <TargetLine />
      <div className="form-grid">
        <TemperatureSlider />
        <NumberField
          label="Top-k"
          value={decode.topK}
          onChange={(topK) => setDecode({ topK })}
          issue={issueAt(issues, 'decode.topK')}
          min={0}
          step={1}
          hint="0 = off"
        />
        <NumberField
          label="Top-p"
          value={decode.topP}
          onChange={(topP) => setDecode({ topP })}
          issue={issueAt(issues, 'decode.topP')}
          min={0.01}
          max={1}
          step={0.01}
          hint="1 = off"
        />
        <SelectField
          label="Stopping intervention"
          value={decode.intervention}
          options={INTERVENTIONS}
          onChange={(intervention) => setDecode({ intervention })}
          issue={issueAt(issues, 'decode.intervention')}
          testId="intervention"
          wide
        />
        <InterventionFields decode={decode} issues={issues} />
        <NumberField
          label="Eval set (problems)"
          value={evalSettings.size}
          onChange={(size) => setEvalSettings({ size })}
          issue={issueAt(issues, 'eval.size')}
          min={1}
          max={4096}
          step={1}
          testId="eval-size"
        />
        <SelectField
          label="Eval variant"
          value={variant}
          options={variants}
          onChange={(v) => setEvalSettings({ variant: v })}
          issue={issueAt(issues, 'eval.variant')}
        />
        <SelectField
          label="Length tag"
          value={evalSettings.lengthTag ?? 'none'}
          options={LENGTH_TAGS}
          onChange={(v) => setEvalSettings({ lengthTag: v === 'none' ? null : v })}
          issue={issueAt(issues, 'eval.lengthTag')}
          hint="TLDR level put before every prompt"
          testId="length-tag"
        />
        <NumberField
          label="Max new tokens"
          value={decode.maxNewTokens}
          onChange={(maxNewTokens) => setDecode({ maxNewTokens })}
          issue={issueAt(issues, 'decode.maxNewTokens')}
          min={1}
          step={1}
          testId="max-new-tokens"
        />
      </div>
      {decode.temperature === 0 && (decode.intervention === 'ts' || decode.intervention === 'extend') && (
        <p className="hint">At temperature 0 decoding is greedy: raise it to see τ or "Wait" act on sampling.</p>
      )}
      <div className="button-row">
        <button
          type="button"
          className="primary"
          data-testid="evaluate-now"
          disabled={!canRun || issues.length > 0}
          onClick={evaluateNow}
        >
          Evaluate now
        </button>
        <button
          type="button"
          data-testid="sweep-levels"
          disabled={!canRun || issues.length > 0}
          onClick={sweepLevels}
          title="Evaluates the current settings with prompts tagged <short>, <medium> and <long>"
        >
          Sweep levels
        </button>
      </div>
      <div className="sweeps">
        <span className="small muted">Sweep a method (points join into its curve):</span>
        {SERIES_IDS.map((series) => (
          <button
            key={series}
            type="button"
            className="sweep"
            data-testid={`sweep-${series}`}
            disabled={!canRun || issues.length > 0}
            onClick={() => sweep(series)}
            title={SERIES_LABEL[series]}
          >
            <span className="swatch" style={{ background: SERIES_COLOR[series] }} />
            {SWEEPS[series].knob} ∈ {'{'}
            {SWEEPS[series].values.join(', ')}
            {'}'}
          </button>
        ))}
      </div>
      <EvalStatusLine />
    </section>
  );
}

/**
 * Under the trace-length-vs-accuracy chart: computes the active run's oracle stopping frontier (src/train/oracle.ts,
 * through the store's computeOracle: `</think>` forced after every thinking token of each problem's own trace, the
 * answer generated and verified) with a progress bar and Cancel, says why it cannot run when it cannot, and once the
 * run has a frontier (drawn on the chart) shows its summary and each method's distance to it (oracle_gaps.ts).
 */
import { useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { oracleBlocker, oracleSettingsIssue } from '../state/oracle_runner';
import { useStore } from '../state/store';
import { percent } from './chart_data';
import { NumberField } from './fields';
import { methodGaps } from './oracle_gaps';

const pts = (x: number) => `${x < 0 ? '−' : ''}${(100 * Math.abs(x)).toFixed(1)} pts`;

export function OraclePanel() {
  // The run record changes with every training update: only the parts shown are selected.
  const runId = useStore((s) => (s.activeRunId !== null && s.runs[s.activeRunId] ? s.activeRunId : null));
  const blocker = useStore((s) => oracleBlocker(s, s.activeRunId === null ? null : s.runs[s.activeRunId]));
  const job = useStore((s) => s.oracleJob);
  const evalSize = useStore((s) => s.config.eval.size);
  const { computeOracle, cancelOracle } = useStore.getState();
  // Problems follow the decode panel's evaluation size (the chart's points use that set) until edited here.
  const [problemsEdited, setProblems] = useState<number | null>(null);
  const [answerTokens, setAnswerTokens] = useState(16);
  const [traceTemperature, setTraceTemperature] = useState(0);
  const problems = problemsEdited ?? evalSize;
  const settings = {
    problems,
    answerTokens,
    trace: traceTemperature === 0 ? ('greedy' as const) : { temperature: traceTemperature },
  };
  const settingsIssue = oracleSettingsIssue(settings);
  const reason = job !== null ? null : (blocker ?? settingsIssue);
  const hasOracle = useStore((s) => runId !== null && (s.runs[runId]?.oracle ?? null) !== null);
  return (
    <div className="oracle-panel" data-testid="oracle-panel">
      <h3>Oracle stopping frontier</h3>
      <p className="muted small">
        Each problem's own trace is cut after every thinking token, <code>&lt;/think&gt;</code> is forced and the answer
        generated and checked; the best stop per problem, in hindsight, gives the frontier (grey dashed line). Stops
        only at step boundaries (<code>;</code>) are reported beside.
      </p>
      <div className="form-grid">
        <NumberField
          label="Problems"
          value={problems}
          min={1}
          step={1}
          onChange={setProblems}
          disabled={job !== null}
          testId="oracle-problems"
        />
        <NumberField
          label="Answer tokens"
          value={answerTokens}
          min={1}
          step={1}
          onChange={setAnswerTokens}
          disabled={job !== null}
          testId="oracle-answer-tokens"
        />
        <NumberField
          label="Own traces: T (0 = greedy)"
          value={traceTemperature}
          min={0}
          max={10}
          step="any"
          onChange={setTraceTemperature}
          disabled={job !== null}
          testId="oracle-trace-temperature"
        />
      </div>
      <div className="button-row">
        <button
          type="button"
          data-testid="oracle-compute"
          disabled={reason !== null || job !== null}
          title={reason ?? undefined}
          onClick={() => void computeOracle(settings)}
        >
          Compute oracle frontier
        </button>
        <button
          type="button"
          data-testid="oracle-cancel"
          disabled={job === null || job.cancelRequested}
          onClick={() => cancelOracle()}
        >
          Cancel
        </button>
      </div>
      {reason !== null && (
        <p className="muted small" data-testid="oracle-reason">
          {reason}
        </p>
      )}
      {job !== null && (
        <div className="progress" data-testid="oracle-progress">
          <progress
            aria-label="Oracle frontier progress"
            {...(job.rowsTotal > 0 ? { value: job.rowsDone, max: job.rowsTotal } : {})}
          />
          <span className="progress-text" data-testid="oracle-progress-text">
            {job.cancelRequested
              ? 'cancelling after the batch in progress…'
              : job.rowsTotal === 0
                ? 'own traces…'
                : `${job.rowsDone} / ${job.rowsTotal} rows`}
          </span>
        </div>
      )}
      {hasOracle && runId !== null && <OracleSummary runId={runId} />}
    </div>
  );
}

function OracleSummary({ runId }: { runId: string }) {
  const oracle = useStore((s) => s.runs[runId]?.oracle ?? null);
  const evalPoints = useStore((s) => s.runs[runId]?.evalPoints);
  const stages = useStore(
    useShallow((s) => ({ config: s.runs[runId]?.config, rlStartStep: s.runs[runId]?.rlStartStep })),
  );
  const gaps = useMemo(() => {
    if (!oracle || !evalPoints || !stages.config) return [];
    const { config, rlStartStep } = stages;
    return methodGaps({ oracle, evalPoints, config, ...(rlStartStep !== undefined ? { rlStartStep } : {}) });
  }, [oracle, evalPoints, stages]);
  if (!oracle) return null;
  const r = oracle;
  const s = r.summary;
  return (
    <div data-testid="oracle-summary">
      <p className="small">
        {s.problems} problems ({r.variant}), {r.trace === 'greedy' ? 'greedy' : `T = ${r.trace.temperature}`} own
        traces, weights at step {r.step} ({r.stage.toUpperCase()}). Own stop: {percent(s.ownAccuracy)} at{' '}
        {s.ownMeanThinkingTokens.toFixed(1)} thinking tokens. <strong>Oracle: {percent(s.oracleAccuracy)}</strong> at{' '}
        {s.oracleMeanThinkingTokens.toFixed(1)} (step boundaries only: {percent(s.stepsOracleAccuracy)} at{' '}
        {s.stepsOracleMeanThinkingTokens.toFixed(1)}). Right without thinking: {percent(s.accuracyWithoutThinking)}.
        Right at an earlier stop but wrong at the own stop: {s.rightThenWrong} of {s.problems}.
      </p>
      {gaps.length === 0 ? (
        <p className="muted small">
          No points of these weights (step {r.step}) on this evaluation set ({r.variant}, {s.problems} problems) to read
          against it: evaluate or sweep a method with that many problems.
        </p>
      ) : (
        <div className="seed-scroll">
          <table className="seed-table">
            <thead>
              <tr>
                <th>method</th>
                <th>points</th>
                <th title="oracle accuracy at the point's mean thinking length − its accuracy">mean gap</th>
                <th>closest point</th>
                <th title="the most accurate point, and the mean thinking length the oracle needs for that accuracy">
                  best accuracy → oracle tokens
                </th>
              </tr>
            </thead>
            <tbody>
              {gaps.map((g) => (
                <tr key={g.series} data-testid="oracle-gap-row">
                  <td>{g.name}</td>
                  <td className="num">{g.points}</td>
                  <td className="num">{pts(g.meanAccuracyGap)}</td>
                  <td className="num">
                    {pts(g.minAccuracyGap)} ({g.minGapSetting})
                  </td>
                  <td className="num">
                    {percent(g.bestAccuracy)} at {g.bestThinkingTokens.toFixed(1)} →{' '}
                    {g.oracleTokensForBest === null ? 'above the oracle' : g.oracleTokensForBest.toFixed(1)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted small">
        An upper bound for stops along the model's own trace: it knows the answer, and with a weak model part of it is
        lucky guesses among many tries (see docs/oracle-frontier.md).
      </p>
    </div>
  );
}

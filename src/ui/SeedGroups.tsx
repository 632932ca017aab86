/**
 * Under the charts, for each seed group among the compared runs (seed_groups.ts): its settings as a table (the seeds'
 * mean accuracy and thinking length with 95% intervals, the per-seed accuracies, problems per seed) and, folded,
 * P1's claims table with verdicts (src/train/claims.ts efficientReasonerClaims), computed in a worker when unfolded.
 */
import { memo, useMemo, useState } from 'react';
import { useStore } from '../state/store';
import type { ClaimRow } from '../train/claims';
import { claimEstimateText, claimPerSeedText } from '../train/claims';
import { useChartRuns, useChartSeedGroups } from './Charts';
import { RUN_COLORS } from './chart_data';
import { seedGroupRows } from './seed_groups';
import { type SeedGroupView, UI_REPLICATES, useSeedGroupClaims } from './seed_stats';

function intervalStatus(view: SeedGroupView): string {
  if (view.intervals === 'ready') return `95% intervals: bootstrap over problems within seeds (${UI_REPLICATES} draws)`;
  if (view.intervals === 'pending') return 'computing the 95% intervals…';
  return `intervals unavailable: ${view.intervals.error}`;
}

function SettingsTable({ view }: { view: SeedGroupView }) {
  const selectPoint = useStore((s) => s.selectPoint);
  const rows = useMemo(() => seedGroupRows(view.series, view.rlName), [view]);
  const seeds = view.entry.seeds ?? [];
  return (
    <div className="seed-scroll">
      <table className="seed-table" data-testid="seed-group-table">
        <thead>
          <tr>
            <th>series · setting</th>
            <th>stage</th>
            <th>level</th>
            <th>accuracy [95% CI]</th>
            <th>thinking tokens [95% CI]</th>
            <th>accuracy per seed ({seeds.join(', ')}), %</th>
            <th>n per seed</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td>
                <button
                  type="button"
                  className="link"
                  title={`Show seed ${seeds[0]}'s traces of this setting`}
                  onClick={() => selectPoint(r.runId, r.pointId)}
                >
                  {r.series} · {r.setting}
                </button>
              </td>
              <td>{r.stage}</td>
              <td>{r.level}</td>
              <td className="num">{r.accuracy}</td>
              <td className="num">{r.thinking}</td>
              <td className="num">{r.perSeedAccuracy}</td>
              <td className="num">{r.problemsPerSeed}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ClaimsTable({ view }: { view: SeedGroupView }) {
  const claims = useSeedGroupClaims(view);
  if (!claims) return <p className="muted small">Computing the claims (bootstrap in a worker)…</p>;
  if ('error' in claims) return <p className="hint">Claims unavailable: {claims.error}</p>;
  return <ClaimRows rows={claims.value} seeds={view.entry.seeds ?? []} />;
}

function ClaimRows({ rows, seeds }: { rows: readonly ClaimRow[]; seeds: readonly number[] }) {
  if (rows.length === 0) return <p className="muted small">None of the claims' points were evaluated by every seed.</p>;
  const lines = (xs: readonly string[]) => xs.map((x) => <div key={x}>{x}</div>);
  return (
    <div className="seed-scroll">
      <table className="seed-table" data-testid="seed-claims-table">
        <thead>
          <tr>
            <th>#</th>
            <th>claim</th>
            <th>comparison</th>
            <th>estimate [95% CI, problems within seeds]</th>
            <th>per seed ({seeds.join(', ')})</th>
            <th>verdict</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              <td>{r.id}</td>
              <td>{r.claim}</td>
              <td className="small">{r.comparison}</td>
              <td className="num">{lines(r.estimates.map(claimEstimateText))}</td>
              <td className="num">{lines(r.estimates.map(claimPerSeedText))}</td>
              <td>
                <span className={`verdict verdict-${r.verdict.replace(' ', '-')}`} title={r.rule}>
                  {r.verdict}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function SeedGroupSection({ view, colorIndex }: { view: SeedGroupView; colorIndex: number }) {
  const [claimsOpen, setClaimsOpen] = useState(false);
  return (
    <div className="seed-group" data-testid="seed-group">
      <h3>
        <span className="swatch" style={{ background: RUN_COLORS[colorIndex % RUN_COLORS.length] }} />
        {view.entry.label} <span className="muted small">seeds {view.entry.seeds?.join(', ')}</span>
      </h3>
      <p className="chart-caption">{intervalStatus(view)}</p>
      <SettingsTable view={view} />
      <details onToggle={(e) => setClaimsOpen(e.currentTarget.open)}>
        <summary>Claims of P1 (Making Small Language Models Efficient Reasoners), with verdicts</summary>
        {claimsOpen && <ClaimsTable view={view} />}
      </details>
    </div>
  );
}

/** The seed groups' tables; nothing when the compared runs form no group. */
export const SeedGroupsPanel = memo(function SeedGroupsPanel() {
  const runs = useChartRuns();
  const { entries, seedGroups } = useChartSeedGroups(runs);
  if (seedGroups.size === 0) return null;
  return (
    <section className="panel chart-card" aria-labelledby="seed-groups-title">
      <h2 id="seed-groups-title">
        Seed groups <span className="subtitle">(each setting every seed evaluated: the mean over seeds)</span>
      </h2>
      {entries.map((e, i) => {
        const view = seedGroups.get(e.key);
        return view ? <SeedGroupSection key={e.key} view={view} colorIndex={i} /> : null;
      })}
    </section>
  );
});

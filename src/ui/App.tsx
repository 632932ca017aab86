/**
 * The Stoptime playground page: train a small transformer in the engine worker, watch its loss, then decode with
 * different stopping interventions and chart trace length against accuracy. Layout only: every panel reads the store
 * (src/state/store.ts), whose actions are the only code that talks to the worker and the runs database. The charts,
 * the RL panel and the lab load when first shown (lazy.tsx).
 */
import { type ReactNode, useEffect } from 'react';
import { useStore } from '../state/store';
import { DecodePanel } from './DecodePanel';
import { EnginePanel } from './EnginePanel';
import { Header, Notices } from './Header';
import {
  AccuracyChart,
  HistogramChart,
  LabSection,
  OraclePanel,
  PointTraces,
  RatesChart,
  RlPanel,
  SeedGroupsGate,
  TrainingChart,
} from './lazy';
import { RunsPanel } from './RunsPanel';
import { TrainPanel } from './TrainPanel';

function ChartCard({ title, subtitle, children }: { title: string; subtitle?: string; children: ReactNode }) {
  return (
    <section className="panel chart-card">
      <h2>
        {title}
        {subtitle && <span className="subtitle"> {subtitle}</span>}
      </h2>
      {children}
    </section>
  );
}

export function App() {
  const init = useStore((s) => s.init);
  useEffect(() => {
    void init();
  }, [init]);
  return (
    <div className="app">
      <Header />
      <Notices />
      <div className="layout">
        <div className="col-controls">
          <TrainPanel />
          <RlPanel />
        </div>
        <main className="col-charts">
          <div className="chart-grid">
            <ChartCard title="Trace length vs accuracy" subtitle="(one curve per stopping method; click a point)">
              <AccuracyChart />
              <OraclePanel />
            </ChartCard>
            <ChartCard title="Training" subtitle="(loss, nats/token)">
              <TrainingChart />
            </ChartCard>
            <ChartCard title="Thinking length" subtitle="(selected point: correct vs wrong)">
              <HistogramChart />
            </ChartCard>
            <ChartCard title="Repetition and stop rate" subtitle="(per eval point)">
              <RatesChart />
            </ChartCard>
          </div>
          <SeedGroupsGate />
          <ChartCard title="Traces of the selected point">
            <PointTraces />
          </ChartCard>
        </main>
        <div className="col-runs">
          <DecodePanel />
          <RunsPanel />
          <EnginePanel />
        </div>
      </div>
      <LabSection />
    </div>
  );
}

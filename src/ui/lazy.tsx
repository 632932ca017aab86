/**
 * The parts of the page that load when first shown, each in its own chunk (React.lazy + Suspense), so the first
 * script holds only React, the store, the forms and the worker wiring: the charts (and recharts), the RL panel (its
 * chart too), the oracle frontier panel and the generalization lab (matrix, queue, Sokoban board). The lab sits below
 * the fold: it loads when it scrolls near the viewport, or once the page has been idle a moment, whichever comes first.
 */
import { type ComponentType, lazy, type ReactNode, Suspense, useEffect, useRef, useState } from 'react';

/** A lazy component from a module's named export; modules are loaded once, however many components they give. */
function lazyNamed<M>(load: () => Promise<M>, pick: (m: M) => ComponentType): ComponentType {
  return lazy(async () => ({ default: pick(await load()) }));
}

const charts = () => import('./Charts');
const LazyAccuracyChart = lazyNamed(charts, (m) => m.AccuracyChart);
const LazyTrainingChart = lazyNamed(charts, (m) => m.TrainingChart);
const LazyHistogramChart = lazyNamed(charts, (m) => m.HistogramChart);
const LazyRatesChart = lazyNamed(charts, (m) => m.RatesChart);
const LazyPointTraces = lazyNamed(charts, (m) => m.PointTraces);
const LazyRlPanel = lazyNamed(
  () => import('./RlPanel'),
  (m) => m.RlPanel,
);
const LazyOraclePanel = lazyNamed(
  () => import('./OraclePanel'),
  (m) => m.OraclePanel,
);
const LazySeedGroupsGate = lazyNamed(
  () => import('./SeedGroups'),
  (m) => m.SeedGroupsGate,
);
const LazyLabSection = lazyNamed(
  () => import('./LabSection'),
  (m) => m.LabSection,
);

/** What a part shows while its chunk loads: an empty box of its height, so the layout does not jump. */
function Loading({ minHeight }: { minHeight: number }) {
  return (
    <div className="chunk-loading" style={{ minHeight }} aria-busy="true">
      <span className="muted small">loading…</span>
    </div>
  );
}

/** The chart card's height (Charts.tsx CHART_HEIGHT), without importing the charts' module for it. */
const CHART_MIN_HEIGHT = 250;

function Lazy({ children, minHeight = CHART_MIN_HEIGHT }: { children: ReactNode; minHeight?: number }) {
  return <Suspense fallback={<Loading minHeight={minHeight} />}>{children}</Suspense>;
}

/** `C` inside its own Suspense boundary (its placeholder `minHeight` px tall). */
function suspended(C: ComponentType, minHeight = CHART_MIN_HEIGHT): ComponentType {
  return () => (
    <Lazy minHeight={minHeight}>
      <C />
    </Lazy>
  );
}

export const AccuracyChart = suspended(LazyAccuracyChart);
export const TrainingChart = suspended(LazyTrainingChart);
export const HistogramChart = suspended(LazyHistogramChart);
export const RatesChart = suspended(LazyRatesChart);
export const PointTraces = suspended(LazyPointTraces, 80);
export const RlPanel = suspended(LazyRlPanel, 120);
export const OraclePanel = suspended(LazyOraclePanel, 120);

/** The seed-group view (it draws with the charts' parts); nothing while its chunk loads. */
export const SeedGroupsGate = () => (
  <Suspense fallback={null}>
    <LazySeedGroupsGate />
  </Suspense>
);

/** Idle time (ms) after which the lab loads even if it has not been scrolled near. */
const LAB_IDLE_LOAD_MS = 3000;

/** The lab section: a placeholder until it comes within a screen of the viewport (or the idle time passes). */
export function LabSection() {
  const [shown, setShown] = useState(false);
  const placeholder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (shown) return;
    const show = () => setShown(true);
    const timer = setTimeout(show, LAB_IDLE_LOAD_MS);
    const el = placeholder.current;
    const observer =
      el && typeof IntersectionObserver !== 'undefined'
        ? new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && show(), {
            rootMargin: '100% 0px',
          })
        : null;
    if (el && observer) observer.observe(el);
    return () => {
      clearTimeout(timer);
      observer?.disconnect();
    };
  }, [shown]);
  if (!shown) return <div ref={placeholder} className="lab-section" style={{ minHeight: 400 }} />;
  return (
    <Lazy minHeight={400}>
      <LazyLabSection />
    </Lazy>
  );
}

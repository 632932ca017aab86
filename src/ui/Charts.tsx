/**
 * The playground's charts (recharts, animations off, every line bounded to MAX_CHART_POINTS):
 *   (a) trace length vs accuracy: one marker series per stopping method on the SFT model and, after an RL stage, one
 *       per method on the RL model (the plain-decoding one, "TLDR", joins the length levels); each joins its latest
 *       points into a curve (dashed for the RL model); hover shows the point's settings, click selects it;
 *   (b) thinking-length histogram, correct vs wrong, of the selected point (default: the latest);
 *   (c) repetition rate and stop rate per eval point;
 *   (d) training curves (train and held-out loss by step);
 * plus the selected point's sample traces. With runs ticked for comparison, each run gets one colour and (in (a)) the
 * methods get marker shapes.
 */
import {
  memo,
  type ReactElement,
  type ReactNode,
  startTransition,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Scatter,
  ScatterChart,
  type ScatterShapeProps,
  Tooltip,
  type TooltipContentProps,
  XAxis,
  type XAxisTickContentProps,
  YAxis,
  type YAxisTickContentProps,
} from 'recharts';
import { useShallow } from 'zustand/react/shallow';
import type { MetricPoint } from '../runs/run_record';
import { type PlaygroundState, selectedEvalPoint, useStore } from '../state/store';
import type { EvalPoint } from '../train/results';
import {
  CHART_SERIES_COLOR,
  CHART_SERIES_IDS,
  CHART_SERIES_SHAPE,
  type ChartMarker,
  chartPoints,
  chartSeriesLabel,
  chartSeriesOf,
  FRONTIER_CHART_COLOR,
  frontierData,
  type MarkerShape,
  percent,
  type RlName,
  RUN_COLORS,
  rlSeriesName,
  type ScatterDatum,
  type SeriesGroup,
  scatterDatum,
  seriesGroups,
  settingLabel,
  type TrainingCurves,
  trainingCurves,
} from './chart_data';
import { histogramBinLabel, histogramBinRange, histogramTickInterval } from './scales';
import { TraceList } from './TraceList';

export const CHART_HEIGHT = 250;
const EMPTY_TIMELINE: MetricPoint[] = [];
const EMPTY_POINTS: EvalPoint[] = [];
/** Most eval points shown in the rates chart (the latest ones). */
const MAX_RATE_BARS = 40;

/**
 * Delays (ms) before each chart shows new data. Every chart then renders in a task of its own instead of all in the
 * store update that brought the data (an eval point updates three charts at once), keeping each task short.
 */
const LAG_MS = { training: 0, accuracy: 20, histogram: 40, rates: 60 } as const;
/** The training curves redraw at most this often (metrics arrive every FLUSH_INTERVAL_MS while training). */
const TRAINING_REDRAW_MS = 1000;

/**
 * `value`, applied in a task of its own at least `delayMs` after it changed and at most once per `minIntervalMs`.
 * The newest value always lands: a change while one is pending replaces it without moving the deadline.
 */
function useLagged<T>(value: T, delayMs: number, minIntervalMs = 0): T {
  const [shown, setShown] = useState(value);
  const lastShownAt = useRef(Number.NEGATIVE_INFINITY);
  useEffect(() => {
    const waitMs = Math.max(delayMs, lastShownAt.current + minIntervalMs - performance.now());
    const timer = setTimeout(() => {
      lastShownAt.current = performance.now();
      // A transition: React renders it in slices and yields to input in between.
      startTransition(() => setShown(() => value));
    }, waitMs);
    return () => clearTimeout(timer);
  }, [value, delayMs, minIntervalMs]);
  return shown;
}

/** The active run, then the runs ticked for comparison. */
function chartRunIds(s: PlaygroundState): string[] {
  const ids: string[] = [];
  if (s.activeRunId !== null && s.runs[s.activeRunId]) ids.push(s.activeRunId);
  for (const id of s.compareRunIds) if (!ids.includes(id) && s.runs[id]) ids.push(id);
  return ids;
}

// Constant chart props, defined once: recharts re-registers a component's settings (and recomputes the chart) whenever
// a prop changes identity, so inline objects and arrow functions would redo that work on every data update.
export const MARGIN = { top: 8, right: 16, bottom: 16, left: 0 };
const MARGIN_TIGHT = { top: 4, right: 16, bottom: 16, left: 0 };
const STEP_LABEL = { value: 'step', position: 'insideBottom', offset: -8 } as const;
const THINKING_LABEL = { value: 'mean thinking length (tokens)', position: 'insideBottom', offset: -8 } as const;
const BIN_LABEL = { value: 'thinking tokens', position: 'insideBottom', offset: -8 } as const;
const POINT_LABEL = { value: 'eval point', position: 'insideBottom', offset: -8 } as const;
const DOMAIN_DATA: ['dataMin', 'dataMax'] = ['dataMin', 'dataMax'];
const DOMAIN_FROM_ZERO: [number, 'auto'] = [0, 'auto'];
const DOMAIN_UNIT: [number, number] = [0, 1];
const EVAL_DOT = { r: 2 };
export const SCATTER_CURSOR = { strokeDasharray: '3 3' };
const lossTick = (v: number) => v.toFixed(2);
const curveLines = new Map<string, { stroke: string; strokeWidth: number; strokeDasharray?: string }>();
/** The joint-line style of a colour (dashed: the RL model's), one object per style. */
function curveLine(color: string, dashed: boolean) {
  const key = `${color}${dashed ? ':dashed' : ''}`;
  let line = curveLines.get(key);
  if (!line) {
    line = dashed ? { stroke: color, strokeWidth: 2, strokeDasharray: '6 3' } : { stroke: color, strokeWidth: 2 };
    curveLines.set(key, line);
  }
  return line;
}
const percentTick = (v: number) => `${Math.round(100 * v)}%`;
const lossTooltip = (v: unknown) => (typeof v === 'number' ? `${v.toFixed(4)} nats/token` : String(v));
const stepTooltipLabel = (l: unknown) => `step ${String(l)}`;
/** The hovered bin's range ("12–15 thinking tokens"); the axis labels only the first token count of some bins. */
const binTooltipLabel = (l: unknown, payload: readonly { payload?: { range?: string } }[]) =>
  `${payload[0]?.payload?.range ?? String(l)} thinking tokens`;

const runColor = (i: number) => RUN_COLORS[i % RUN_COLORS.length]!;

function isScatterDatum(x: unknown): x is ScatterDatum {
  return typeof x === 'object' && x !== null && 'pointId' in x && 'runId' in x && 'setting' in x;
}

/**
 * Axis tick label as a plain SVG <text>: recharts' default tick measures every label in the DOM (a forced layout of
 * the whole page on each update while training), which alone can push a render past 50 ms.
 */
function plainTick(p: XAxisTickContentProps | YAxisTickContentProps) {
  const value = p.tickFormatter ? p.tickFormatter(p.payload.value, p.index) : String(p.payload.value);
  const dy = p.verticalAnchor === 'start' ? '0.71em' : p.verticalAnchor === 'middle' ? '0.32em' : '0';
  return (
    <text x={p.x} y={p.y} dy={dy} textAnchor={p.textAnchor} fill="#5b6576" fontSize={11}>
      {value}
    </text>
  );
}

/** Grid and axes of an accuracy chart (x: mean thinking tokens, y: accuracy), made once (see the constants above). */
export const ACCURACY_AXES = [
  <CartesianGrid key="grid" stroke="#eceff3" />,
  <XAxis
    key="x"
    interval={0}
    tick={plainTick}
    dataKey="x"
    type="number"
    name="mean thinking"
    unit=" tok"
    domain={DOMAIN_FROM_ZERO}
    label={THINKING_LABEL}
  />,
  <YAxis
    key="y"
    interval={0}
    tick={plainTick}
    dataKey="y"
    type="number"
    name="accuracy"
    domain={DOMAIN_UNIT}
    width={44}
    tickFormatter={percentTick}
  />,
];

/**
 * A chart's box. The chart stays mounted even without data (an overlay says what will appear): mounting a recharts
 * chart costs several times an update, so it happens at page load rather than when the first data arrive mid-run.
 */
export function ChartFrame({
  height,
  empty,
  legend,
  children,
}: {
  height: number;
  empty: string | null;
  /** An HTML legend under the chart (compare mode, where recharts' own legend would crowd the plot). */
  legend?: ReactNode;
  children: ReactElement;
}) {
  return (
    <>
      <div className="chart-frame" style={{ height }}>
        <ResponsiveContainer width="100%" height={height}>
          {children}
        </ResponsiveContainer>
        {empty !== null && <div className="chart-empty">{empty}</div>}
      </div>
      {legend}
    </>
  );
}

const SHAPE_GLYPH: Record<ChartMarker, string> = {
  circle: '●',
  diamond: '◆',
  square: '■',
  triangle: '▲',
  star: '★',
  wye: 'Y',
  cross: '✚',
  ring: '○',
  x: '✕',
};

/** A series' marker for recharts' `shape`: a built-in symbol's name, or the ring / × drawn here. */
/** What recharts hands a custom marker: the point's centre and the series' presentation props (its fill among them). */
type MarkerProps = ScatterShapeProps & { fill?: unknown };

const strokeOf = (fill: unknown) => (typeof fill === 'string' ? fill : '#333');

export function markerShape(marker: ChartMarker): MarkerShape | ((props: MarkerProps) => ReactElement) {
  if (marker === 'ring') return RingMarker;
  if (marker === 'x') return XMarker;
  return marker;
}

function RingMarker(props: MarkerProps): ReactElement {
  const { cx, cy, fill } = props;
  if (typeof cx !== 'number' || typeof cy !== 'number') return <g />;
  return <circle cx={cx} cy={cy} r={4.5} fill="none" stroke={strokeOf(fill)} strokeWidth={2} />;
}

function XMarker(props: MarkerProps): ReactElement {
  const { cx, cy, fill } = props;
  if (typeof cx !== 'number' || typeof cy !== 'number') return <g />;
  const r = 4;
  return (
    <path
      d={`M${cx - r},${cy - r}L${cx + r},${cy + r}M${cx - r},${cy + r}L${cx + r},${cy - r}`}
      stroke={strokeOf(fill)}
      strokeWidth={2}
    />
  );
}

/** Compare-mode legend: one colour per run, and (for eval points) one marker shape per chart series. */
function CompareLegend({
  ids,
  names,
  series,
  note,
}: {
  ids: readonly string[];
  names: readonly string[];
  series?: readonly { id: string; shape: ChartMarker; label: string }[];
  note?: string;
}) {
  return (
    <div className="compare-legend">
      {ids.map((id, i) => (
        <span key={id} className="legend-item">
          <span className="swatch" style={{ background: runColor(i) }} />
          {names[i]}
        </span>
      ))}
      {series?.map((s) => (
        <span key={s.id} className="legend-item muted">
          {SHAPE_GLYPH[s.shape]} {s.label}
        </span>
      ))}
      {note && <span className="legend-item muted">{note}</span>}
    </div>
  );
}

// ---- (d) training curves ----

const curveCache = new WeakMap<readonly MetricPoint[], TrainingCurves>();
function cachedCurves(timeline: readonly MetricPoint[]): TrainingCurves {
  let c = curveCache.get(timeline);
  if (!c) {
    c = trainingCurves(timeline);
    curveCache.set(timeline, c);
  }
  return c;
}

type CurveRow = { step: number } & Record<string, number>;

export const TrainingChart = memo(function TrainingChart() {
  const liveIds = useStore(useShallow(chartRunIds));
  const liveTimelines = useStore(useShallow((s) => liveIds.map((id) => s.runs[id]?.timeline ?? EMPTY_TIMELINE)));
  const liveNames = useStore(useShallow((s) => liveIds.map((id) => s.runs[id]?.name ?? '')));
  const training = useStore((s) => s.session?.state === 'running');
  const { ids, timelines, names } = useLagged(
    useMemo(() => ({ ids: liveIds, timelines: liveTimelines, names: liveNames }), [liveIds, liveTimelines, liveNames]),
    LAG_MS.training,
    // Throttled only while steps stream in: the final curve shows as soon as the run stops or pauses.
    training ? TRAINING_REDRAW_MS : 0,
  );
  const rows = useMemo(() => {
    const byStep = new Map<number, CurveRow>();
    const put = (step: number, key: string, value: number) => {
      let row = byStep.get(step);
      if (!row) {
        row = { step };
        byStep.set(step, row);
      }
      row[key] = value;
    };
    timelines.forEach((t, i) => {
      const c = cachedCurves(t);
      for (const p of c.train) put(p.step, `train${i}`, p.value);
      for (const p of c.eval) put(p.step, `eval${i}`, p.value);
    });
    return [...byStep.values()].sort((a, b) => a.step - b.step);
  }, [timelines]);
  const compare = ids.length > 1;
  // Same inputs, same element: React skips the chart when only the live (not yet shown) data changed.
  return useMemo(
    () => (
      <ChartFrame
        height={CHART_HEIGHT}
        empty={rows.length === 0 ? 'Training curves appear here once a run reports its loss.' : null}
        legend={compare ? <CompareLegend ids={ids} names={names} note="solid: train loss · dashed: eval loss" /> : null}
      >
        <LineChart data={rows} margin={MARGIN}>
          <CartesianGrid stroke="#eceff3" />
          <XAxis
            interval={0}
            tick={plainTick}
            dataKey="step"
            type="number"
            allowDecimals={false}
            domain={DOMAIN_DATA}
            label={STEP_LABEL}
          />
          <YAxis interval={0} tick={plainTick} width={48} domain={DOMAIN_FROM_ZERO} tickFormatter={lossTick} />
          <Tooltip isAnimationActive={false} formatter={lossTooltip} labelFormatter={stepTooltipLabel} />
          {!compare && <Legend verticalAlign="top" height={24} />}
          {ids.map((id, i) => [
            <Line
              key={`train-${id}`}
              dataKey={`train${i}`}
              name={compare ? `${names[i]} · train` : 'train loss'}
              stroke={compare ? runColor(i) : '#1f77b4'}
              dot={false}
              strokeWidth={1.5}
              connectNulls
              isAnimationActive={false}
            />,
            <Line
              key={`eval-${id}`}
              dataKey={`eval${i}`}
              name={compare ? `${names[i]} · eval` : 'eval loss (held-out)'}
              stroke={compare ? runColor(i) : '#ff7f0e'}
              strokeDasharray={compare ? '5 3' : undefined}
              dot={EVAL_DOT}
              strokeWidth={1.5}
              connectNulls
              isAnimationActive={false}
            />,
          ])}
        </LineChart>
      </ChartFrame>
    ),
    [ids, names, rows, compare],
  );
});

// ---- (a) trace length vs accuracy ----

/** A point tooltip's first lines: its line (coloured) and setting. */
export function TooltipHead({ d }: { d: ScatterDatum }) {
  return (
    <>
      <div className="tooltip-title">
        <span className="swatch" style={{ background: CHART_SERIES_COLOR[d.chartSeries] }} />
        {d.seriesLabel}
      </div>
      <div>{d.setting}</div>
    </>
  );
}

/**
 * The joined curve of a chart line (a Scatter drawing a line through `g.curve`, dashed for the RL model), as an
 * element for the chart's children (recharts reads its direct children). `pick`: clicking a point selects it.
 */
export function curveScatter(
  key: string,
  name: string,
  g: Pick<SeriesGroup, 'id' | 'stage'> & { curve: readonly ScatterDatum[] },
  color: string,
  pick?: (item: { payload?: unknown }) => void,
): ReactElement {
  return (
    <Scatter
      key={key}
      name={`${name} (latest step)`}
      data={g.curve}
      fill={color}
      line={curveLine(color, g.stage === 'rl')}
      shape={markerShape(CHART_SERIES_SHAPE[g.id])}
      legendType="none"
      isAnimationActive={false}
      onClick={pick}
      className={pick ? 'clickable' : undefined}
    />
  );
}

function PointTooltip({ active, payload }: TooltipContentProps) {
  const d = payload?.[0]?.payload;
  if (!active || !isScatterDatum(d)) return null;
  return (
    <div className="tooltip">
      <TooltipHead d={d} />
      <div>
        accuracy <strong>{percent(d.y)}</strong> of {d.problems} ({d.variant})
      </div>
      <div>mean thinking {d.x.toFixed(1)} tokens</div>
      <div>
        stop rate {percent(d.stopRate)} · repetition {percent(d.repetitionRate)}
      </div>
      <div className="muted">weights at step {d.step} · click to see traces</div>
    </div>
  );
}

/** The oracle frontier: a dashed grey line without markers. */
const FRONTIER_LINE = { stroke: FRONTIER_CHART_COLOR, strokeWidth: 1.5, strokeDasharray: '5 3' };
function NoMarker() {
  return <g />;
}

function Ring(props: ScatterShapeProps) {
  const { cx, cy } = props;
  if (typeof cx !== 'number' || typeof cy !== 'number') return <g />;
  return <circle cx={cx} cy={cy} r={9} fill="none" stroke="#111" strokeWidth={2} />;
}

export const AccuracyChart = memo(function AccuracyChart() {
  const liveIds = useStore(useShallow(chartRunIds));
  const livePoints = useStore(useShallow((s) => liveIds.map((id) => runPoints(s, id))));
  const liveNames = useStore(useShallow((s) => liveIds.map((id) => s.runs[id]?.name ?? '')));
  const liveRlNames = useStore(useShallow((s) => liveIds.map((id) => runRlName(s, id))));
  const liveSelected = useStore(useShallow((s) => s.selectedPoint));
  // The active run's saved oracle frontier (src/train/oracle.ts), if it has one: drawn under the method curves.
  const frontier = useStore((s) => frontierData(liveIds[0] === undefined ? null : s.runs[liveIds[0]]?.oracle));
  const { ids, pointLists, names, rlNames, selected } = useLagged(
    useMemo(
      () => ({ ids: liveIds, pointLists: livePoints, names: liveNames, rlNames: liveRlNames, selected: liveSelected }),
      [liveIds, livePoints, liveNames, liveRlNames, liveSelected],
    ),
    LAG_MS.accuracy,
  );
  const selectPoint = useStore((s) => s.selectPoint);
  const groups = useMemo(
    () => ids.map((id, i) => seriesGroups(id, pointLists[i] ?? [], rlNames[i])),
    [ids, pointLists, rlNames],
  );
  const selectedDatum = useMemo(() => {
    if (!selected) return null;
    const i = ids.indexOf(selected.runId);
    const p = pointLists[i]?.find((q) => q.id === selected.pointId);
    return p ? scatterDatum(selected.runId, p, rlNames[i]) : null;
  }, [selected, ids, pointLists, rlNames]);
  // Compare-mode shapes: one entry per chart series present (RL names of different runs joined: "TLDR / GRPO").
  const legendSeries = useMemo(
    () =>
      CHART_SERIES_IDS.flatMap((id) => {
        const labels = [...new Set(groups.flatMap((g) => g.filter((x) => x.id === id).map((x) => x.short)))];
        return labels.length === 0 ? [] : [{ id, shape: CHART_SERIES_SHAPE[id], label: labels.join(' / ') }];
      }),
    [groups],
  );
  const empty = groups.every((g) => g.length === 0);
  const compare = ids.length > 1;
  const pick = useCallback(
    (item: { payload?: unknown }) => {
      if (isScatterDatum(item.payload)) selectPoint(item.payload.runId, item.payload.pointId);
    },
    [selectPoint],
  );
  const selectedData = useMemo(() => (selectedDatum ? [selectedDatum] : []), [selectedDatum]);
  // Same inputs, same element: React skips the chart when only the live (not yet shown) data changed.
  return useMemo(
    () => (
      <ChartFrame
        height={CHART_HEIGHT + 30}
        empty={empty ? 'Move the temperature slider or run a sweep: each evaluation adds a point here.' : null}
        legend={compare ? <CompareLegend ids={ids} names={names} series={legendSeries} /> : null}
      >
        <ScatterChart margin={MARGIN}>
          {ACCURACY_AXES}
          <Tooltip isAnimationActive={false} content={PointTooltip} cursor={SCATTER_CURSOR} />
          {!compare && <Legend verticalAlign="top" height={24} />}
          {frontier.length > 0 && (
            <Scatter
              key="oracle-frontier"
              name="oracle frontier"
              data={frontier}
              fill={FRONTIER_CHART_COLOR}
              line={FRONTIER_LINE}
              shape={NoMarker}
              legendType="plainline"
              isAnimationActive={false}
            />
          )}
          {groups.flatMap((runGroups, i) =>
            runGroups.flatMap((g) => {
              const color = compare ? runColor(i) : CHART_SERIES_COLOR[g.id];
              const name = compare ? `${names[i]} · ${g.short}` : g.short;
              return [
                <Scatter
                  key={`${ids[i]}-${g.id}`}
                  name={name}
                  data={g.all}
                  fill={color}
                  fillOpacity={0.45}
                  shape={markerShape(CHART_SERIES_SHAPE[g.id])}
                  isAnimationActive={false}
                  onClick={pick}
                  className="clickable"
                />,
                curveScatter(`${ids[i]}-${g.id}-curve`, name, g, color, pick),
              ];
            }),
          )}
          {selectedData.length > 0 && (
            <Scatter name="selected" data={selectedData} shape={Ring} legendType="none" isAnimationActive={false} />
          )}
        </ScatterChart>
      </ChartFrame>
    ),
    [ids, names, groups, legendSeries, selectedData, empty, compare, pick, frontier],
  );
});

// ---- the selected point: (b) histogram and traces ----

/** The points of run `id`, each with its stage (chartPoints: the same array while they do not change). */
function runPoints(s: PlaygroundState, id: string): readonly EvalPoint[] {
  const run = s.runs[id];
  return run ? chartPoints(run) : EMPTY_POINTS;
}

/** What the RL stage of run `id` is called on the chart ("TLDR" for a run that is not loaded). */
function runRlName(s: PlaygroundState, id: string): RlName {
  const run = s.runs[id];
  return run ? rlSeriesName(run.config, chartPoints(run)) : 'TLDR';
}

function useShownPoint(): { runId: string | null; point: EvalPoint | null; rlName: RlName } {
  const [runId, point, rlName] = useStore(
    useShallow((s): [string | null, EvalPoint | null, RlName] => {
      const r = selectedEvalPoint(s);
      if (!r) return [null, null, 'TLDR'];
      // The point with its stage: the same object on every update (chartPoints caches).
      const point = r.point.stage !== undefined ? r.point : chartPoints(r.run)[r.run.evalPoints.indexOf(r.point)];
      return [r.run.id, point ?? r.point, runRlName(s, r.run.id)];
    }),
  );
  return { runId, point, rlName };
}

export const HistogramChart = memo(function HistogramChart() {
  const shown = useShownPoint();
  const { point, rlName } = useLagged(
    useMemo(() => ({ point: shown.point, rlName: shown.rlName }), [shown.point, shown.rlName]),
    LAG_MS.histogram,
  );
  const data = useMemo(
    () =>
      (point?.histogram ?? []).map((b) => ({
        bin: histogramBinLabel(b),
        range: histogramBinRange(b),
        correct: b.correct,
        wrong: b.wrong,
      })),
    [point],
  );
  // Same inputs, same element: React skips the chart when only the live (not yet shown) data changed.
  return useMemo(
    () => (
      <div>
        <p className="chart-caption">
          {point
            ? `${chartSeriesLabel(chartSeriesOf(point), rlName)} · ${settingLabel(point)} · step ${point.step}`
            : 'no point yet'}
        </p>
        <ChartFrame
          height={CHART_HEIGHT - 20}
          empty={point ? null : 'The thinking-length histogram of the selected point appears here.'}
        >
          <BarChart data={data} margin={MARGIN_TIGHT}>
            <CartesianGrid stroke="#eceff3" vertical={false} />
            <XAxis interval={histogramTickInterval(data.length)} tick={plainTick} dataKey="bin" label={BIN_LABEL} />
            <YAxis interval={0} tick={plainTick} width={36} allowDecimals={false} />
            <Tooltip isAnimationActive={false} labelFormatter={binTooltipLabel} />
            <Legend verticalAlign="top" height={22} />
            <Bar
              dataKey="correct"
              name="correct ✓"
              stackId="n"
              fill="#2e9d57"
              maxBarSize={40}
              isAnimationActive={false}
            />
            <Bar dataKey="wrong" name="wrong ✗" stackId="n" fill="#d64545" maxBarSize={40} isAnimationActive={false} />
          </BarChart>
        </ChartFrame>
      </div>
    ),
    [point, rlName, data],
  );
});

export const PointTraces = memo(function PointTraces() {
  const { point } = useShownPoint();
  const pinned = useStore((s) => s.selectedPoint !== null);
  const selectPoint = useStore((s) => s.selectPoint);
  const samples = useMemo(
    () => (point ? [...point.samples].sort((a, b) => Number(b.correct) - Number(a.correct)) : []),
    [point],
  );
  if (!point) return <p className="muted small">Click a point on the accuracy chart to read its traces.</p>;
  return (
    <div data-testid="point-traces">
      <p className="point-summary">
        <span className="swatch" style={{ background: CHART_SERIES_COLOR[chartSeriesOf(point)] }} />
        <strong>{settingLabel(point)}</strong> · step {point.step} · accuracy {percent(point.accuracy)} of{' '}
        {point.problems} · mean thinking {point.meanThinkingTokens.toFixed(1)} tokens (correct{' '}
        {point.meanThinkingTokensCorrect?.toFixed(1) ?? '—'}, wrong {point.meanThinkingTokensWrong?.toFixed(1) ?? '—'})
        · stop rate {percent(point.stopRate)} · {(point.evalTimeMs / 1000).toFixed(1)} s{' '}
        {pinned ? (
          <button type="button" className="link" onClick={() => selectPoint('', null)}>
            follow the latest point
          </button>
        ) : (
          <span>(latest point)</span>
        )}
      </p>
      <TraceList samples={samples} />
    </div>
  );
});

// ---- (c) repetition and stop rates ----

interface RateRow {
  label: string;
  pointId: string;
  repetition: number;
  stop: number;
  setting: string;
}

function isRateRow(x: unknown): x is RateRow {
  return typeof x === 'object' && x !== null && 'pointId' in x && 'repetition' in x && 'stop' in x;
}

function RateTooltip({ active, payload }: TooltipContentProps) {
  const row: unknown = payload?.[0]?.payload;
  if (!active || !isRateRow(row)) return null;
  return (
    <div className="tooltip">
      <div className="tooltip-title">
        {row.label}: {row.setting}
      </div>
      <div>repetition rate {percent(row.repetition)}</div>
      <div>stop rate {percent(row.stop)}</div>
    </div>
  );
}

export const RatesChart = memo(function RatesChart() {
  const runId = useStore((s) => s.activeRunId);
  const points = useLagged(
    useStore((s) => (s.activeRunId === null ? EMPTY_POINTS : runPoints(s, s.activeRunId))),
    LAG_MS.rates,
  );
  const selectPoint = useStore((s) => s.selectPoint);
  const rows = useMemo<RateRow[]>(() => {
    const first = Math.max(0, points.length - MAX_RATE_BARS);
    return points.slice(first).map((p, k) => ({
      label: `#${first + k + 1}`,
      pointId: p.id,
      repetition: p.repetitionRate,
      stop: p.stopRate,
      setting: settingLabel(p),
    }));
  }, [points]);
  const pick = useCallback(
    (item: { payload?: unknown }) => {
      if (runId !== null && isRateRow(item.payload)) selectPoint(runId, item.payload.pointId);
    },
    [runId, selectPoint],
  );
  // Same inputs, same element: React skips the chart when only the live (not yet shown) data changed.
  return useMemo(
    () => (
      <ChartFrame
        height={CHART_HEIGHT}
        empty={rows.length === 0 ? 'Repetition and stop rates of each eval point.' : null}
      >
        <BarChart data={rows} margin={MARGIN}>
          <CartesianGrid stroke="#eceff3" vertical={false} />
          <XAxis interval={0} tick={plainTick} dataKey="label" label={POINT_LABEL} />
          <YAxis interval={0} tick={plainTick} width={44} domain={DOMAIN_UNIT} tickFormatter={percentTick} />
          <Tooltip isAnimationActive={false} content={RateTooltip} />
          <Legend verticalAlign="top" height={22} />
          <Bar
            dataKey="repetition"
            name="repetition rate"
            fill="#8c6bb1"
            isAnimationActive={false}
            maxBarSize={28}
            onClick={pick}
            className="clickable"
          />
          <Bar
            dataKey="stop"
            name="stop rate"
            fill="#3b9ab2"
            isAnimationActive={false}
            maxBarSize={28}
            onClick={pick}
            className="clickable"
          />
        </BarChart>
      </ChartFrame>
    ),
    [rows, pick],
  );
});

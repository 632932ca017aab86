/**
 * The report generator (src/headless/report.ts): series grouping and ordering, standard-error bars drawn where the
 * formula and the axes put them, hostile run names escaped, byte-identical output for the same input, bad run files
 * named by path, and a real measured run file rendered whole.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  chartLayout,
  loadReportRun,
  matchesSelector,
  niceTicks,
  parsePointSelector,
  ReportError,
  type ReportRun,
  type ReportSeries,
  renderChartSvg,
  renderMarkdownTable,
  reportSeries,
  stageOf,
} from '../../src/headless/report';
import type { LengthTag } from '../../src/tasks/types';
import { applySweepValue, type EvalPoint, type SeriesId, sweptValue } from '../../src/train/results';
import { DEFAULT_DECODE_CONFIG, DEFAULT_RL_CONFIG, DEFAULT_RUN_CONFIG } from '../../src/train/run_config';

const TLDR_FILE = 'docs/measurements/experiment-tldr-arithmetic-h200.stoptime.json';
const STOPPING_FILE = 'docs/measurements/experiment-stopping-arithmetic-h200.stoptime.json';

let nextId = 0;

/** An evaluation point whose decode settings come from the playground's own sweep rule. */
function point(
  series: SeriesId,
  knob: number,
  extra: Partial<Pick<EvalPoint, 'lengthTag' | 'stage' | 'step' | 'accuracy' | 'problems' | 'meanThinkingTokens'>> = {},
): EvalPoint {
  const id = nextId++;
  return {
    id: `p${id}`,
    step: extra.step ?? 1000,
    series,
    decode: applySweepValue(series, { ...DEFAULT_DECODE_CONFIG, temperature: 0.6 }, knob),
    variant: 'id',
    ...(extra.lengthTag ? { lengthTag: extra.lengthTag } : {}),
    ...(extra.stage ? { stage: extra.stage } : {}),
    problems: extra.problems ?? 200,
    accuracy: extra.accuracy ?? 0.4 + 0.01 * (id % 40),
    meanThinkingTokens: extra.meanThinkingTokens ?? 5 + (id % 37),
    meanThinkingTokensCorrect: 10,
    meanThinkingTokensWrong: null,
    meanCompletionTokens: 30,
    stopRate: 1,
    repetitionRate: 0.01,
    histogram: [],
    samples: [],
    evalTimeMs: 100,
    createdAt: 1_700_000_000_000 + id,
  };
}

/** A scrambled mix of every kind of point (values deliberately out of order). */
function mixedPoints(): EvalPoint[] {
  const levels = (stage: 'sft' | 'rl', order: LengthTag[]) =>
    order.map((lengthTag) => point('temperature', 0, { lengthTag, stage }));
  return [
    point('cap', 32),
    ...levels('rl', ['long', 'short', 'medium']),
    point('temperature', 1),
    point('ts', 4),
    point('cap', 16, { stage: 'rl' }),
    point('temperature', 0),
    point('extend', 64),
    ...levels('sft', ['medium', 'long', 'short']),
    point('bias', 2),
    point('cap', 8),
    point('ts', 0.5),
    point('temperature', 0.6, { stage: 'sft' }),
    point('bias', -2),
    point('cap', 8, { stage: 'rl' }),
    point('extend', 32),
    point('ts', 1),
  ];
}

const knobs = (s: ReportSeries) => s.points.map((p) => p.knob);
const levelsOf = (s: ReportSeries) => s.points.map((p) => p.point.lengthTag);
const ascending = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('sweptValue', () => {
  it('reads back the value applySweepValue wrote, for every method', () => {
    for (const series of ['temperature', 'ts', 'bias', 'cap', 'extend'] as const) {
      for (const v of [0.25, 3, 48])
        expect(sweptValue(series, applySweepValue(series, DEFAULT_DECODE_CONFIG, v))).toBe(v);
    }
  });
});

describe('reportSeries', () => {
  it('groups SFT points by method, tagged ones into SFT levels, RL ones into TLDR and TLDR · method', () => {
    const pts = mixedPoints();
    const series = reportSeries([{ name: 'one', points: pts }]);
    expect(series.map((s) => s.label)).toEqual([
      'temperature',
      'TS',
      '</think> bias',
      's1 cap',
      's1 extend',
      'SFT levels',
      'TLDR',
      'TLDR · s1 cap',
    ]);
    // Every point lands in exactly one series.
    expect(series.flatMap((s) => s.points.map((p) => p.point.id)).sort()).toEqual(pts.map((p) => p.id).sort());
    for (const s of series) {
      const inputs = pts.filter((p) => s.points.some((q) => q.point === p));
      if (s.kind === 'method' || s.kind === 'tldr-method') {
        // Ordered by the value the sweep put into the decode settings.
        expect(knobs(s)).toEqual(ascending(knobs(s)));
        expect(knobs(s)).toEqual(ascending(inputs.map((p) => knobOfSweep(p.series, p))));
      } else {
        expect(levelsOf(s)).toEqual(['short', 'medium', 'long']);
      }
      expect(s.points.every((p) => p.stage === (s.kind === 'tldr' || s.kind === 'tldr-method' ? 'rl' : 'sft'))).toBe(
        true,
      );
    }
    // Colours: one per series, all different.
    expect(new Set(series.map((s) => s.color)).size).toBe(series.length);
  });

  it('prefixes labels with the run name when several runs are charted, and tells runs apart by marker', () => {
    const a: ReportRun = { name: 'alpha', points: [point('temperature', 0), point('temperature', 1)] };
    const b: ReportRun = { name: 'alpha', points: [point('temperature', 0.5)] };
    const c: ReportRun = { name: 'gamma', points: [point('cap', 16, { stage: 'rl' })] };
    const series = reportSeries([a, b, c]);
    expect(series.map((s) => s.label)).toEqual([
      'alpha · temperature',
      'alpha (2) · temperature',
      'gamma · TLDR · s1 cap',
    ]);
    expect(new Set(series.map((s) => s.marker)).size).toBe(3);
    expect(new Set(series.map((s) => s.color)).size).toBe(3);
    // One run: no prefix.
    expect(reportSeries([a]).map((s) => s.label)).toEqual(['temperature']);
  });

  it('splits a method evaluated at several steps, so a curve never joins different weights', () => {
    const pts = [point('ts', 1, { step: 500 }), point('ts', 2, { step: 1000 }), point('ts', 0.5, { step: 500 })];
    const series = reportSeries([{ name: 'r', points: pts }]);
    expect(series.map((s) => s.label)).toEqual(['TS · step 500', 'TS · step 1000']);
    expect(knobs(series[0]!)).toEqual([0.5, 1]);
  });

  it('keeps only the points the caller includes; selectors parse and match', () => {
    const tldr: ReportRun = {
      name: 'tldr',
      points: [point('temperature', 0), point('temperature', 0, { lengthTag: 'short' }), point('cap', 8)],
    };
    const other: ReportRun = { name: 'other', points: [point('temperature', 0)] };
    const sel = parsePointSelector('run=tldr, level=none');
    expect(sel).toEqual({ run: 'tldr', level: 'none' });
    const series = reportSeries([tldr, other], { include: (p, run) => !matchesSelector(sel, run.name, p) });
    expect(series.map((s) => s.label)).toEqual(['tldr · SFT levels', 'other · temperature']);
    expect(matchesSelector(parsePointSelector('stage=rl'), 'x', point('cap', 8, { stage: 'rl' }))).toBe(true);
    expect(matchesSelector(parsePointSelector('stage=rl'), 'x', point('cap', 8))).toBe(false);
    expect(matchesSelector(parsePointSelector('method=cap,level=short'), 'x', point('cap', 8))).toBe(false);
    expect(() => parsePointSelector('lvl=none')).toThrow(/unknown key "lvl"/);
    expect(() => parsePointSelector('level=tiny')).toThrow(/level: expected short \| medium \| long \| none/);
    expect(() => parsePointSelector('stage=')).toThrow(/stage: missing value/);
    expect(() => parsePointSelector('run=a,run=b')).toThrow(/run: given twice/);
  });

  it('reads an absent stage as SFT, and as RL after the SFT steps of a file written before points had a stage', () => {
    const config = { ...DEFAULT_RUN_CONFIG, rl: DEFAULT_RL_CONFIG };
    const sftSteps = config.sft.steps;
    expect(stageOf(point('temperature', 0, { step: sftSteps }), { config })).toBe('sft');
    expect(stageOf(point('temperature', 0, { step: sftSteps + 1 }), { config })).toBe('rl');
    expect(stageOf(point('temperature', 0, { step: sftSteps + 1, stage: 'sft' }), { config })).toBe('sft');
    const { rl: _, ...noRl } = config;
    expect(stageOf(point('temperature', 0, { step: sftSteps + 1 }), { config: noRl })).toBe('sft');
    expect(stageOf(point('temperature', 0, { step: 50 }), { config, rlStartStep: 40 })).toBe('rl');
    expect(stageOf(point('temperature', 0, { step: sftSteps + 1 }), { config, rlStartStep: null })).toBe('sft');
  });
});

/** The swept value read back through applySweepValue's own field choice: sweep twice and see which field moved. */
function knobOfSweep(series: SeriesId, p: EvalPoint): number {
  const a = applySweepValue(series, p.decode, 1234.5);
  const field = (Object.keys(a) as (keyof typeof a)[]).find((k) => a[k] === 1234.5 && p.decode[k] !== 1234.5)!;
  return p.decode[field] as number;
}

describe('niceTicks', () => {
  it('covers the range with round, evenly spaced ticks', () => {
    for (const [lo, hi] of [
      [0, 61.7],
      [30.9, 78.1],
      [0, 1],
      [2.3, 2.9],
      [0, 1234],
      [45, 45],
    ] as const) {
      const t = niceTicks(lo, hi);
      expect(t.min).toBeLessThanOrEqual(lo);
      expect(t.max).toBeGreaterThanOrEqual(hi);
      const mantissa = t.step / 10 ** Math.floor(Math.log10(t.step) + 1e-9);
      expect([1, 2, 2.5, 5].some((m) => Math.abs(mantissa - m) < 1e-9)).toBe(true);
      expect(t.values.length).toBeGreaterThanOrEqual(3);
      expect(t.values.length).toBeLessThanOrEqual(12);
      for (let i = 1; i < t.values.length; i++) expect(t.values[i]! - t.values[i - 1]!).toBeCloseTo(t.step, 9);
      // Printed with the tick's decimals, every label is exactly its value (no 0.30000000000000004).
      for (const v of t.values) expect(Number(v.toFixed(t.decimals))).toBe(v);
      for (const v of t.values) expect(Math.abs(v / t.step - Math.round(v / t.step))).toBeLessThan(1e-9);
    }
  });
});

/** The numbers of an SVG path's `d`, in order. */
const pathNumbers = (d: string) => (d.match(/-?\d+(\.\d+)?/g) ?? []).map(Number);

describe('renderChartSvg', () => {
  it('draws ±1 binomial standard error around each point, on the axes it labels', () => {
    const p = point('cap', 16, { accuracy: 0.3, problems: 50, meanThinkingTokens: 12.5 });
    const q = point('cap', 32, { accuracy: 0.9, problems: 400, meanThinkingTokens: 30 });
    const series = reportSeries([{ name: 'r', points: [q, p] }]);
    const options = { title: 'SE', subtitle: 'adapter X' };
    const svg = renderChartSvg(series, options);
    const L = chartLayout(series, options);

    const bars = [...svg.matchAll(/<path class="se" d="([^"]+)"/g)].map((m) => pathNumbers(m[1]!));
    const markers = [...svg.matchAll(/<circle class="marker"[^>]* cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    expect(bars).toHaveLength(2);
    expect(markers).toHaveLength(2);
    for (const [i, e] of [p, q].entries()) {
      const se = Math.sqrt((e.accuracy * (1 - e.accuracy)) / e.problems);
      const [x, yTop, yBottom] = bars[i]!;
      expect(x).toBeCloseTo(L.x(e.meanThinkingTokens), 1);
      expect(yTop).toBeCloseTo(L.y(100 * (e.accuracy + se)), 1);
      expect(yBottom).toBeCloseTo(L.y(100 * (e.accuracy - se)), 1);
      expect(markers[i]![1]).toBeCloseTo(L.y(100 * e.accuracy), 1);
    }
    // The mapping is the drawn axis: each y tick label sits at its value, the range spans the plot.
    const yTicks = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)">([\d.]+)<\/text>/g)]
      .filter((m) => svg.indexOf(m[0]) > svg.indexOf('class="y-ticks"'))
      .filter((m) => svg.indexOf(m[0]) < svg.indexOf('class="series"'));
    expect(yTicks.map((m) => Number(m[2]))).toEqual(L.yTicks.values);
    for (const m of yTicks) expect(Number(m[1]) - 4).toBeCloseTo(L.y(Number(m[2])), 1);
    expect(L.y(L.yTicks.min)).toBeCloseTo(L.plot.bottom, 6);
    expect(L.y(L.yTicks.max)).toBeCloseTo(L.plot.top, 6);
    // The bars fit in the axis range.
    expect(L.yTicks.min).toBeLessThanOrEqual(100 * (0.3 - Math.sqrt(0.21 / 50)));
    expect(L.yTicks.max).toBeGreaterThanOrEqual(100 * (0.9 + Math.sqrt(0.09 / 400)));
  });

  it('escapes a hostile run name everywhere and stays well-formed', () => {
    const hostile = `<script>alert("x")</script> & 'q' | *b* \u0001`;
    const runs: ReportRun[] = [
      { name: hostile, points: [point('temperature', 0), point('ts', 2)] },
      { name: 'plain', points: [point('temperature', 0)] },
    ];
    const series = reportSeries(runs);
    const svg = renderChartSvg(series, { title: `title ${hostile}`, subtitle: [`sub ${hostile}`] });
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain('"x"');
    expect(svg).not.toContain("'q'");
    expect(svg).not.toContain('\u0001');
    expect(svg).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;');
    // Every & starts an entity; every < starts a tag of the chart's own.
    expect(svg.match(/&(?!amp;|lt;|gt;|quot;|#39;)/g)).toBeNull();
    const tags = new Set([...svg.matchAll(/<\/?([a-zA-Z]+)/g)].map((m) => m[1]));
    expect([...tags].sort()).toEqual(['circle', 'g', 'path', 'rect', 'svg', 'text', 'title']);

    const table = renderMarkdownTable(series);
    expect(table).not.toContain('<script');
    const cells = table
      .trim()
      .split('\n')
      .map((row) => row.split(/(?<!\\)\|/).length);
    expect(new Set(cells).size).toBe(1);
  });

  it('renders the same bytes for the same input, whatever order the points came in', () => {
    const pts = mixedPoints();
    const one = renderChartSvg(reportSeries([{ name: 'r', points: pts }]), { title: 't', subtitle: 's' });
    const copy = structuredClone(pts).reverse();
    const two = renderChartSvg(reportSeries([{ name: 'r', points: copy }]), { title: 't', subtitle: 's' });
    expect(two).toBe(one);
    expect(renderMarkdownTable(reportSeries([{ name: 'r', points: copy }]))).toBe(
      renderMarkdownTable(reportSeries([{ name: 'r', points: pts }])),
    );
  });
});

describe('run files', () => {
  it('a bad run file gives an error naming the file and the path inside it', () => {
    const doc = JSON.parse(readFileSync(STOPPING_FILE, 'utf8'));
    doc.run.evalPoints[2].accuracy = 1.5;
    const bad = () => loadReportRun('bad.stoptime.json', JSON.stringify(doc));
    expect(bad).toThrow(ReportError);
    expect(bad).toThrow(/^bad\.stoptime\.json: .*run\.evalPoints\[2\]\.accuracy: expected number ≤ 1, got 1\.5/);
    expect(() => loadReportRun('empty.json', '{')).toThrow(/^empty\.json: .*\(file\): is not valid JSON/);
  });

  it('reports every evaluation point of a real measured run: one table row and one marker each', () => {
    const text = readFileSync(TLDR_FILE, 'utf8');
    const { record, report } = loadReportRun(TLDR_FILE, text);
    const evalPoints = record.evalPoints;
    expect(evalPoints.length).toBeGreaterThan(0);
    const series = reportSeries([report]);

    const lines = renderMarkdownTable(series).trim().split('\n');
    // Padded to aligned columns (the repository's Markdown formatter leaves the published tables as they are).
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    const rows = lines.slice(2);
    expect(rows).toHaveLength(evalPoints.length);
    const rowKeys = rows.map((r) => {
      const c = r.split('|').map((cell) => cell.trim());
      return `${c[5]}|${c[6]}|${c[10]}`;
    });
    const expected = evalPoints.map((p) => {
      const se = 100 * Math.sqrt((p.accuracy * (1 - p.accuracy)) / p.problems);
      return `${(100 * p.accuracy).toFixed(1)} ± ${se.toFixed(1)}|${p.meanThinkingTokens.toFixed(1)}|${p.problems}`;
    });
    expect([...rowKeys].sort()).toEqual([...expected].sort());

    const svg = renderChartSvg(series, { title: record.name, subtitle: record.adapter });
    expect(svg.match(/class="marker"/g)).toHaveLength(evalPoints.length);
    expect(svg.match(/class="se"/g)).toHaveLength(evalPoints.length);

    // The run's tagged points after its RL stage form the TLDR curve, short → long.
    const tldr = series.find((s) => s.kind === 'tldr');
    const rlTagged = evalPoints.filter((p) => p.lengthTag && p.step > record.config.sft.steps);
    expect(tldr?.points.map((p) => p.point.id).sort()).toEqual(rlTagged.map((p) => p.id).sort());
    expect(levelsOf(tldr!)).toEqual(['short', 'medium', 'long']);
  });
});

/**
 * The claims of "Making Small Language Models Efficient Reasoners" (P1) as numbers with 95% intervals and verdicts,
 * from the evaluation points of one experiment run once per seed. Pure: no GPU, no files.
 *
 * Data: each seed's run evaluates every decode setting on the same held-out problems, and each point keeps its
 * per-problem outcomes (EvalPoint.perProblem). Every statistic is computed per seed and averaged over seeds; its
 * interval is a percentile bootstrap over problems within seeds (src/util/stats.ts stratifiedBootstrap), with one
 * draw of problems shared by every point of a seed, so differences between methods are paired. The spread of the
 * per-seed values (a Student-t interval over seeds) is reported beside it: it shows how much the trained model itself
 * varies, which the problem bootstrap does not.
 *
 * Verdicts (the margins are stated with each claim and in docs/reproduce-efficient-reasoners.md):
 *   established      the interval lies on the claimed side of the margin
 *   contradicted     the interval lies on the other side
 *   not established  the interval straddles it
 *   not measured     the runs lack a point the claim needs (or its per-problem outcomes)
 */
import type { LengthTag } from '../tasks/types';
import {
  type BootstrapResult,
  type Interval,
  identityIndices,
  interpolateAt,
  stratifiedBootstrap,
  tInterval,
} from '../util/stats';
import type { EvalPoint, SeriesId } from './results';
import { sweptValue } from './results';

/** One seed's evaluation points (every point's `stage` resolved). */
export interface SeedRun {
  seed: number;
  points: readonly EvalPoint[];
}

export type Verdict = 'established' | 'not established' | 'contradicted' | 'not measured';

export interface ClaimEstimate {
  /** What is estimated, e.g. "wrong − correct thinking tokens". */
  label: string;
  unit: 'tokens' | 'points' | '%';
  /** Mean over seeds, with the bootstrap interval over problems within seeds; null when not measured. */
  interval: BootstrapResult | null;
  /** The statistic of each seed (null where that seed lacks a point). */
  perSeed: (number | null)[];
  /** Student-t interval over the per-seed values (null with fewer than two). */
  acrossSeeds: Interval | null;
}

export interface ClaimRow {
  /** "1", "2", "4 · medium", … */
  id: string;
  claim: string;
  /** Which points are compared, in words. */
  comparison: string;
  estimates: ClaimEstimate[];
  verdict: Verdict;
  /** The verdict rule in words. */
  rule: string;
  /** Why the verdict is weaker than the interval alone would give (floor accuracy, undefined draws). */
  note?: string;
}

export interface ClaimOptions {
  replicates?: number;
  level?: number;
  /** Bootstrap seed (the result is a pure function of the runs and this). */
  seed?: number;
  /** Claim 3: "does not help" means the gain is below this many points. */
  noHelpMarginPoints?: number;
  /** Claim 4: "about the same accuracy" means a loss of at most this many points. */
  sameAccuracyMarginPoints?: number;
  /**
   * Claims about accuracy (2, 3, 4) cannot be established when the baseline's accuracy (mean over seeds) is below
   * this fraction: at the floor, "the same accuracy" and "no gain" hold for a model that answers nothing right.
   */
  minBaselineAccuracy?: number;
  /** An interval whose statistic was undefined in more than this fraction of draws establishes nothing. */
  maxUndefinedFraction?: number;
}

export const DEFAULT_CLAIM_OPTIONS: Required<ClaimOptions> = {
  replicates: 2000,
  level: 0.95,
  seed: 1,
  noHelpMarginPoints: 1,
  sameAccuracyMarginPoints: 2,
  minBaselineAccuracy: 0.1,
  maxUndefinedFraction: 0.05,
};

/** Which point: stage, length tag ('none' = untagged), method and global temperature. */
interface PointQuery {
  stage: 'sft' | 'rl';
  level: LengthTag | 'none';
  series: SeriesId;
  temperature: number;
}

/** A point's per-problem outcomes as arrays. */
interface Outcomes {
  point: EvalPoint;
  correct: Uint8Array;
  thinking: Float64Array;
}

function outcomes(p: EvalPoint): Outcomes | null {
  const pp = p.perProblem;
  if (!pp || pp.correct.length !== p.problems || pp.thinkingTokens.length !== p.problems || p.problems === 0)
    return null;
  return {
    point: p,
    correct: Uint8Array.from(pp.correct, (c) => (c === '1' ? 1 : 0)),
    thinking: Float64Array.from(pp.thinkingTokens),
  };
}

function matches(p: EvalPoint, q: PointQuery): boolean {
  return (
    (p.stage ?? 'sft') === q.stage &&
    (p.lengthTag ?? 'none') === q.level &&
    p.series === q.series &&
    p.decode.temperature === q.temperature
  );
}

/** Every point of `run` matching q with per-problem outcomes, the last of each knob value, ordered by knob. */
function pointsOf(run: SeedRun, q: PointQuery): Outcomes[] {
  const byKnob = new Map<number, EvalPoint>();
  for (const p of run.points) if (matches(p, q)) byKnob.set(sweptValue(p.series, p.decode), p);
  return [...byKnob.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, p]) => outcomes(p))
    .filter((o): o is Outcomes => o !== null);
}

function onePoint(run: SeedRun, q: PointQuery): Outcomes | null {
  const all = pointsOf(run, q);
  // For a plain-decoding query the knob is the temperature itself: there is at most one.
  return all.length > 0 ? all[all.length - 1]! : null;
}

/** Accuracy (fraction) of the drawn problems. */
function accuracyOn(o: Outcomes, draw: Int32Array): number {
  let k = 0;
  for (let i = 0; i < draw.length; i++) k += o.correct[draw[i]!]!;
  return k / draw.length;
}

/** Mean thinking tokens of the drawn problems (all of them, or only the correct / wrong ones; NaN when none). */
function thinkingOn(o: Outcomes, draw: Int32Array, which: 'all' | 'correct' | 'wrong' = 'all'): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < draw.length; i++) {
    const j = draw[i]!;
    if (which !== 'all' && (o.correct[j] === 1) !== (which === 'correct')) continue;
    sum += o.thinking[j]!;
    n++;
  }
  return n === 0 ? Number.NaN : sum / n;
}

/**
 * A statistic defined per seed: it prepares a seed's points (null: the seed lacks them) and returns a
 * function of that seed's draw of problem indices.
 */
type SeedStatistic = (run: SeedRun) => { problems: number; f: (draw: Int32Array) => number } | null;

function estimate(
  runs: readonly SeedRun[],
  label: string,
  unit: ClaimEstimate['unit'],
  stat: SeedStatistic,
  o: Required<ClaimOptions>,
): ClaimEstimate {
  const prepared = runs.map(stat);
  const perSeed = prepared.map((p) => {
    if (!p) return null;
    const v = p.f(identityIndices(p.problems));
    return Number.isFinite(v) ? v : null;
  });
  const present = prepared.flatMap((p, s) => (p && perSeed[s] !== null ? [p] : []));
  const defined = perSeed.filter((v): v is number => v !== null);
  // Every seed must contribute: a mean over whichever seeds happen to be defined would change what is averaged.
  const interval =
    present.length === runs.length && present.length > 0
      ? stratifiedBootstrap(
          present.map((p) => p.problems),
          (draw) => {
            let sum = 0;
            for (let s = 0; s < present.length; s++) {
              const v = present[s]!.f(draw[s]!);
              if (!Number.isFinite(v)) return null;
              sum += v;
            }
            return sum / present.length;
          },
          { replicates: o.replicates, level: o.level, seed: o.seed },
        )
      : null;
  return {
    label,
    unit,
    interval,
    perSeed,
    acrossSeeds: defined.length >= 2 ? tInterval(defined, o.level) : null,
  };
}

/** Same problems for every point of a seed: the pairing needs it. */
function sameSize(points: readonly (Outcomes | null)[]): number | null {
  if (points.some((p) => p === null)) return null;
  const sizes = new Set(points.map((p) => p!.correct.length));
  return sizes.size === 1 ? [...sizes][0]! : null;
}

/** Verdict of "the quantity is above `margin`" (or below, with direction −1) from its interval. */
function verdictAbove(e: ClaimEstimate, margin: number, direction: 1 | -1 = 1): Verdict {
  const i = e.interval;
  if (!i) return 'not measured';
  const low = direction === 1 ? i.low : -i.high;
  const high = direction === 1 ? i.high : -i.low;
  const m = direction * margin;
  if (low > m) return 'established';
  if (high < m) return 'contradicted';
  return 'not established';
}

/** Mean over seeds of a point's accuracy (null when a seed lacks it). */
function baselineAccuracy(runs: readonly SeedRun[], q: PointQuery): number | null {
  const acc = runs.map((r) => onePoint(r, q)?.point.accuracy ?? null);
  return acc.some((a) => a === null) ? null : (acc as number[]).reduce((x, y) => x + y, 0) / acc.length;
}

/**
 * The row with its verdict weakened where the data cannot carry it: 'established' or 'contradicted' become 'not
 * established' when an estimate's statistic was undefined in too many bootstrap draws, or (for accuracy claims) when
 * the baseline accuracy is at the floor.
 */
function guarded(row: ClaimRow, o: Required<ClaimOptions>, baseline: number | null = null): ClaimRow {
  if (row.verdict === 'not measured' || row.verdict === 'not established') return row;
  const unreliable = row.estimates.some((e) => {
    const i = e.interval;
    return i !== null && i.undefinedReplicates > o.maxUndefinedFraction * (i.replicates + i.undefinedReplicates);
  });
  if (unreliable)
    return {
      ...row,
      verdict: 'not established',
      note: `the statistic was undefined in over ${100 * o.maxUndefinedFraction}% of bootstrap draws (too few answers of one kind)`,
    };
  if (baseline !== null && baseline < o.minBaselineAccuracy)
    return {
      ...row,
      verdict: 'not established',
      note: `baseline accuracy ${(100 * baseline).toFixed(1)}% is below ${100 * o.minBaselineAccuracy}%: at the floor the comparison says nothing`,
    };
  return row;
}

/** The temperatures at which the runs swept a method at the SFT stage (untagged prompts). */
function sweptTemperatures(runs: readonly SeedRun[], series: SeriesId): number[] {
  const t = new Set<number>();
  for (const r of runs)
    for (const p of r.points)
      if (p.series === series && (p.stage ?? 'sft') === 'sft' && p.lengthTag === undefined) t.add(p.decode.temperature);
  return [...t].sort((a, b) => a - b);
}

const LEVELS: readonly LengthTag[] = ['short', 'medium', 'long'];

/** The P1 claims table (see the file comment) for runs of one experiment, one per seed. */
export function efficientReasonerClaims(runs: readonly SeedRun[], options: ClaimOptions = {}): ClaimRow[] {
  const o = { ...DEFAULT_CLAIM_OPTIONS, ...options };
  const rows: ClaimRow[] = [];
  const pct = (f: number) => 100 * f;

  // 1. Wrong traces are longer than right ones (SFT, untagged, plain decoding at each temperature evaluated).
  const baseTemps = sweptTemperatures(runs, 'temperature');
  for (const t of baseTemps.length > 0 ? baseTemps : [0]) {
    const q: PointQuery = { stage: 'sft', level: 'none', series: 'temperature', temperature: t };
    const e = estimate(
      runs,
      'wrong − correct mean thinking',
      'tokens',
      (run) => {
        const p = onePoint(run, q);
        return p
          ? { problems: p.correct.length, f: (d) => thinkingOn(p, d, 'wrong') - thinkingOn(p, d, 'correct') }
          : null;
      },
      o,
    );
    rows.push(
      guarded(
        {
          id: baseTemps.length > 1 ? `1 · T = ${t}` : '1',
          claim: 'Wrong traces are longer than right ones',
          comparison: `SFT, untagged, ${t === 0 ? 'greedy' : `T = ${t}`}: mean thinking tokens of wrong minus correct answers`,
          estimates: [e],
          verdict: verdictAbove(e, 0),
          rule: 'established if the interval is above 0 tokens',
        },
        o,
        null,
      ),
    );
  }

  // 2. TS lies above the s1 cap at matched length: TS accuracy minus the cap curve's accuracy interpolated at TS's
  // mean thinking length, averaged over the TS points inside the cap curve's length range.
  for (const t of sweptTemperatures(runs, 'ts')) {
    const tsQ: PointQuery = { stage: 'sft', level: 'none', series: 'ts', temperature: t };
    const capQ: PointQuery = { ...tsQ, series: 'cap' };
    const matched =
      (only: number | null): SeedStatistic =>
      (run) => {
        const ts = pointsOf(run, tsQ).filter((p) => only === null || p.point.decode.stopTemperature === only);
        const cap = pointsOf(run, capQ);
        if (ts.length === 0 || cap.length < 2) return null;
        const n = sameSize([...ts, ...cap]);
        if (n === null) return null;
        return {
          problems: n,
          f: (d) => {
            const curve = cap.map((c) => ({ x: thinkingOn(c, d), y: accuracyOn(c, d) }));
            let sum = 0;
            let k = 0;
            for (const p of ts) {
              const y = interpolateAt(curve, thinkingOn(p, d));
              if (y === null) continue;
              sum += accuracyOn(p, d) - y;
              k++;
            }
            return k === 0 ? Number.NaN : pct(sum / k);
          },
        };
      };
    const e = estimate(runs, 'TS − cap accuracy at TS length', 'points', matched(null), o);
    rows.push(
      guarded(
        {
          id: '2',
          claim: 'TS lies above the s1 cap at matched length',
          comparison: `SFT, untagged, T = ${t}: each TS point against the cap curve interpolated at its mean thinking length, averaged over τ`,
          estimates: [e],
          verdict: verdictAbove(e, 0),
          rule: 'established if the interval is above 0 points',
        },
        o,
        baselineAccuracy(runs, { ...tsQ, series: 'temperature' }),
      ),
    );
    const taus = [...new Set(runs.flatMap((r) => pointsOf(r, tsQ).map((p) => p.point.decode.stopTemperature)))].sort(
      (a, b) => a - b,
    );
    for (const tau of taus) {
      const et = estimate(runs, `TS τ = ${tau} − cap`, 'points', matched(tau), o);
      rows.push(
        guarded(
          {
            id: `2 · τ = ${tau}`,
            claim: 'TS lies above the s1 cap at matched length',
            comparison: `τ = ${tau} only (not measured where its length falls outside the cap curve in some seed or draw)`,
            estimates: [et],
            verdict: verdictAbove(et, 0),
            rule: 'established if the interval is above 0 points',
          },
          o,
          baselineAccuracy(runs, { ...tsQ, series: 'temperature' }),
        ),
      );
    }
  }

  // 3. Forcing longer thinking ("Wait") does not help: extend minus plain decoding at the same temperature.
  for (const t of sweptTemperatures(runs, 'extend')) {
    const extQ: PointQuery = { stage: 'sft', level: 'none', series: 'extend', temperature: t };
    const baseQ: PointQuery = { ...extQ, series: 'temperature' };
    // Mean over the extend settings minus plain decoding, of a per-point measure.
    const extendMinusPlain =
      (measure: (p: Outcomes, d: Int32Array) => number): SeedStatistic =>
      (run) => {
        const ext = pointsOf(run, extQ);
        const base = onePoint(run, baseQ);
        if (ext.length === 0 || !base) return null;
        const n = sameSize([...ext, base]);
        if (n === null) return null;
        return { problems: n, f: (d) => ext.reduce((s, p) => s + measure(p, d), 0) / ext.length - measure(base, d) };
      };
    const e = estimate(
      runs,
      'extend − plain accuracy',
      'points',
      extendMinusPlain((p, d) => pct(accuracyOn(p, d))),
      o,
    );
    const lengthen = estimate(
      runs,
      'extend − plain thinking',
      'tokens',
      extendMinusPlain((p, d) => thinkingOn(p, d)),
      o,
    );
    rows.push(
      guarded(
        {
          id: '3',
          claim: 'Forcing longer thinking ("Wait") does not help',
          comparison: `SFT, untagged, T = ${t}: s1 extend (mean over its settings) minus plain decoding`,
          estimates: [e, lengthen],
          verdict: verdictAbove(e, o.noHelpMarginPoints, -1),
          rule: `established if the accuracy change's interval is below +${o.noHelpMarginPoints} point; contradicted if above it`,
        },
        o,
        baselineAccuracy(runs, baseQ),
      ),
    );
  }

  // 4. TLDR cuts thinking tokens at about the same accuracy: each level (and untagged prompts), greedy, RL vs SFT.
  for (const level of [...LEVELS, 'none'] as const) {
    const sftQ: PointQuery = { stage: 'sft', level, series: 'temperature', temperature: 0 };
    const rlQ: PointQuery = { ...sftQ, stage: 'rl' };
    const pair =
      (f: (sft: Outcomes, rl: Outcomes, d: Int32Array) => number): SeedStatistic =>
      (run) => {
        const sft = onePoint(run, sftQ);
        const rl = onePoint(run, rlQ);
        const n = sameSize([sft, rl]);
        return sft && rl && n !== null ? { problems: n, f: (d) => f(sft, rl, d) } : null;
      };
    const cut = estimate(
      runs,
      'thinking cut',
      '%',
      pair((s, r, d) => pct(1 - thinkingOn(r, d) / thinkingOn(s, d))),
      o,
    );
    const acc = estimate(
      runs,
      'accuracy change',
      'points',
      pair((s, r, d) => pct(accuracyOn(r, d) - accuracyOn(s, d))),
      o,
    );
    if (!cut.interval && !acc.interval && !runs.some((r) => r.points.some((p) => matches(p, rlQ)))) continue;
    const m = o.sameAccuracyMarginPoints;
    let verdict: Verdict;
    if (!cut.interval || !acc.interval) verdict = 'not measured';
    else if (cut.interval.high <= 0 || acc.interval.high < -m) verdict = 'contradicted';
    else if (cut.interval.low > 0 && acc.interval.low >= -m) verdict = 'established';
    else verdict = 'not established';
    rows.push(
      guarded(
        {
          id: `4 · ${level === 'none' ? 'untagged' : level}`,
          claim: 'TLDR cuts thinking tokens at about the same accuracy',
          comparison: `${level === 'none' ? 'untagged prompts' : `<${level}> prompts`}, greedy: after TLDR vs the SFT model it started from`,
          estimates: [cut, acc],
          verdict,
          rule: `established if the cut's interval is above 0% and the accuracy change's lower end is at least −${m} points; contradicted if the cut's upper end is ≤ 0% or the accuracy change's upper end is below −${m}`,
        },
        o,
        baselineAccuracy(runs, sftQ),
      ),
    );
  }

  // 5. The levels order length: short < medium < long, greedy, at each stage.
  for (const stage of ['sft', 'rl'] as const) {
    const q = (level: LengthTag): PointQuery => ({ stage, level, series: 'temperature', temperature: 0 });
    const gap =
      (lo: LengthTag, hi: LengthTag): SeedStatistic =>
      (run) => {
        const a = onePoint(run, q(lo));
        const b = onePoint(run, q(hi));
        const n = sameSize([a, b]);
        return a && b && n !== null ? { problems: n, f: (d) => thinkingOn(b, d) - thinkingOn(a, d) } : null;
      };
    if (!runs.some((r) => r.points.some((p) => (p.stage ?? 'sft') === stage && p.lengthTag !== undefined))) continue;
    const g1 = estimate(runs, 'medium − short thinking', 'tokens', gap('short', 'medium'), o);
    const g2 = estimate(runs, 'long − medium thinking', 'tokens', gap('medium', 'long'), o);
    const both = estimate(
      runs,
      'smaller gap',
      'tokens',
      (run) => {
        const a = gap('short', 'medium')(run);
        const b = gap('medium', 'long')(run);
        return a && b && a.problems === b.problems
          ? { problems: a.problems, f: (d) => Math.min(a.f(d), b.f(d)) }
          : null;
      },
      o,
    );
    let verdict = verdictAbove(both, 0);
    if (g1.interval && g2.interval && (g1.interval.high < 0 || g2.interval.high < 0)) verdict = 'contradicted';
    else if (verdict === 'contradicted') verdict = 'not established';
    rows.push(
      guarded(
        {
          id: `5 · ${stage === 'sft' ? 'SFT' : 'TLDR'}`,
          claim: 'The levels order length',
          comparison: `${stage === 'sft' ? 'SFT' : 'after TLDR'}, greedy: mean thinking of <short>, <medium>, <long> prompts`,
          estimates: [g1, g2],
          verdict,
          rule: 'established if the smaller of the two gaps has its interval above 0; contradicted if either gap is below 0',
        },
        o,
        null,
      ),
    );
  }
  return rows;
}

/** One decode setting of an experiment run once per seed: the seeds' mean with 95% intervals. */
export interface SeedGroupPoint {
  /** Stage, level, method and decode settings: equal for every seed's point of the group. */
  key: string;
  /** Each seed's point of the setting, in seed order; the first one's decode, stage, tag and series name the group. */
  points: EvalPoint[];
  seeds: number[];
  problemsPerSeed: number;
  /** Accuracy (fraction) and mean thinking tokens: mean over seeds, bootstrap over problems within seeds. */
  accuracy: Interval;
  meanThinkingTokens: Interval;
  perSeedAccuracy: number[];
  perSeedThinkingTokens: number[];
}

/** The grouping key of a point: what makes two seeds' points the same setting. */
export function seedGroupKey(p: EvalPoint): string {
  return JSON.stringify([p.stage ?? 'sft', p.lengthTag ?? 'none', p.series, p.variant, p.decode]);
}

/**
 * The settings every seed evaluated on the same (non-zero) number of problems, in the first seed's order, each with
 * its seeds' points in run order (a seed's last point of the setting).
 */
function settingsOfEverySeed(runs: readonly SeedRun[]): { key: string; points: EvalPoint[]; problems: number }[] {
  if (runs.length === 0) return [];
  const keys: string[] = [];
  const bySeed = runs.map((r) => {
    const m = new Map<string, EvalPoint>();
    for (const p of r.points) {
      const k = seedGroupKey(p);
      if (!m.has(k) && r === runs[0]) keys.push(k);
      m.set(k, p);
    }
    return m;
  });
  return keys.flatMap((key) => {
    const points = bySeed.map((m) => m.get(key));
    if (points.some((p) => p === undefined)) return [];
    const ps = points as EvalPoint[];
    const n = ps[0]!.problems;
    return n === 0 || ps.some((p) => p.problems !== n) ? [] : [{ key, points: ps, problems: n }];
  });
}

/**
 * The points of runs of one experiment (one run per seed) grouped by setting, each with the mean over seeds and 95%
 * intervals. A setting is kept only where every seed evaluated it on the same number of problems. Points without
 * per-problem outcomes get a Student-t interval over the seeds' values instead of the bootstrap.
 */
export function groupAcrossSeeds(runs: readonly SeedRun[], options: ClaimOptions = {}): SeedGroupPoint[] {
  const o = { ...DEFAULT_CLAIM_OPTIONS, ...options };
  const out: SeedGroupPoint[] = [];
  for (const { key, points: ps, problems: n } of settingsOfEverySeed(runs)) {
    const outs = ps.map(outcomes);
    const perSeedAccuracy = ps.map((p) => p.accuracy);
    const perSeedThinkingTokens = ps.map((p) => p.meanThinkingTokens);
    let accuracy: Interval;
    let meanThinkingTokens: Interval;
    if (outs.every((x) => x !== null)) {
      const full = outs as Outcomes[];
      const boot = (f: (x: Outcomes, d: Int32Array) => number) =>
        stratifiedBootstrap(
          full.map(() => n),
          (draw) => full.reduce((s, x, i) => s + f(x, draw[i]!), 0) / full.length,
          { replicates: o.replicates, level: o.level, seed: o.seed },
        )!;
      accuracy = boot(accuracyOn);
      meanThinkingTokens = boot((x, d) => thinkingOn(x, d));
    } else {
      accuracy = tInterval(perSeedAccuracy, o.level);
      meanThinkingTokens = tInterval(perSeedThinkingTokens, o.level);
    }
    out.push({
      key,
      points: ps,
      seeds: runs.map((r) => r.seed),
      problemsPerSeed: n,
      accuracy,
      meanThinkingTokens,
      perSeedAccuracy,
      perSeedThinkingTokens,
    });
  }
  return out;
}

/** One arm of a comparison: a seed group (one run per seed) and the name it is reported by. */
export interface Arm {
  name: string;
  runs: readonly SeedRun[];
}

/** A seed group's setting as words: stage, tag, method and temperature ("sft · untagged · temperature · T 0"). */
function settingText(p: EvalPoint): string {
  return [
    p.stage ?? 'sft',
    p.lengthTag ?? 'untagged',
    p.series,
    `T ${p.decode.temperature}`,
    ...(p.series === 'temperature' ? [] : [`${p.series} ${sweptValue(p.series, p.decode)}`]),
  ].join(' · ');
}

/**
 * Two arms trained apart (two seed groups that differ in how they were trained, e.g. chain-of-thought against
 * answer-only targets) compared setting by setting: for every decode setting both arms evaluated in every seed, with
 * per-problem outcomes, A − B in accuracy (points) and in mean thinking tokens. The arms must have the same seeds and
 * evaluate the same problems (the caller checks that their config.eval is equal); seeds are paired by value. Each seed's
 * bootstrap draw of problem indices is applied to both arms (paired by problem), and the Student-t interval is over the
 * per-seed differences (paired by seed). The arms' weights come from different training runs, so how much training
 * itself varies from seed to seed belongs to the difference, and the problem bootstrap does not see it: the verdict
 * asks both intervals to exclude 0 on the same side. Returns [] when the seeds differ.
 */
export function compareArms(a: Arm, b: Arm, options: ClaimOptions = {}): ClaimRow[] {
  const o = { ...DEFAULT_CLAIM_OPTIONS, ...options };
  const seeds = a.runs.map((r) => r.seed);
  const bySeed = new Map(b.runs.map((r) => [r.seed, r]));
  if (seeds.length === 0 || seeds.length !== b.runs.length || seeds.some((s) => !bySeed.has(s))) return [];
  // B's runs in A's seed order, so each setting's points pair up by position.
  const settingsB = new Map(settingsOfEverySeed(seeds.map((s) => bySeed.get(s)!)).map((g) => [g.key, g]));
  const rule =
    'established when the bootstrap interval over problems and the Student-t interval over seeds both exclude 0 on the same side; otherwise not established';
  const rows: ClaimRow[] = [];
  for (const g of settingsOfEverySeed(a.runs)) {
    const gb = settingsB.get(g.key);
    const n = g.problems;
    if (!gb || gb.problems !== n) continue;
    const paired = seeds.map((seed, i) => ({ seed, a: outcomes(g.points[i]!), b: outcomes(gb.points[i]!) }));
    if (paired.some((p) => !p.a || !p.b)) continue;
    // One SeedRun per seed; the statistic closes over that seed's two arms (the points field is not read).
    const runs: SeedRun[] = paired.map((p) => ({ seed: p.seed, points: [] }));
    const armsOf = new Map(paired.map((p) => [p.seed, p as { a: Outcomes; b: Outcomes }]));
    const diff =
      (f: (x: Outcomes, d: Int32Array) => number, scale: number): SeedStatistic =>
      (run) => {
        const { a: x, b: y } = armsOf.get(run.seed)!;
        return { problems: n, f: (d) => scale * (f(x, d) - f(y, d)) };
      };
    const accuracy = estimate(runs, 'accuracy', 'points', diff(accuracyOn, 100), o);
    const thinking = estimate(
      runs,
      'thinking',
      'tokens',
      diff((x, d) => thinkingOn(x, d), 1),
      o,
    );
    const boot = accuracy.interval;
    const t = accuracy.acrossSeeds;
    const verdict: Verdict =
      !boot || !t
        ? 'not measured'
        : (boot.low > 0 && t.low > 0) || (boot.high < 0 && t.high < 0)
          ? 'established'
          : 'not established';
    rows.push({
      id: settingText(g.points[0]!),
      claim: `${a.name} and ${b.name} differ in accuracy`,
      comparison: `${a.name} − ${b.name}, the same ${n} problems in each of ${seeds.length} seeds`,
      estimates: [accuracy, thinking],
      verdict,
      rule,
    });
  }
  return rows;
}

/**
 * Runs grouped by seed: runs with the same name and different `config.seed` are one seed group (in the order first
 * seen; what a seeded experiment writes); a name seen once, or again with a seed its group already has, stays a run
 * of its own.
 */
export function groupRunsBySeed<R extends { name: string; config: { seed: number } }>(records: readonly R[]): R[][] {
  const groups: R[][] = [];
  for (const r of records) {
    const g = groups.find((x) => x[0]!.name === r.name && !x.some((y) => y.config.seed === r.config.seed));
    if (g) g.push(r);
    else groups.push([r]);
  }
  return groups;
}

/** A number with a typographic minus ("−3.0"); `plus`: positive values get a "+". */
function signed(v: number, digits: number, plus = false): string {
  const s = v.toFixed(digits);
  if (Number(s) === 0) return (0).toFixed(digits); // no "−0" for a value that rounds to zero
  return s.startsWith('-') ? `−${s.slice(1)}` : plus && v > 0 ? `+${s}` : s;
}

/** "label: +12.3 points [+4.0, +20.1]" / "label: 38% [30, 45]" / "label: 4.2 tokens [1.0, 7.5]"; "label: not measured". */
export function claimEstimateText(e: ClaimEstimate): string {
  const i = e.interval;
  if (!i) return `${e.label}: not measured`;
  const digits = e.unit === '%' ? 0 : 1;
  const num = (v: number) => signed(v, digits, e.unit === 'points');
  const unit = e.unit === '%' ? '%' : ` ${e.unit}`;
  const dropped = i.undefinedReplicates > 0 ? ` (${i.undefinedReplicates} draws undefined)` : '';
  return `${e.label}: ${num(i.estimate)}${unit} [${num(i.low)}, ${num(i.high)}]${dropped}`;
}

/** A claim estimate's per-seed values: "1.0, 2.5, —". */
export function claimPerSeedText(e: ClaimEstimate): string {
  const digits = e.unit === '%' ? 0 : 1;
  return e.perSeed.map((v) => (v === null ? '—' : signed(v, digits))).join(', ');
}

/** The Student-t interval over seeds as "[low, high]" ("—" with fewer than two seeds). */
export function claimAcrossSeedsText(e: ClaimEstimate): string {
  const i = e.acrossSeeds;
  if (!i) return '—';
  const digits = e.unit === '%' ? 0 : 1;
  return `[${signed(i.low, digits)}, ${signed(i.high, digits)}]`;
}

/**
 * What a seeded experiment (`"seeds": [...]`, src/headless/experiment.ts) writes beside its per-seed run files: the
 * settings grouped across seeds (mean, 95% intervals) and P1's claims table (src/train/claims.ts), as JSON
 * (`summary.json`) and Markdown (`claims.md`). Pure: the CLI writes the strings.
 */

import { clusteredInterval } from '../runs/matrix';
import { parseRunFile } from '../runs/run_file';
import type { RunRecord } from '../runs/run_record';
import {
  type ClaimRow,
  claimAcrossSeedsText,
  claimEstimateText,
  claimPerSeedText,
  compareArms,
  efficientReasonerClaims,
  groupAcrossSeeds,
  type SeedRun,
} from '../train/claims';
import { buildEvalSet } from '../train/data';
import { firstCorrect, type OracleSummary, summarizeOracle } from '../train/oracle';
import type { EvalPoint } from '../train/results';
import { seedMeanPoint, seedRunsOf } from '../train/seed_means';
import { percent } from '../util/format';
import { escapeMarkdown, markdownTable, type ReportRun } from './report';

export const SEED_SUMMARY_FORMAT = 'stoptime-seed-summary';

/** One run per seed of the same experiment, each point's stage resolved. */
export function seedRuns(records: readonly RunRecord[]): SeedRun[] {
  return seedRunsOf(records);
}

/** A row's estimates as three table cells, one line each: the estimate and its interval, per seed, across seeds. */
function estimateCells(r: ClaimRow): [string, string, string] {
  return [
    r.estimates.map((e) => escapeMarkdown(claimEstimateText(e))).join('<br>'),
    r.estimates.map(claimPerSeedText).join('<br>'),
    r.estimates.map(claimAcrossSeedsText).join('<br>'),
  ];
}

/** The claims as a Markdown table (one row per claim, its estimates on separate lines) and the verdict rules. */
export function renderClaimsMarkdown(rows: readonly ClaimRow[], seeds: readonly number[]): string {
  const header = [
    '#',
    'claim',
    'comparison',
    'estimate [95% CI, problems within seeds]',
    `per seed (${seeds.join(', ')})`,
    'across seeds (t, 95%)',
    'verdict',
  ];
  const body = rows.map((r) => [
    r.id,
    escapeMarkdown(r.claim),
    escapeMarkdown(r.comparison),
    ...estimateCells(r),
    r.note ? `**${r.verdict}**: ${escapeMarkdown(r.note)}` : `**${r.verdict}**`,
  ]);
  const rules = [...new Map(rows.map((r) => [`${r.id.split(' ')[0]}`, r.rule])).entries()].map(
    ([id, rule]) => `- Claim ${id}: ${escapeMarkdown(rule)}.`,
  );
  return `${markdownTable(header, [false, false, false, false, false, false, false], body)}\n\nVerdict rules:\n\n${rules.join('\n')}\n`;
}

/** compareArms' rows as a Markdown table (one row per setting) and its verdict rule. */
export function renderArmsMarkdown(rows: readonly ClaimRow[], seeds: readonly number[]): string {
  const header = [
    'setting',
    'estimate [95% CI, problems within seeds]',
    `per seed (${seeds.join(', ')})`,
    'across seeds (t, 95%)',
    'accuracy differs',
  ];
  const body = rows.map((r) => [escapeMarkdown(r.id), ...estimateCells(r), `**${r.verdict}**`]);
  const rule = rows[0] ? `\n\nVerdict: ${escapeMarkdown(rows[0].rule)}.` : '';
  return `${markdownTable(header, [false, false, false, false, false], body)}${rule}\n`;
}

/** The prompts of a run's evaluation set (config.eval), or why they cannot be drawn. */
function evalPrompts(r: RunRecord): string[] | string {
  try {
    return buildEvalSet(r.config, r.config.eval).items.map((i) => i.prompt);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * The report's comparison of arms: every pair of seed groups (each of two seeds or more, in the order given) trained
 * apart and evaluated on the same problems, compared setting by setting (compareArms: A − B in accuracy and thinking
 * tokens, paired by seed and by problem). A pair whose seeds or evaluation problems differ gets a line saying so.
 */
export function armComparisonSections(groups: readonly (readonly RunRecord[])[]): string[] {
  const seeded = groups.filter((g) => g.length >= 2);
  const sections: string[] = [];
  for (let i = 0; i < seeded.length; i++) {
    for (let j = i + 1; j < seeded.length; j++) {
      const [ga, gb] = [seeded[i]!, seeded[j]!];
      const [na, nb] = [ga[0]!.name, gb[0]!.name];
      const heading = `## Arms compared: ${escapeMarkdown(na)} − ${escapeMarkdown(nb)}`;
      const seedsA = ga.map((r) => r.config.seed);
      const seedsB = new Set(gb.map((r) => r.config.seed));
      if (seedsA.length !== seedsB.size || seedsA.some((s) => !seedsB.has(s))) {
        sections.push(
          `${heading}\n\nNot compared: the seeds differ (${seedsA.join(', ')} and ${[...seedsB].join(', ')}).\n`,
        );
        continue;
      }
      const mismatch = ga.flatMap((ra) => {
        const rb = gb.find((r) => r.config.seed === ra.config.seed)!;
        const [pa, pb] = [evalPrompts(ra), evalPrompts(rb)];
        if (typeof pa === 'string' || typeof pb === 'string')
          return [`seed ${ra.config.seed}: ${typeof pa === 'string' ? pa : pb}`];
        return pa.length === pb.length && pa.every((x, k) => x === pb[k]) ? [] : [`seed ${ra.config.seed}`];
      });
      if (mismatch.length > 0) {
        sections.push(
          `${heading}\n\nNot compared: the arms evaluate different problems (${mismatch.join('; ')}); pairing needs the same task, problem settings and config.eval.\n`,
        );
        continue;
      }
      const rows = compareArms({ name: na, runs: seedRuns(ga) }, { name: nb, runs: seedRuns(gb) });
      sections.push(
        rows.length === 0
          ? `${heading}\n\nNot compared: no setting was evaluated by both arms in every seed with per-problem outcomes.\n`
          : `${heading}\n\n${renderArmsMarkdown(rows, seedsA)}`,
      );
    }
  }
  return sections;
}

/** summary.json: the seeds, adapters, grouped settings and claims. */
export function seedSummary(name: string, records: readonly RunRecord[]) {
  const runs = seedRuns(records);
  const groups = groupAcrossSeeds(runs);
  const claims = efficientReasonerClaims(runs);
  return {
    format: SEED_SUMMARY_FORMAT,
    name,
    seeds: runs.map((r) => r.seed),
    adapters: [...new Set(records.map((r) => r.adapter))],
    groups: groups.map((g) => ({
      stage: g.points[0]!.stage ?? 'sft',
      lengthTag: g.points[0]!.lengthTag ?? null,
      series: g.points[0]!.series,
      decode: g.points[0]!.decode,
      problemsPerSeed: g.problemsPerSeed,
      accuracy: g.accuracy,
      meanThinkingTokens: g.meanThinkingTokens,
      perSeedAccuracy: g.perSeedAccuracy,
      perSeedThinkingTokens: g.perSeedThinkingTokens,
    })),
    claims,
    // Only where every seed computed the oracle frontier (files without one keep their summary as it was).
    ...oracleOfSummary(records),
  };
}

/** summary.json's `oracle` (the pooled frontier in numbers) or `oracleNotPooled` (why not); nothing when no seed has one. */
function oracleOfSummary(records: readonly RunRecord[]): { oracle?: PooledOracle; oracleNotPooled?: string } {
  const o = records.length >= 2 ? seedGroupOracle(records) : null;
  if (o === null) return {};
  return 'problem' in o ? { oracleNotPooled: o.problem } : { oracle: o.numbers };
}

/** What a seeded experiment writes beside its run files, as text: `summary.json` and `claims.md`. */
export function renderSeedSummary(
  name: string,
  records: readonly RunRecord[],
): { summaryJson: string; claims: string } {
  const summary = seedSummary(name, records);
  return {
    summaryJson: `${JSON.stringify(summary, null, 1)}\n`,
    claims: renderClaimsMarkdown(summary.claims, summary.seeds),
  };
}

/**
 * The summary of a seeded experiment run in parts (`--seeds` in several processes or machines), from its run files'
 * texts: each is validated as the playground's importer does, must be a run of experiment `name`, and together they
 * must hold every seed of `seeds` exactly once. Errors name the file or the seeds at fault.
 */
export function summarizeSeedRunFiles(
  name: string,
  seeds: readonly number[],
  files: readonly { path: string; text: string }[],
): { summaryJson: string; claims: string } {
  const bySeed = new Map<number, RunRecord>();
  for (const { path, text } of files) {
    let run: RunRecord;
    try {
      run = parseRunFile(text).run;
    } catch (e) {
      throw new Error(`${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (run.name !== name) throw new Error(`${path}: a run of '${run.name}', not of '${name}'`);
    const seed = run.config.seed;
    if (!seeds.includes(seed))
      throw new Error(`${path}: seed ${seed} is not among the experiment's (${seeds.join(', ')})`);
    if (bySeed.has(seed)) throw new Error(`${path}: a second run file for seed ${seed}`);
    bySeed.set(seed, run);
  }
  const missing = seeds.filter((s) => !bySeed.has(s));
  if (missing.length > 0) throw new Error(`no run file for seed${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  return renderSeedSummary(
    name,
    seeds.map((s) => bySeed.get(s)!),
  );
}

/**
 * A seed group as one report run: a point per setting every seed evaluated, at the seeds' mean accuracy and
 * thinking length, drawn with its 95% interval (bootstrap over problems within seeds). `problems` counts every seed's.
 */
export function seedGroupReportRun(records: readonly RunRecord[]): ReportRun {
  const runs = seedRuns(records);
  const intervals = new Map<EvalPoint, { low: number; high: number }>();
  const points = groupAcrossSeeds(runs).map((g, i) => {
    const p = seedMeanPoint(g, `seed-mean-${i}`);
    intervals.set(p, { low: g.accuracy.low, high: g.accuracy.high });
    return p;
  });
  return {
    name: seedGroupName(records),
    points,
    accuracyIntervals: intervals,
  };
}

/** The name a seed group is reported under. */
export function seedGroupName(records: readonly RunRecord[]): string {
  return `${records[0]!.name} (mean of ${records.length} seeds)`;
}

/** A seed group's oracle frontiers in numbers (seedGroupOracle; summary.json's `oracle`). */
export interface PooledOracle {
  seeds: number[];
  problemsPerSeed: number;
  /** Each seed's summary, in seed order. */
  perSeed: OracleSummary[];
  /** Problems each seed's own stop loses that some other stop gets right. */
  gapPerSeed: number[];
  /** summarizeOracle of every seed's problems as one set. */
  pooled: OracleSummary;
  /** Oracle − own accuracy (fraction), pooled. */
  gap: number;
  /** 95% intervals (fractions) of the pooled rates: Wilson at the design-effect-adjusted size (clusteredInterval). */
  intervals: {
    ownAccuracy: [number, number];
    oracleAccuracy: [number, number];
    gap: [number, number];
    accuracyWithoutThinking: [number, number];
  };
}

/**
 * A seed group's oracle frontiers as one, for the report: every seed's problems pooled into one set (summarizeOracle)
 * under the group's report name, so the group's mean points are measured against one frontier (renderOracleSection
 * with `pooledSeeds`) and the chart draws it; and a table of each seed's own stop, oracle, gap and accuracy without
 * thinking beside the pooled value with its 95% interval (clusteredInterval: the Wilson interval at the
 * design-effect-adjusted size, as the lab's matrix). Null when no seed has an oracle; `problem` says why the seeds'
 * oracles are not pooled (some seeds lack one, or they were computed with different settings).
 */
export function seedGroupOracle(
  group: readonly RunRecord[],
): { run: RunRecord; table: string; numbers: PooledOracle } | { problem: string } | null {
  const have = group.filter((r) => r.oracle);
  if (have.length === 0) return null;
  const seedList = (rs: readonly RunRecord[]) => rs.map((r) => r.config.seed).join(', ');
  if (have.length < group.length) {
    const lacking = group.filter((r) => !r.oracle);
    return { problem: `seeds ${seedList(lacking)} have no oracle frontier (seeds ${seedList(have)} do): not pooled` };
  }
  const oracles = group.map((r) => r.oracle!);
  const first = oracles[0]!;
  const same = (o: typeof first) =>
    o.stage === first.stage &&
    o.variant === first.variant &&
    o.step === first.step &&
    o.answerTokens === first.answerTokens &&
    JSON.stringify(o.trace) === JSON.stringify(first.trace) &&
    o.problems.length === first.problems.length;
  if (!oracles.every(same))
    return {
      problem:
        'the seeds computed their oracles with different settings (stage, step, variant, traces, answer tokens or number of problems): not pooled',
    };
  const problems = oracles.flatMap((o) => o.problems);
  const pooled = summarizeOracle(problems);
  const run: RunRecord = { ...group[0]!, name: seedGroupName(group), oracle: { ...first, problems, ...pooled } };
  const n = first.problems.length;
  const count = (fraction: number) => Math.round(fraction * n);
  const interval = (per: readonly number[]): [number, number] =>
    clusteredInterval(per.map((successes) => ({ successes, problems: n }))).ci;
  const sums = oracles.map((o) => o.summary);
  // Problems some stop gets right and the own stop does not (oracle − own, counted problem by problem).
  const gap = oracles.map((o) => o.problems.filter((q) => !q.ownCorrect && firstCorrect(q) !== null).length);
  const numbers: PooledOracle = {
    seeds: group.map((r) => r.config.seed),
    problemsPerSeed: n,
    perSeed: sums,
    gapPerSeed: gap,
    pooled: pooled.summary,
    gap: gap.reduce((a, b) => a + b, 0) / (n * gap.length),
    intervals: {
      ownAccuracy: interval(sums.map((x) => count(x.ownAccuracy))),
      oracleAccuracy: interval(sums.map((x) => count(x.oracleAccuracy))),
      gap: interval(gap),
      accuracyWithoutThinking: interval(sums.map((x) => count(x.accuracyWithoutThinking))),
    },
  };
  const p = pooled.summary;
  const ci = ([lo, hi]: readonly [number, number]) => `[${(100 * lo).toFixed(1)}, ${(100 * hi).toFixed(1)}]`;
  const after = (x: typeof p) =>
    x.meanTokensAfterCorrect === null
      ? '—'
      : `${x.meanTokensAfterCorrect.toFixed(1)} (${percent(x.fractionThinkingAfterCorrect)})`;
  const rows = [
    [
      'own stop: accuracy, mean thinking tokens',
      ...sums.map((x) => `${percent(x.ownAccuracy)}, ${x.ownMeanThinkingTokens.toFixed(1)}`),
      `${percent(p.ownAccuracy)} ${ci(numbers.intervals.ownAccuracy)}, ${p.ownMeanThinkingTokens.toFixed(1)}`,
    ],
    [
      'oracle (every token): accuracy, mean thinking tokens',
      ...sums.map((x) => `${percent(x.oracleAccuracy)}, ${x.oracleMeanThinkingTokens.toFixed(1)}`),
      `${percent(p.oracleAccuracy)} ${ci(numbers.intervals.oracleAccuracy)}, ${p.oracleMeanThinkingTokens.toFixed(1)}`,
    ],
    [
      'oracle − own (problems the own stop loses)',
      ...gap.map((k) => `${k} (${((100 * k) / n).toFixed(1)} points)`),
      `${(100 * numbers.gap).toFixed(1)} points ${ci(numbers.intervals.gap)}`,
    ],
    [
      'oracle at step boundaries only',
      ...sums.map((x) => `${percent(x.stepsOracleAccuracy)}, ${x.stepsOracleMeanThinkingTokens.toFixed(1)}`),
      `${percent(p.stepsOracleAccuracy)}, ${p.stepsOracleMeanThinkingTokens.toFixed(1)}`,
    ],
    [
      'right with no thinking at all',
      ...sums.map((x) => percent(x.accuracyWithoutThinking)),
      `${percent(p.accuracyWithoutThinking)} ${ci(numbers.intervals.accuracyWithoutThinking)}`,
    ],
    ['thinking after the answer was right (share of all)', ...sums.map(after), after(p)],
  ];
  const header = ['quantity', ...group.map((r) => `seed ${r.config.seed}`), 'pooled [95%]'];
  const table = markdownTable(
    header,
    header.map(() => false),
    rows.map((r) => r.map((c) => escapeMarkdown(c))),
  );
  return { run, table: `${table}\n`, numbers };
}

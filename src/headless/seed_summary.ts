/**
 * What a seeded experiment (`"seeds": [...]`, src/headless/experiment.ts) writes beside its per-seed run files: the
 * settings grouped across seeds (mean, 95% intervals) and P1's claims table (src/train/claims.ts), as JSON
 * (`summary.json`) and Markdown (`claims.md`). Pure: the CLI writes the strings.
 */
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
import type { EvalPoint } from '../train/results';
import { seedMeanPoint, seedRunsOf } from '../train/seed_means';
import { escapeMarkdown, markdownTable, type ReportRun } from './report';

export const SEED_SUMMARY_FORMAT = 'stoptime-seed-summary';

/** One run per seed of the same experiment, each point's stage resolved. */
export function seedRuns(records: readonly RunRecord[]): SeedRun[] {
  return seedRunsOf(records);
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
    r.estimates.map((e) => escapeMarkdown(claimEstimateText(e))).join('<br>'),
    r.estimates.map(claimPerSeedText).join('<br>'),
    r.estimates.map(claimAcrossSeedsText).join('<br>'),
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
  const body = rows.map((r) => [
    escapeMarkdown(r.id),
    r.estimates.map((e) => escapeMarkdown(claimEstimateText(e))).join('<br>'),
    r.estimates.map(claimPerSeedText).join('<br>'),
    r.estimates.map(claimAcrossSeedsText).join('<br>'),
    `**${r.verdict}**`,
  ]);
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
  };
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
    name: `${records[0]!.name} (mean of ${records.length} seeds)`,
    points,
    accuracyIntervals: intervals,
  };
}

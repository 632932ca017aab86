/**
 * Seeds as an axis of an experiment: a seeded experiment expands into one run per seed, run files of one experiment
 * group back by name and seed, and the summary and report show each setting at the seeds' mean with its interval
 * and P1's claims table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { experimentsForSeeds, parseExperiment, runExperiment, seedRunFile } from '../../src/headless/experiment';
import { renderMarkdownTable, reportSeries } from '../../src/headless/report';
import {
  armComparisonSections,
  renderClaimsMarkdown,
  seedGroupOracle,
  seedGroupReportRun,
  seedSummary,
  summarizeSeedRunFiles,
} from '../../src/headless/seed_summary';
import { ConfigError } from '../../src/model/config';
import { exportRunFile, parseRunFile } from '../../src/runs/run_file';
import type { RunRecord } from '../../src/runs/run_record';
import { createCpuBackend } from '../../src/train/backend_cpu';
import { groupRunsBySeed } from '../../src/train/claims';
import { METRIC } from '../../src/train/metrics';

const quick = (): Record<string, unknown> => JSON.parse(readFileSync('experiments/quick.json', 'utf8'));

describe('seeded experiments', () => {
  it('expand into one experiment per seed, each with its own seed and run file', () => {
    const e = parseExperiment({ ...quick(), seeds: [3, 1, 7] });
    expect(e.seeds).toEqual([3, 1, 7]);
    expect(e.out).toBe('experiments/out/quick');
    const per = experimentsForSeeds(e);
    expect(per.map((x) => x.config.seed)).toEqual([3, 1, 7]);
    expect(per.map((x) => x.out)).toEqual([3, 1, 7].map((s) => seedRunFile('experiments/out/quick', s)));
    // Everything but the seed is the same experiment.
    expect(new Set(per.map((x) => JSON.stringify({ ...x.config, seed: 0 }))).size).toBe(1);
    expect(per.every((x) => x.seeds === null && x.evaluations === e.evaluations)).toBe(true);
    // Without seeds: one run file, as before.
    const plain = parseExperiment(quick());
    expect(plain.seeds).toBeNull();
    expect(experimentsForSeeds(plain)).toEqual([plain]);
  });

  it('refuses a seed listed twice, a negative or fractional seed and an empty list', () => {
    for (const seeds of [[1, 1], [-1], [1.5], []]) {
      expect(() => parseExperiment({ ...quick(), seeds }), JSON.stringify(seeds)).toThrow(ConfigError);
    }
  });

  it('two seeds on the CPU backend: per-problem outcomes saved, grouped, summarised with claims and intervals', async () => {
    const base = quick();
    const { rl: _rl, ...config } = base.config as Record<string, unknown>;
    // Plain decoding only (claims 1 and 5 need no sweep); greedy and T = 0.6 on 6 problems.
    const doc = {
      ...base,
      seeds: [1, 2],
      suites: undefined,
      config: { ...config, eval: { size: 6 } },
      evaluations: [{ decode: { temperature: 0 }, stage: 'sft' }],
      sweeps: [{ series: 'temperature', values: [0.6], stage: 'sft' }],
    };
    const records: RunRecord[] = [];
    for (const e of experimentsForSeeds(parseExperiment(doc))) {
      const { run, state } = await runExperiment(createCpuBackend(), e);
      // What is saved is what the importer reads back, per-problem outcomes included.
      const back = parseRunFile(exportRunFile(run, state, 'inline').json).run;
      for (const p of back.evalPoints) {
        expect(p.perProblem!.correct).toMatch(/^[01]{6}$/);
        expect(p.perProblem!.thinkingTokens).toHaveLength(6);
        const mean = p.perProblem!.thinkingTokens.reduce((a, b) => a + b, 0) / 6;
        expect(mean).toBeCloseTo(p.meanThinkingTokens, 10);
      }
      records.push(back);
    }
    expect(records.map((r) => r.config.seed)).toEqual([1, 2]);
    // Different seeds train different weights.
    const firstLoss = (r: RunRecord) => r.timeline.find((t) => t.values[METRIC.trainLoss] !== undefined)!.values;
    expect(firstLoss(records[0]!)[METRIC.trainLoss]).not.toBe(firstLoss(records[1]!)[METRIC.trainLoss]);

    const groups = groupRunsBySeed([...records, { ...records[0]!, name: 'other' }]);
    expect(groups.map((g) => g.length)).toEqual([2, 1]);

    const summary = seedSummary('quick', records);
    expect(summary.seeds).toEqual([1, 2]);
    expect(summary.groups.map((g) => [g.series, g.decode.temperature])).toEqual([
      ['temperature', 0],
      ['temperature', 0.6],
    ]);
    for (const g of summary.groups) {
      expect(g.accuracy.estimate).toBeCloseTo((g.perSeedAccuracy[0]! + g.perSeedAccuracy[1]!) / 2, 12);
      expect(g.accuracy.low).toBeLessThanOrEqual(g.accuracy.estimate);
      expect(g.accuracy.high).toBeGreaterThanOrEqual(g.accuracy.estimate);
    }
    const claim1 = summary.claims.filter((c) => c.id.startsWith('1'));
    expect(claim1.map((c) => c.id)).toEqual(['1 · T = 0', '1 · T = 0.6']);
    const md = renderClaimsMarkdown(summary.claims, summary.seeds);
    expect(md).toContain('per seed (1, 2)');
    for (const c of summary.claims) expect(md).toContain(`**${c.verdict}**`);

    // The report draws the group as one run of mean points with their own intervals.
    const run = seedGroupReportRun(records);
    expect(run.name).toBe('quick (mean of 2 seeds)');
    const series = reportSeries([run]);
    const points = series.flatMap((s) => s.points);
    expect(points).toHaveLength(2);
    for (const p of points) {
      expect(p.barKind).toBe('interval');
      expect(p.point.problems).toBe(12);
    }
    expect(renderMarkdownTable(series)).toContain('accuracy % [95% CI]');
  });

  it('summarizeSeedRunFiles (experiment --summarize) joins run files of a split run, and names what is wrong', () => {
    const dir = 'docs/measurements/efficient-reasoners-tiny';
    const file = (seed: number) => {
      const path = `${dir}/seed-${seed}.stoptime.json`;
      return { path, text: readFileSync(path, 'utf8') };
    };
    const name = 'reproduce-efficient-reasoners-tiny';
    const seeds = [1, 2, 3, 4, 5];
    // In any order, the files give what they give in seed order (the published summary: the test below).
    expect(summarizeSeedRunFiles(name, seeds, [5, 3, 1, 4, 2].map(file))).toEqual(
      summarizeSeedRunFiles(name, seeds, seeds.map(file)),
    );
    expect(() => summarizeSeedRunFiles(name, seeds, [1, 2, 4].map(file))).toThrow(/no run file for seeds 3, 5$/);
    expect(() => summarizeSeedRunFiles(name, seeds, [1, 1, 2, 3, 4, 5].map(file))).toThrow(
      /seed-1\.stoptime\.json: a second run file for seed 1/,
    );
    expect(() => summarizeSeedRunFiles('other', seeds, [file(1)])).toThrow(
      /seed-1\.stoptime\.json: a run of 'reproduce-efficient-reasoners-tiny', not of 'other'/,
    );
    expect(() => summarizeSeedRunFiles(name, [2, 3], [file(1)])).toThrow(
      /seed 1 is not among the experiment's \(2, 3\)/,
    );
    expect(() => summarizeSeedRunFiles(name, seeds, [{ path: 'x.json', text: '{"format": 1' }])).toThrow(/^x\.json: /);
  });

  for (const dir of [
    'docs/measurements/efficient-reasoners-software',
    'docs/measurements/efficient-reasoners-tiny',
    'docs/measurements/tldr-steps-tiny',
    'docs/measurements/tldr-lambda-tiny',
    'docs/measurements/tldr-group-tiny',
    'docs/measurements/stopping-review-tiny',
    'docs/measurements/thinking-control-tiny/cot',
    'docs/measurements/thinking-control-tiny/answer',
  ]) {
    it(`the published five-seed summary and claims are what their run files give (${dir})`, () => {
      const files = readdirSync(dir)
        .filter((f) => /^seed-\d+\.stoptime\.json$/.test(f))
        .map((f) => ({ path: `${dir}/${f}`, text: readFileSync(`${dir}/${f}`, 'utf8') }));
      expect(files).toHaveLength(5);
      const published = readFileSync(`${dir}/summary.json`, 'utf8');
      const { name, seeds } = JSON.parse(published) as { name: string; seeds: number[] };
      expect(seeds).toEqual([1, 2, 3, 4, 5]);
      const out = summarizeSeedRunFiles(name, seeds, files);
      expect(out.summaryJson).toBe(published);
      expect(out.claims).toBe(readFileSync(`${dir}/claims.md`, 'utf8'));
    });
  }
});

describe('arms compared in the report (two seed groups trained apart)', () => {
  it('compares groups with the same seeds and evaluation problems, and says why it does not compare the others', () => {
    const dir = 'docs/measurements/efficient-reasoners-tiny';
    const tiny = [1, 2, 3, 4, 5].map(
      (seed) => parseRunFile(readFileSync(`${dir}/seed-${seed}.stoptime.json`, 'utf8')).run,
    );
    // An arm that gets exactly the other problems right: A − B = 2·accuracy_A − 1 at every setting and seed.
    const flipped = tiny.map((r) => ({
      ...r,
      name: 'flipped',
      evalPoints: r.evalPoints.map((p) => ({
        ...p,
        accuracy: 1 - p.accuracy,
        perProblem: p.perProblem && {
          ...p.perProblem,
          correct: [...p.perProblem.correct].map((c) => (c === '1' ? '0' : '1')).join(''),
        },
      })),
    }));
    const [section, ...rest] = armComparisonSections([tiny, flipped]);
    expect(rest).toEqual([]);
    expect(section).toContain('## Arms compared: reproduce-efficient-reasoners-tiny − flipped');
    expect(section).toContain('per seed (1, 2, 3, 4, 5)');
    // Greedy untagged SFT decoding: each seed's accuracy (10–16%) against its flip.
    const greedy = section!.split('\n').find((l) => /^\| sft · untagged · temperature · T 0 +\|/.test(l))!;
    const want = tiny.map((r) => {
      const p = r.evalPoints.find(
        (q) => (q.stage ?? 'sft') === 'sft' && !q.lengthTag && q.series === 'temperature' && q.decode.temperature === 0,
      )!;
      return (200 * p.accuracy - 100).toFixed(1).replace('-', '−');
    });
    expect(greedy).toContain(want.join(', '));
    expect(greedy).toContain('**established**');
    expect(section).toContain(
      'Verdict: established when the bootstrap interval over problems and the Student-t interval',
    );

    // Other problems (another evaluation seed), other seeds, one seed: not compared, or not at all.
    const otherProblems = flipped.map((r) => ({
      ...r,
      name: 'other-eval',
      config: { ...r.config, eval: { ...r.config.eval, seed: 7 } },
    }));
    expect(armComparisonSections([tiny, otherProblems])[0]).toMatch(
      /Not compared: the arms evaluate different problems \(seed 1; seed 2; seed 3; seed 4; seed 5\)/,
    );
    expect(armComparisonSections([tiny, flipped.slice(0, 4)])[0]).toMatch(
      /Not compared: the seeds differ \(1, 2, 3, 4, 5 and 1, 2, 3, 4\)/,
    );
    expect(armComparisonSections([tiny, flipped.slice(0, 1)])).toEqual([]);
  });
});

describe('the oracle frontier of a seed group in the report', () => {
  const dir = 'docs/measurements/oracle-software-seeds';
  const runs = () =>
    [1, 2, 3].map((seed) => parseRunFile(readFileSync(`${dir}/seed-${seed}.stoptime.json`, 'utf8')).run);

  it("pools the seeds' problems into one frontier, with a table per seed that matches the one worked out by hand", () => {
    const group = runs();
    const o = seedGroupOracle(group);
    if (o === null || 'problem' in o) throw new Error(`not pooled: ${JSON.stringify(o)}`);
    expect(o.numbers.seeds).toEqual([1, 2, 3]);
    expect(o.run.name).toBe('oracle-arithmetic-software-seeds (mean of 3 seeds)');
    const pooled = o.run.oracle!;
    expect(pooled.problems).toHaveLength(144);
    expect(pooled.summary.problems).toBe(144);
    // The pooled own accuracy is the mean of the seeds' (equal problem counts), and so is the oracle's.
    const mean = (f: (r: RunRecord) => number) => group.reduce((a, r) => a + f(r), 0) / group.length;
    expect(pooled.summary.ownAccuracy).toBeCloseTo(
      mean((r) => r.oracle!.summary.ownAccuracy),
      12,
    );
    expect(pooled.summary.oracleAccuracy).toBeCloseTo(
      mean((r) => r.oracle!.summary.oracleAccuracy),
      12,
    );
    expect(pooled.frontier.at(-1)!.accuracy).toBeCloseTo(pooled.summary.oracleAccuracy, 12);
    // docs/oracle-frontier.md ("Three seeds"), computed by hand from the same files before this table existed.
    const row = (name: string) => o.table.split('\n').find((l) => l.startsWith(`| ${name}`))!;
    expect(row('own stop')).toMatch(
      /16\.7%, 10\.0 +\| 18\.8%, 11\.4 +\| 16\.7%, 10\.2 +\| 17\.4% \\\[12\.0, 24\.4\\\], 10\.5/,
    );
    expect(row('oracle (every token)')).toMatch(/27\.1%, 0\.7 .*25\.0% \\\[18\.6, 32\.7\\\], 0\.9/);
    expect(row('oracle − own')).toMatch(
      /5 \(10\.4 points\) +\| 2 \(4\.2 points\) +\| 4 \(8\.3 points\) +\| 7\.6 points \\\[4\.3, 13\.2\\\]/,
    );
    expect(row('oracle at step boundaries')).toMatch(/\| 18\.8%, 1\.3 +\|$/);
    expect(row('right with no thinking')).toMatch(/10\.4% +\| 0\.0% +\| 4\.2% +\| 4\.9% /);
  });

  it('summary.json carries the pooled numbers where every seed has an oracle, and why not where some lack one', () => {
    const group = runs();
    const summary = seedSummary('oracle-arithmetic-software-seeds', group);
    const o = summary.oracle!;
    expect(o.seeds).toEqual([1, 2, 3]);
    expect(o.problemsPerSeed).toBe(48);
    expect(o.gapPerSeed).toEqual([5, 2, 4]);
    expect(o.gap).toBeCloseTo(11 / 144, 12);
    expect(o.pooled.oracleAccuracy - o.pooled.ownAccuracy).toBeCloseTo(o.gap, 12);
    expect(o.intervals.gap[0]).toBeCloseTo(0.043, 3);
    expect(o.intervals.gap[1]).toBeCloseTo(0.132, 3);
    expect(o.perSeed.map((x) => x.ownAccuracy)).toEqual(group.map((r) => r.oracle!.summary.ownAccuracy));
    const partial = seedSummary('x', [group[0]!, { ...group[1]!, oracle: null }]);
    expect(partial.oracle).toBeUndefined();
    expect(partial.oracleNotPooled).toMatch(/^seeds 2 have no oracle frontier/);
    expect(
      'oracle' in
        seedSummary(
          'x',
          group.map((r) => ({ ...r, oracle: null })),
        ),
    ).toBe(false);
  });

  it('does not pool seeds when one lacks an oracle or they were computed differently, and says so', () => {
    const [a, b, c] = runs();
    expect(seedGroupOracle([a!, { ...b!, oracle: null }, c!])).toEqual({
      problem: 'seeds 2 have no oracle frontier (seeds 1, 3 do): not pooled',
    });
    const other = { ...c!, oracle: { ...c!.oracle!, answerTokens: c!.oracle!.answerTokens + 1 } };
    expect(seedGroupOracle([a!, b!, other])).toEqual({
      problem: expect.stringMatching(/different settings .*: not pooled$/),
    });
    expect(seedGroupOracle([a, b, c].map((r) => ({ ...r!, oracle: null })))).toBeNull();
  });
});

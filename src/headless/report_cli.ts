/**
 * `npm run report -- <run.json>... [--out docs/figures/name] [--title "…"] [--exclude key=value,…]...`: reads run
 * files (the playground's export, or what `npm run experiment` writes), validates them with the playground's importer,
 * and writes `<out>.svg` (accuracy against mean thinking tokens, ±1 SE bars, src/headless/report.ts) and `<out>.md`
 * (title, the chart, one table row per evaluation point), printing the table.
 *
 * `--exclude` leaves out the points matching every key=value of one selector (keys: run, stage = sft | rl,
 * level = short | medium | long | none, method = temperature | ts | bias | cap | extend); give it several times to
 * exclude several groups. Example: `--exclude run=tldr-arithmetic,level=none` drops that run's untagged prompts.
 *
 * Run files of one experiment run with several seeds (the same run name, different `config.seed`: what a seeded
 * experiment writes) are drawn as one run: each setting at the seeds' mean with its 95% interval. For every run or
 * seed group with per-problem outcomes, P1's claims table (src/train/claims.ts) is printed and added to the page.
 * Seed groups trained apart (different names, the same seeds and evaluation problems: two arms of one question, such as
 * chain-of-thought against answer-only targets) are compared setting by setting, A − B in accuracy and thinking tokens
 * with the verdict of compareArms (src/train/claims.ts; seed_summary.ts armComparisonSections).
 * Run files with suite results (the generalization lab's) add the results matrix of their task: a method's seeds in one
 * row, each cell the mean success rate with its 95% interval and seeds × episodes (src/runs/matrix.ts); files with
 * suite results and no evaluation points give a page of the matrix alone (no chart).
 * Bundled for Node by vite.node.config.ts.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { RunRecord } from '../runs/run_record';
import { efficientReasonerClaims, groupRunsBySeed } from '../train/claims';
import {
  chartFrontierOf,
  describeRun,
  escapeMarkdown,
  loadReportRun,
  matchesSelector,
  type PointSelector,
  parsePointSelector,
  ReportError,
  type ReportRun,
  renderChartSvg,
  renderMarkdownReport,
  renderMarkdownTable,
  renderMatrixSections,
  renderOracleSection,
  reportSeries,
} from './report';
import {
  armComparisonSections,
  renderClaimsMarkdown,
  seedGroupOracle,
  seedGroupReportRun,
  seedRuns,
} from './seed_summary';

/** Run files carry their weights inline as base64 (a 'small' model is about 1 MB), so the cap is well above that. */
const MAX_RUN_FILE_BYTES = 64 * 2 ** 20;
const USAGE =
  'usage: npm run report -- <run.json>... [--out docs/figures/name] [--title "…"] [--exclude key=value,…]...\n' +
  '  --exclude: leave out points matching all of run=<name>, stage=sft|rl, level=short|medium|long|none,\n' +
  '             method=temperature|ts|bias|cap|extend (repeatable)';

interface Args {
  files: string[];
  out: string | null;
  title: string | null;
  excludes: { text: string; selector: PointSelector }[];
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { files: [], out: null, title: null, excludes: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') throw new ReportError(USAGE);
    if (a === '--out' || a === '--title' || a === '--exclude') {
      const value = argv[++i];
      if (value === undefined || value === '') throw new ReportError(`${a}: missing value\n${USAGE}`);
      if (a === '--out') args.out = value.replace(/\.(svg|md)$/, '');
      else if (a === '--title') args.title = value;
      else {
        try {
          args.excludes.push({ text: value, selector: parsePointSelector(value) });
        } catch (e) {
          throw e instanceof ReportError ? new ReportError(`--exclude: ${e.message}\n${USAGE}`) : e;
        }
      }
    } else if (a.startsWith('--')) {
      throw new ReportError(`unknown option ${a}\n${USAGE}`);
    } else {
      args.files.push(a);
    }
  }
  if (args.files.length === 0) throw new ReportError(USAGE);
  return args;
}

function readRunFile(file: string): { record: RunRecord; report: ReportRun } {
  let text: string;
  try {
    if (statSync(file).size > MAX_RUN_FILE_BYTES)
      throw new ReportError(`${file}: larger than ${MAX_RUN_FILE_BYTES / 2 ** 20} MiB; is it a run file?`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof ReportError) throw e;
    throw new ReportError(`${file}: cannot read (${e instanceof Error ? e.message : String(e)})`);
  }
  return loadReportRun(file, text);
}

/** The command as typed, for the Markdown page (arguments quoted for a POSIX shell where needed). */
function commandLine(argv: readonly string[]): string {
  const quote = (a: string) => (/^[\w./=,:+@-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['npm', 'run', 'report', '--', ...argv.map(quote)].join(' ');
}

function main(): void {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  const files = args.files.map(readRunFile);
  const groups = groupRunsBySeed(files.map((f) => f.record));
  const loaded = groups.map((g) =>
    g.length === 1 ? files.find((f) => f.record === g[0])! : { record: g[0]!, report: seedGroupReportRun(g) },
  );
  const runs = loaded.map((l) => l.report);
  const names = runs.map((r) => r.name);

  const excludedBy = args.excludes.map(() => 0);
  for (const [k, { text, selector }] of args.excludes.entries()) {
    if (selector.run !== undefined && !names.includes(selector.run))
      throw new ReportError(
        `--exclude ${text}: no run named ${JSON.stringify(selector.run)} (runs: ${names.map((n) => JSON.stringify(n)).join(', ')})`,
      );
    for (const run of runs) for (const p of run.points) if (matchesSelector(selector, run.name, p)) excludedBy[k]!++;
    if (excludedBy[k] === 0) throw new ReportError(`--exclude ${text}: matches no evaluation point`);
  }
  const series = reportSeries(runs, {
    include: (p, run) => !args.excludes.some((x) => matchesSelector(x.selector, run.name, p)),
  });
  const matrixSections = renderMatrixSections(files.map((f) => f.record));
  if (series.length === 0 && matrixSections.length === 0)
    throw new ReportError('no evaluation points or suite results to report (the runs have none, or all excluded)');
  if (series.length === 0) {
    writeMatrixReport(
      args,
      argv,
      files.map((f) => f.record),
      matrixSections,
    );
    return;
  }

  const records = loaded.map((l) => l.record);
  // Claims per run or seed group, where any is measured.
  const claimSections = groups.flatMap((g) => {
    const rows = efficientReasonerClaims(seedRuns(g));
    if (rows.every((r) => r.verdict === 'not measured')) return [];
    const seeds = g.map((r) => r.config.seed);
    return [
      `## Claims: ${escapeMarkdown(g[0]!.name)} (${g.length === 1 ? 'one seed' : `${g.length} seeds`})\n\n${renderClaimsMarkdown(rows, seeds)}`,
    ];
  });
  // Seed groups trained apart and evaluated on the same problems, compared setting by setting.
  const armSections = armComparisonSections(groups);
  const adapters = [...new Set(records.map((r) => r.adapter))];
  const problems = [...new Set(series.flatMap((s) => s.points.map((p) => p.point.problems)))].sort((a, b) => a - b);
  const subtitle = [
    records.map(describeRun).join(' · '),
    adapters.length === 1 ? `adapter: ${adapters[0]}` : records.map((r) => `${r.name}: ${r.adapter}`).join(' · '),
    `${problems.length === 1 ? problems[0] : `${problems[0]}–${problems[problems.length - 1]}`} held-out problems per point · bars: ${
      groups.every((g) => g.length > 1)
        ? '95% interval over seeds (bootstrap over problems within seeds)'
        : groups.some((g) => g.length > 1)
          ? '95% interval for seed means, ±1 binomial SE for single runs'
          : '±1 binomial standard error, sqrt(p(1 − p)/n)'
    }`,
  ];
  const title = args.title ?? `Accuracy against thinking length: ${names.join(', ')}`;
  // Reported points whose stage the file did not record and the step made RL (see stageOf).
  const reported = new Set(series.flatMap((s) => s.points.map((p) => p.point)));
  const inferred = runs.reduce(
    (n, run, i) =>
      n +
      run.points.filter((p, j) => reported.has(p) && records[i]!.evalPoints[j]!.stage === undefined && p.stage === 'rl')
        .length,
    0,
  );
  const notes = [
    `Sources: ${args.files.join(', ')}.`,
    ...args.excludes.map((x, k) => `Excluded: points matching ${x.text} (${excludedBy[k]}).`),
    ...(inferred > 0
      ? [
          `Stage: ${inferred} of these points come from a file written before evaluation points recorded their stage; they count as RL by their step (after the SFT steps).`,
        ]
      : []),
  ];

  const out = outBase(args);
  const svgPath = `${out}.svg`;
  const mdPath = `${out}.md`;
  mkdirSync(dirname(out), { recursive: true });
  // Oracle frontiers (src/train/oracle.ts) of the runs that computed one: drawn under the curves, summarised below. A
  // seed group's seeds are pooled into one frontier, with a table per seed (seedGroupOracle).
  const oracles = groups.flatMap((g): { run: RunRecord; pooledSeeds?: number; table: string }[] => {
    if (g.length === 1) return g[0]!.oracle ? [{ run: g[0]!, table: '' }] : [];
    const o = seedGroupOracle(g);
    if (o === null) return [];
    if ('problem' in o) {
      notes.push(`Oracle frontier of ${g[0]!.name}: ${o.problem}.`);
      return [];
    }
    return [{ run: o.run, pooledSeeds: o.numbers.seeds.length, table: o.table }];
  });
  const frontiers = oracles.flatMap((o) => chartFrontierOf(o.run, groups.length > 1) ?? []);
  const oracleSections = oracles.flatMap((o) => {
    const section = renderOracleSection(o.run, series, o.pooledSeeds);
    return section === null ? [] : [o.table ? `${section}\n${o.table}` : section];
  });
  writeFileSync(svgPath, renderChartSvg(series, { title, subtitle, frontiers }));
  writeFileSync(
    mdPath,
    renderMarkdownReport({
      title,
      subtitle,
      svgFileName: basename(svgPath),
      series,
      notes,
      command: commandLine(argv),
      sections: [...oracleSections, ...claimSections, ...armSections, ...matrixSections],
    }),
  );
  console.log(renderMarkdownTable(series));
  for (const c of [...oracleSections, ...claimSections, ...armSections, ...matrixSections]) console.log(c);
  for (const n of notes.slice(1)) console.log(n);
  console.log(`wrote ${svgPath} and ${mdPath} (${series.reduce((n, s) => n + s.points.length, 0)} points)`);
}

/** The output path without its extension: --out, else `<first file's name>-report` beside it. */
function outBase(args: Args): string {
  return (
    args.out ?? `${dirname(args.files[0]!)}/${basename(args.files[0]!).replace(/(\.stoptime)?\.json$/, '')}-report`
  );
}

/** The page of run files with suite results and no evaluation points: the results matrices alone, printed too. */
function writeMatrixReport(
  args: Args,
  argv: readonly string[],
  records: readonly RunRecord[],
  sections: string[],
): void {
  const names = [...new Set(records.map((r) => r.name))];
  const adapters = [...new Set(records.map((r) => r.adapter))];
  const title = args.title ?? `Results matrix: ${names.join(', ')}`;
  const out = outBase(args);
  const mdPath = `${out}.md`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    mdPath,
    renderMarkdownReport({
      title,
      subtitle: [`adapter: ${adapters.join(', ')}`],
      svgFileName: '',
      series: [],
      notes: [`Sources: ${args.files.join(', ')}.`],
      command: commandLine(argv),
      sections,
    }),
  );
  for (const s of sections) console.log(s);
  console.log(`wrote ${mdPath} (${records.length} runs)`);
}

try {
  main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}

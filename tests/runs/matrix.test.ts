/**
 * The generalization lab's results matrix (src/runs/matrix.ts): Wilson score intervals, column order by kind and
 * the task's variant order, missing suites, the CSV's quoting and formula neutralising, and the JSON document.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildMatrix,
  clusteredInterval,
  csvText,
  findSuiteResult,
  MATRIX_CSV_HEADER,
  MATRIX_FORMAT,
  MATRIX_SCHEMA_VERSION,
  type MatrixJson,
  matrixToCsv,
  matrixToJson,
  matrixToMarkdown,
  SUITE_KIND_ORDER,
  suiteTasks,
  WILSON_Z_95,
} from '../../src/runs/matrix';
import { parseRunFile } from '../../src/runs/run_file';
import type { RunRecord } from '../../src/runs/run_record';
import { getTask } from '../../src/tasks/index';
import { type LabMethodId, labConfig } from '../../src/train/lab_presets';
import { DEFAULT_RL_CONFIG } from '../../src/train/run_config';
import type { SuiteKind, SuiteResult } from '../../src/train/suite_types';
import { wilsonBounds } from '../../src/util/stats';

/** The plain Wilson interval of s of n at the matrix's z, as the matrix's intervals are built. */
const wilsonInterval = (s: number, n: number) => wilsonBounds(s / n, n, WILSON_Z_95);

/** `tooLong` left out: the field is absent, as in results saved before it was recorded. */
type Spec = [suite: string, kind: SuiteKind, successes: number, problems: number, tooLong?: number];

function result(task: SuiteResult['task'], [suite, kind, successes, problems, tooLong]: Spec): SuiteResult {
  return {
    task,
    suite,
    kind,
    unit: task === 'sokoban' ? 'episode' : 'answer',
    problems,
    successes,
    ...(tooLong === undefined ? {} : { tooLong }),
    meanThinkingTokens: 0,
    meanActions: task === 'sokoban' ? 3 : null,
    evalTimeMs: 1,
    samples: [],
  };
}

let nextId = 0;
function run(
  name: string,
  method: LabMethodId,
  specs: Spec[],
  task: 'sokoban' | 'general_points' = 'sokoban',
): RunRecord {
  const config = labConfig(task, method, 'smoke');
  return {
    id: `run${nextId++}`,
    name,
    createdAt: nextId,
    updatedAt: nextId,
    config,
    status: 'finished',
    adapter: 'CPU reference',
    stepsDone: config.sft.steps + (config.rl?.steps ?? 0),
    timeline: [],
    evalPoints: [],
    samples: null,
    checkpointStep: null,
    rlStartStep: config.rl ? config.sft.steps : null,
    suiteResults: specs.map((s) => result(task, s)),
  };
}

describe('buildMatrix', () => {
  it('orders columns by kind (id, training, instruction, difficulty, fake), then by the task variant order', () => {
    // Given in a scrambled order, spread over two runs.
    const a = run('answer', 'answer', [
      ['fake_numeric', 'fake', 1, 4],
      ['size10', 'difficulty', 0, 4],
      ['numeric', 'instruction', 2, 4],
      ['id', 'id', 4, 4],
    ]);
    const b = run('cot', 'cot', [
      ['boxes2', 'difficulty', 1, 4],
      ['diverse', 'training', 0, 4],
      ['alpha', 'instruction', 3, 4],
      ['size8', 'difficulty', 2, 4],
    ]);
    const m = buildMatrix([a, b], 'sokoban');
    const suites = m.columns.map((c) => c.suite);
    expect(suites).toEqual(['id', 'diverse', 'alpha', 'numeric', 'size8', 'size10', 'boxes2', 'fake_numeric']);
    // Independently: kinds never decrease in SUITE_KIND_ORDER, and within a kind the variant index increases.
    const variants = getTask('sokoban').variants as readonly string[];
    for (let j = 1; j < m.columns.length; j++) {
      const prev = m.columns[j - 1]!;
      const cur = m.columns[j]!;
      const dk = SUITE_KIND_ORDER.indexOf(cur.kind) - SUITE_KIND_ORDER.indexOf(prev.kind);
      expect(dk).toBeGreaterThanOrEqual(0);
      if (dk === 0) expect(variants.indexOf(cur.suite)).toBeGreaterThan(variants.indexOf(prev.suite));
    }
  });

  it('puts suites the task does not list last within their kind, by name', () => {
    const a = run('x', 'cot', [
      ['zz_new', 'difficulty', 1, 2],
      ['aa_new', 'difficulty', 1, 2],
      ['size8', 'difficulty', 1, 2],
      ['id', 'id', 1, 2],
    ]);
    expect(buildMatrix([a], 'sokoban').columns.map((c) => c.suite)).toEqual(['id', 'size8', 'aa_new', 'zz_new']);
  });

  it('gives null cells for suites a run lacks and counts, rate and interval for the others', () => {
    const a = run('answer', 'answer', [
      ['id', 'id', 12, 32],
      ['alpha', 'instruction', 0, 32],
    ]);
    const b = run('grpo', 'grpo', [
      ['id', 'id', 30, 32],
      ['size8', 'difficulty', 5, 10],
    ]);
    const m = buildMatrix([a, b], 'sokoban');
    expect(m.rows.map((r) => r.label)).toEqual(['answer', 'grpo']);
    expect(m.columns.map((c) => c.suite)).toEqual(['id', 'alpha', 'size8']);
    const [ra, rb] = m.cells;
    expect(ra![0]).toEqual({
      successes: 12,
      problems: 32,
      tooLong: 0,
      rate: 12 / 32,
      ci: wilsonInterval(12, 32),
      turns: null,
      parsedTurns: null,
      seeds: 1,
      designEffect: 1,
      perSeed: [{ seed: a.config.seed, runId: a.id, successes: 12, problems: 32 }],
    });
    expect(ra![1]!.rate).toBe(0);
    expect(ra![2]).toBeNull();
    expect(rb![1]).toBeNull();
    expect(rb![2]!.ci[0]).toBeCloseTo(0.2366, 4);
    expect(m.warnings).toEqual([]);
    // The row summary comes from each run's config.
    expect(m.rows[0]!.summary).toMatchObject({ task: 'sokoban', targetStyle: 'answer', rlSteps: null });
    expect(m.rows[1]!.summary.rlSteps).toBe(b.config.rl!.steps);
  });

  it('leaves out runs without results for the task, other tasks, impossible counts and duplicate suites', () => {
    const gp = run('gp', 'cot', [['id', 'id', 1, 2]], 'general_points');
    const none: RunRecord = { ...run('none', 'cot', []), suiteResults: null };
    const bad = run('bad', 'cot', [
      ['id', 'id', 5, 3],
      ['alpha', 'instruction', 1, 2],
      ['alpha', 'instruction', 2, 2],
    ]);
    const m = buildMatrix([gp, none, bad], 'sokoban');
    expect(m.rows.map((r) => r.label)).toEqual(['bad']);
    expect(m.columns.map((c) => c.suite)).toEqual(['alpha']);
    expect(m.cells[0]![0]!.successes).toBe(1);
    expect(m.warnings).toHaveLength(2);
    expect(m.warnings[0]).toMatch(/suiteResults\[0\] \(suite 'id'\): successes 5 > problems 3; left out/);
    expect(m.warnings[1]).toMatch(/suiteResults\[2\] \(suite 'alpha'\): a second result/);
    expect(findSuiteResult(bad, 'sokoban', 'alpha')!.successes).toBe(1);
    expect(findSuiteResult(bad, 'sokoban', 'id')).toBeNull();
    expect(suiteTasks([gp, none, bad])).toEqual(['general_points', 'sokoban']);
    expect(() => buildMatrix([gp], 'nope' as 'sokoban')).toThrow(/unknown task 'nope'/);
  });

  it('gives a zero-problem suite a null rate and the [0, 1] interval', () => {
    const m = buildMatrix([run('a', 'cot', [['id', 'id', 0, 0]])], 'sokoban');
    expect(m.cells[0]![0]).toEqual({
      successes: 0,
      problems: 0,
      tooLong: 0,
      rate: null,
      ci: [0, 1],
      turns: null,
      parsedTurns: null,
      seeds: 1,
      designEffect: 1,
      perSeed: [{ seed: 1, runId: m.rows[0]!.runId, successes: 0, problems: 0 }],
    });
  });

  it('carries the problems refused as too long (0 when the field is absent) and leaves out impossible counts', () => {
    const a = run('smoke', 'cot', [
      ['id', 'id', 2, 4, 0],
      ['size10', 'difficulty', 0, 4, 4],
      ['size8', 'difficulty', 1, 4],
      ['boxes2', 'difficulty', 3, 4, 2],
      ['alpha', 'instruction', 1, 4, 1.5],
    ]);
    const m = buildMatrix([a], 'sokoban');
    expect(m.columns.map((c) => c.suite)).toEqual(['id', 'size8', 'size10']);
    const cells = m.cells[0]!;
    expect(cells.map((c) => c!.tooLong)).toEqual([0, 0, 4]);
    // Too-long problems stay in the rate, as failures.
    expect(cells[2]).toMatchObject({ successes: 0, problems: 4, rate: 0 });
    expect(m.warnings).toHaveLength(2);
    expect(m.warnings[0]).toMatch(/suite 'boxes2'\): tooLong 2 > failures 1; left out/);
    expect(m.warnings[1]).toMatch(/suite 'alpha'\): tooLong is 1\.5, not a non-negative integer; left out/);
  });

  it('carries turns and parsed answers (null when not recorded) into cells, JSON and CSV; refuses impossible ones', () => {
    const withTurns = (spec: Spec, turns?: number, parsedTurns?: number): SuiteResult => ({
      ...result('sokoban', spec),
      ...(turns === undefined ? {} : { turns }),
      ...(parsedTurns === undefined ? {} : { parsedTurns }),
    });
    const a = run('answer', 'answer', []);
    a.suiteResults = [
      withTurns(['id', 'id', 1, 4], 40, 40),
      withTurns(['alpha', 'instruction', 0, 4], 40, 0),
      withTurns(['size8', 'difficulty', 0, 4]),
      withTurns(['numeric', 'instruction', 0, 4], 40, 41),
      withTurns(['symbols', 'instruction', 0, 4], 40),
    ];
    const m = buildMatrix([a], 'sokoban');
    expect(m.columns.map((c) => c.suite)).toEqual(['id', 'alpha', 'size8']);
    expect(m.cells[0]!.map((c) => [c!.turns, c!.parsedTurns])).toEqual([
      [40, 40],
      [40, 0],
      [null, null],
    ]);
    expect(m.warnings.join('\n')).toMatch(/suite 'numeric'\): parsedTurns 41 is not an integer in \[0, turns 40\]/);
    expect(m.warnings.join('\n')).toMatch(/suite 'symbols'\): turns and parsedTurns must come together/);
    const doc = JSON.parse(matrixToJson(m)) as MatrixJson;
    expect(doc.cells.map((c) => [c.suite, c.turns, c.parsedTurns])).toEqual([
      ['id', 40, 40],
      ['alpha', 40, 0],
      ['size8', null, null],
    ]);
    const records = parseCsv(matrixToCsv(m));
    const col = (name: (typeof MATRIX_CSV_HEADER)[number]) => MATRIX_CSV_HEADER.indexOf(name);
    expect(records.slice(1).map((r) => [r[col('suite')], r[col('turns')], r[col('parsed_turns')]])).toEqual([
      ['id', '40', '40'],
      ['alpha', '40', '0'],
      ['size8', '', ''],
    ]);
  });

  it('reports RL steps only for a run that had an RL stage, whatever its config holds', () => {
    const grpo = run('grpo', 'grpo', [['id', 'id', 1, 2]]);
    expect(grpo.config.rl).toBeDefined();
    // The GRPO method's config, stopped after SFT (no RL stage): valid RL settings, no RL steps.
    const sftOnly: RunRecord = { ...grpo, id: 'sft-only', stepsDone: grpo.config.sft.steps, rlStartStep: null };
    // A file from before rlStartStep was recorded: no evidence of an RL stage either.
    const legacy: RunRecord = { ...sftOnly, id: 'legacy', rlStartStep: undefined };
    // An RL stage on a config without RL settings ran with the defaults.
    const { rl: _rl, ...noRl } = grpo.config;
    const defaults: RunRecord = { ...grpo, id: 'defaults', config: noRl };
    const m = buildMatrix([grpo, sftOnly, legacy, defaults], 'sokoban');
    expect(m.rows.map((r) => [r.runId, r.summary.rlSteps])).toEqual([
      [grpo.id, grpo.config.rl!.steps],
      ['sft-only', null],
      ['legacy', null],
      ['defaults', DEFAULT_RL_CONFIG.steps],
    ]);
    expect(DEFAULT_RL_CONFIG.steps).not.toBe(grpo.config.rl!.steps);
    expect(m.rows[1]!.summary.stepsDone).toBe(grpo.config.sft.steps);
  });
});

/** A minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF records) to read the CSV back. */
describe('the published lab matrices (docs/measurements/generalization-*)', () => {
  const dirs = readdirSync('docs/measurements')
    .filter((d) => d.startsWith('generalization-'))
    .map((d) => `docs/measurements/${d}`);

  it('import as run files, and the matrix rebuilt from them has the counts of the published matrix.csv', () => {
    expect(dirs.length).toBeGreaterThan(0);
    for (const dir of dirs) {
      const files = readdirSync(dir).filter((f) => f.endsWith('.stoptime.json'));
      const runs = files.map((f) => parseRunFile(readFileSync(`${dir}/${f}`, 'utf8')).run);
      const task = runs[0]!.config.task.id as 'sokoban' | 'general_points';
      const m = buildMatrix(runs, task);
      expect(m.warnings, dir).toEqual([]);
      const [header, ...records] = parseCsv(readFileSync(`${dir}/matrix.csv`, 'utf8'));
      const at = (r: string[], name: string) => r[header!.indexOf(name)]!;
      // Files written before seeds: run_id and problems; since: run_ids and episodes (one seed: one run id).
      const v2 = header!.includes('run_ids');
      const published = records.map((r) => [
        at(r, v2 ? 'run_ids' : 'run_id'),
        at(r, 'suite'),
        at(r, 'successes'),
        at(r, v2 ? 'episodes' : 'problems'),
      ]);
      const rebuilt = m.rows.flatMap((row, i) =>
        m.columns.flatMap((col, j) => {
          const c = m.cells[i]![j];
          return c ? [[row.runId, col.suite, String(c.successes), String(c.problems)]] : [];
        }),
      );
      expect(rebuilt.sort(), dir).toEqual(published.sort());
    }
  });

  it('the supplementary lab runs (docs/measurements/lab-*) import too, each with a result for every suite', () => {
    const lab = readdirSync('docs/measurements').filter((d) => d.startsWith('lab-'));
    expect(lab.length).toBeGreaterThan(0);
    for (const d of lab) {
      for (const f of readdirSync(`docs/measurements/${d}`).filter((x) => x.endsWith('.stoptime.json'))) {
        const { run } = parseRunFile(readFileSync(`docs/measurements/${d}/${f}`, 'utf8'));
        const task = getTask(run.config.task.id);
        // Every variant the task had when the run was made (Sokoban's fake_swap came later).
        expect(
          run.suiteResults?.map((r) => r.suite),
          f,
        ).toEqual(task.variants.filter((v) => v !== 'fake_swap'));
      }
    }
  });
});

function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += ch;
  }
  expect(field).toBe('');
  expect(record).toEqual([]);
  return records;
}

describe('matrixToCsv', () => {
  const hostile = 'SFT "CoT", v2\nline';
  const formula = '=HYPERLINK("http://x","y")';
  const runs = [
    run(hostile, 'cot', [
      ['id', 'id', 12, 32],
      ['size8', 'difficulty', 3, 32],
    ]),
    run(formula, 'answer', [['id', 'id', 1, 3, 2]]),
    run('+1', 'grpo', [['alpha', 'instruction', 0, 0]]),
  ];
  const m = buildMatrix(runs, 'sokoban');
  const csv = matrixToCsv(m);

  it('writes one CRLF record per (method, suite) present, with the header first', () => {
    const records = parseCsv(csv);
    expect(records[0]).toEqual([...MATRIX_CSV_HEADER]);
    expect(records).toHaveLength(1 + 4);
    for (const r of records) expect(r).toHaveLength(MATRIX_CSV_HEADER.length);
    const [, first, second] = records;
    const col = (name: (typeof MATRIX_CSV_HEADER)[number]) => MATRIX_CSV_HEADER.indexOf(name);
    expect(first!.slice(0, 3)).toEqual([hostile, 'id', 'id']);
    expect(Number(first![col('mean')])).toBeCloseTo(12 / 32, 6);
    const [lo, hi] = wilsonInterval(12, 32);
    expect(Number(first![col('ci_low')])).toBeCloseTo(lo, 6);
    expect(Number(first![col('ci_high')])).toBeCloseTo(hi, 6);
    expect(first!.slice(col('seeds'), col('design_effect') + 1)).toEqual(['1', '32', '12', '0', '1']);
    expect(first![col('run_ids')]).toBe(runs[0]!.id);
    expect(first![col('per_seed')]).toBe(`seed ${runs[0]!.config.seed}: 12/32`);
    expect(second!.slice(1, 3)).toEqual(['size8', 'difficulty']);
    // too_long: the run's count (2 of its 3 problems), 0 where the result has none.
    const third = records.find((r) => r[col('run_ids')] === runs[1]!.id)!;
    expect([third[col('episodes')], third[col('successes')], third[col('too_long')]]).toEqual(['3', '1', '2']);
  });

  it('quotes text fields, doubles inner quotes and neutralises formula starts', () => {
    expect(csv).toContain('"SFT ""CoT"", v2\nline"');
    const records = parseCsv(csv);
    const names = records.slice(1).map((r) => r[0]);
    expect(names).toContain(`'${formula}`);
    expect(names).toContain("'+1");
    for (const start of ['=', '+', '-', '@', '\t', '\r']) expect(csvText(`${start}x`)).toBe(`"'${start}x"`);
    expect(csvText('a-b')).toBe('"a-b"');
    expect(csvText('')).toBe('""');
  });

  it('leaves the mean empty for a zero-problem suite', () => {
    const last = parseCsv(csv).at(-1)!;
    expect(last.slice(0, 10)).toEqual(["'+1", 'alpha', 'instruction', '', '0', '1', '1', '0', '0', '0']);
  });
});

describe('matrixToJson', () => {
  it('round-trips through JSON.parse with the format header, rows, columns and every cell count', () => {
    const runs = [
      run(
        'answer',
        'answer',
        [
          ['id', 'id', 12, 32],
          ['face_5', 'instruction', 4, 32],
        ],
        'general_points',
      ),
      run(
        'cot',
        'cot',
        [
          ['id', 'id', 20, 32, 5],
          ['fake_face', 'fake', 1, 32],
        ],
        'general_points',
      ),
    ];
    const m = buildMatrix(runs, 'general_points');
    const doc = JSON.parse(matrixToJson(m)) as MatrixJson;
    expect(doc.format).toBe(MATRIX_FORMAT);
    expect(doc.schemaVersion).toBe(MATRIX_SCHEMA_VERSION);
    expect(doc.task).toBe('general_points');
    expect(doc.interval).toEqual({ method: 'wilson-design-effect', confidence: 0.95, z: WILSON_Z_95 });
    expect(doc.rows.map((r) => [r.runIds, r.seeds, r.name])).toEqual(
      runs.map((r) => [[r.id], [r.config.seed], r.name]),
    );
    expect(doc.rows[0]!.config).toEqual({
      task: 'general_points',
      targetStyle: 'answer',
      instructions: 'fixed',
      modelSize: runs[0]!.config.model.size,
      sftSteps: runs[0]!.config.sft.steps,
      rlSteps: null,
    });
    expect(doc.columns).toEqual(m.columns);
    // Every present cell, and only those, with its counts and interval.
    const present = m.cells.flat().filter((c) => c !== null);
    expect(doc.cells).toHaveLength(present.length);
    for (const c of doc.cells) {
      const i = m.rows.findIndex((r) => r.runId === c.runIds[0]);
      const j = m.columns.findIndex((col) => col.suite === c.suite);
      const cell = m.cells[i]![j]!;
      expect([c.successes, c.episodes, c.tooLong, c.mean, c.ciLow, c.ciHigh, c.seeds, c.designEffect]).toEqual([
        cell.successes,
        cell.problems,
        cell.tooLong,
        cell.rate,
        ...cell.ci,
        1,
        1,
      ]);
    }
    expect(doc.cells.map((c) => [c.runIds[0], c.suite, c.tooLong])).toEqual([
      [runs[0]!.id, 'id', 0],
      [runs[0]!.id, 'face_5', 0],
      [runs[1]!.id, 'id', 5],
      [runs[1]!.id, 'fake_face', 0],
    ]);
    const fake = doc.cells.find((c) => c.suite === 'fake_face')!;
    expect([fake.runIds, fake.kind, fake.successes, fake.episodes]).toEqual([[runs[1]!.id], 'fake', 1, 32]);
    expect(fake.perSeed).toEqual([{ seed: runs[1]!.config.seed, runId: runs[1]!.id, successes: 1, episodes: 32 }]);
  });
});

describe('seeds: clusteredInterval', () => {
  const counts = (...xs: [number, number][]) => xs.map(([successes, problems]) => ({ successes, problems }));

  it('is the Wilson interval at N / D episodes: three seeds at 32, 16 and 48 of 64 give D = 16, N_eff = 12', () => {
    // p̄ = 0.5; S² = ((0)² + (−0.25)² + (0.25)²) / 2 = 0.0625, S²/k = 0.0625/3; binomial p̄(1 − p̄)/N = 0.25/192:
    // D = (0.0625/3) / (0.25/192) = 16 exactly, so N_eff = 192/16 = 12 and the interval is Wilson's for 6 of 12.
    const r = clusteredInterval(counts([32, 64], [16, 64], [48, 64]));
    expect(r.mean).toBe(0.5);
    expect(r.designEffect).toBeCloseTo(16, 12);
    expect(r.seeds).toBe(3);
    const [lo, hi] = wilsonInterval(6, 12);
    expect(r.ci[0]).toBeCloseTo(lo, 12);
    expect(r.ci[1]).toBeCloseTo(hi, 12);
    expect(r.ci[0]).toBeCloseTo(0.2538, 4);
    expect(r.ci[1]).toBeCloseTo(0.7462, 4);
  });

  it('is the pooled Wilson interval when the seeds agree (D = 1), and the plain one for one seed', () => {
    const agree = clusteredInterval(counts([16, 64], [16, 64], [16, 64]));
    expect(agree.designEffect).toBe(1);
    expect(agree.ci).toEqual(wilsonInterval(48, 192));
    expect(clusteredInterval(counts([27, 32])).ci).toEqual(wilsonInterval(27, 32));
    expect(clusteredInterval(counts([27, 32]))).toMatchObject({ mean: 27 / 32, designEffect: 1, seeds: 1 });
    // Every episode failed: the interval keeps its width (a bootstrap would give [0, 0]).
    const zero = clusteredInterval(counts([0, 64], [0, 64], [0, 64]));
    expect(zero.mean).toBe(0);
    expect(zero.ci).toEqual(wilsonInterval(0, 192));
    expect(zero.ci[1]).toBeGreaterThan(0.015);
  });

  it('weighs each seed the same, leaves out seeds without problems and refuses impossible counts', () => {
    const r = clusteredInterval(counts([3, 4], [10, 20], [0, 0]));
    expect(r.mean).toBe((3 / 4 + 10 / 20) / 2);
    expect(r.seeds).toBe(2);
    expect(clusteredInterval(counts([0, 0]))).toEqual({ mean: null, ci: [0, 1], designEffect: 1, seeds: 0 });
    expect(() => clusteredInterval(counts([5, 4]))).toThrow(/successes must be an integer in 0\.\.4, got 5/);
    expect(() => clusteredInterval(counts([1.5, 4]))).toThrow(/successes must be an integer/);
    expect(() => clusteredInterval(counts([1, Number.NaN]))).toThrow(/problems must be a non-negative integer/);
    expect(() => clusteredInterval(counts([1, 4]), 0)).toThrow(/z must be a positive number/);
  });
});

describe('seeds: buildMatrix and the exports', () => {
  /** `method`'s run with seed `seed`: same name and settings as its other seeds. */
  const seeded = (seed: number, specs: Spec[], name = 'SFT answer-only', method: LabMethodId = 'answer') => {
    const r = run(name, method, specs);
    r.config = { ...r.config, seed };
    return r;
  };
  const s1 = seeded(1, [
    ['id', 'id', 32, 64],
    ['alpha', 'instruction', 0, 64],
  ]);
  const s2 = seeded(2, [
    ['id', 'id', 16, 64],
    ['alpha', 'instruction', 0, 64],
  ]);
  const s3 = seeded(3, [['id', 'id', 48, 64]]);
  const other = seeded(1, [['id', 'id', 10, 64]], 'SFT chain-of-thought', 'cot');
  const m = buildMatrix([s1, other, s2, s3], 'sokoban');

  it('puts the seeds of one method in one row and aggregates each cell over the seeds that have it', () => {
    expect(m.rows.map((r) => [r.label, r.runIds, r.seeds])).toEqual([
      ['SFT answer-only', [s1.id, s2.id, s3.id], [1, 2, 3]],
      ['SFT chain-of-thought', [other.id], [1]],
    ]);
    const [id, alpha] = m.cells[0]!;
    expect(id).toMatchObject({ successes: 96, problems: 192, rate: 0.5, seeds: 3 });
    expect(id!.ci).toEqual(clusteredInterval([s1, s2, s3].map((r) => r.suiteResults![0]!)).ci);
    expect(id!.perSeed.map((p) => [p.seed, p.runId, p.successes, p.problems])).toEqual([
      [1, s1.id, 32, 64],
      [2, s2.id, 16, 64],
      [3, s3.id, 48, 64],
    ]);
    // Seed 3 was not evaluated on 'alpha': that cell is over two seeds.
    expect(alpha).toMatchObject({ successes: 0, problems: 128, rate: 0, seeds: 2 });
    expect(m.cells[1]![0]).toMatchObject({ successes: 10, problems: 64, seeds: 1 });
  });

  it('keeps a repeated seed and a same-named run of other settings in rows of their own', () => {
    const again = seeded(2, [['id', 'id', 1, 64]]);
    const renamedSettings = seeded(4, [['id', 'id', 1, 64]], 'SFT answer-only', 'cot');
    const rows = buildMatrix([s1, s2, again, renamedSettings], 'sokoban').rows;
    expect(rows.map((r) => r.runIds)).toEqual([[s1.id, s2.id], [again.id], [renamedSettings.id]]);
  });

  it('writes mean, interval, seeds, episodes and the per-seed counts to the CSV and the JSON', () => {
    const records = parseCsv(matrixToCsv(m));
    const col = (name: (typeof MATRIX_CSV_HEADER)[number]) => MATRIX_CSV_HEADER.indexOf(name);
    const first = records[1]!;
    expect(first.slice(0, 3)).toEqual(['SFT answer-only', 'id', 'id']);
    expect(Number(first[col('mean')])).toBe(0.5);
    expect(Number(first[col('ci_low')])).toBeCloseTo(wilsonInterval(6, 12)[0], 6);
    expect(Number(first[col('ci_high')])).toBeCloseTo(wilsonInterval(6, 12)[1], 6);
    expect([first[col('seeds')], first[col('episodes')], first[col('successes')]]).toEqual(['3', '192', '96']);
    expect(Number(first[col('design_effect')])).toBeCloseTo(16, 6);
    expect(first[col('run_ids')]).toBe(`${s1.id} ${s2.id} ${s3.id}`);
    expect(first[col('per_seed')]).toBe('seed 1: 32/64; seed 2: 16/64; seed 3: 48/64');
    const doc = JSON.parse(matrixToJson(m)) as MatrixJson;
    expect(doc.rows[0]).toMatchObject({ runIds: [s1.id, s2.id, s3.id], seeds: [1, 2, 3], name: 'SFT answer-only' });
    const cell = doc.cells[0]!;
    expect([cell.mean, cell.seeds, cell.episodes, cell.successes]).toEqual([0.5, 3, 192, 96]);
    expect([cell.ciLow, cell.ciHigh]).toEqual(m.cells[0]![0]!.ci);
    expect(cell.perSeed.map((p) => p.episodes)).toEqual([64, 64, 64]);
  });

  it('renders the Markdown table of the report: mean [low, high] · seeds × episodes', () => {
    const md = matrixToMarkdown(m);
    const [lo, hi] = wilsonInterval(6, 12).map((x) => x.toFixed(2));
    expect(md).toContain(
      `| SFT answer-only | 1, 2, 3 | 0.50 [${lo}, ${hi}] · 3 × 64 | 0.00 [0.00, ${wilsonInterval(0, 128)[1].toFixed(2)}] · 2 × 64 |`,
    );
    expect(md).toContain('| SFT chain-of-thought | 1 | 0.16 [');
    expect(md.split('\n')[0]).toBe('| method | seeds | id (id) | alpha (instruction) |');
  });
});

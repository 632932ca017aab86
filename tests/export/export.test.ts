/**
 * The export as a whole: the TRL config mapping round-trips every RL and SFT option and names the ones TRL lacks;
 * the zip writer's archives read back with python3's zipfile (names, bytes, CRC-32); an export of one run per task
 * writes consistent files (JSONL rows and the dataset card's counts, GRPO prompts in the run's draw order), its
 * Python compiles (py_compile) and its rewards.py, reading the export's own reward_config.json, scores the SFT
 * completions as the TypeScript verifier does; the CLI's input reading refuses corrupt files with a clear message.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  GRPO_OPTIONS,
  grpoConfigFor,
  rlConfigFromGrpo,
  sftConfigFor,
  sftFromTrl,
  TRL_VERSION,
} from '../../src/export/trl_config';
import { buildTrlExport, PYTHON_FILES } from '../../src/export/trl_export';
import { crc32, zipStore } from '../../src/export/zip';
import { ExportError, parseExportArgs, readExportSource } from '../../src/headless/export_cli';
import { exportRunFile } from '../../src/runs/run_file';
import type { RunRecord } from '../../src/runs/run_record';
import { buildSftSet } from '../../src/tasks/datasets';
import { getTask, type TaskId } from '../../src/tasks/index';
import { rlPromptsAt } from '../../src/train/grpo';
import {
  DEFAULT_RL_CONFIG,
  DEFAULT_RUN_CONFIG,
  type RlConfig,
  type RunConfig,
  taskConfigFor,
} from '../../src/train/run_config';
import { createRng } from '../../src/util/rng';
import { python, removeTempDirs, tempDir } from './python';

afterAll(removeTempDirs);

/** Dotted paths of the leaves of a plain object ('loss.epsilon'); `stopAt` paths count as one leaf. */
function leafPaths(o: Record<string, unknown>, stopAt: string[], prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => {
    const path = prefix + k;
    if (stopAt.includes(path) || typeof v !== 'object' || v === null || Array.isArray(v)) return [path];
    return leafPaths(v as Record<string, unknown>, stopAt, `${path}.`);
  });
}

function randomRl(seed: number): RlConfig {
  const r = createRng(seed);
  const pick = <T>(xs: readonly T[]) => xs[r.int(xs.length)]!;
  const levels = pick([[], ['short'], ['short', 'medium', 'long'], ['long', 'short']] as const);
  return {
    steps: 1 + r.int(5000),
    promptsPerStep: Math.max(levels.length, 1 + r.int(16)),
    generationsPerPrompt: 2 + r.int(30),
    learningRate: r.next() * 1e-3 + 1e-7,
    gradClipNorm: r.next() * 5,
    temperature: 1,
    maxCompletionTokens: 1 + r.int(1024),
    loss: {
      lossType: pick(['grpo', 'dr_grpo', 'dapo'] as const),
      epsilon: r.next() * 0.5,
      epsilonHigh: r.next(),
      beta: pick([0, 0.001, r.next()]),
      maskTruncatedCompletions: r.next() < 0.5,
    },
    numIterations: 1 + r.int(4),
    scaleRewards: pick(['group', 'batch', 'none'] as const),
    stdFloor: r.next() * 1e-3,
    reward: {
      formatReward: r.next(),
      lengthPenalty: pick(['none', 'budget', 'group'] as const),
      lambda: r.next() * 3,
      budgets: { short: 1 + r.int(10), medium: 11 + r.int(10), long: 21 + r.int(100) },
    },
    levels: [...levels],
    evalEverySteps: pick([0, 1 + r.int(100)]),
    checkpointEverySteps: 1 + r.int(100),
  };
}

describe('TRL config mapping', () => {
  it(`round-trips every RL option through GRPOConfig fields (TRL ${TRL_VERSION}) and names what TRL lacks`, () => {
    const mapped = new Set(GRPO_OPTIONS.map((o) => o.option));
    expect(leafPaths({ ...DEFAULT_RL_CONFIG }, ['reward', 'levels']).sort()).toEqual([...mapped].sort());
    for (let seed = 0; seed < 200; seed++) {
      const rl = randomRl(seed);
      const run: RunConfig = { ...DEFAULT_RUN_CONFIG, seed, rl };
      const m = JSON.parse(JSON.stringify(grpoConfigFor(run)));
      expect(rlConfigFromGrpo(m)).toEqual(rl);
      expect(m.config.num_generations).toBe(rl.generationsPerPrompt);
      expect(m.config.per_device_train_batch_size).toBe(rl.promptsPerStep * rl.generationsPerPrompt);
      expect(m.config.epsilon_high).toBe(rl.loss.epsilonHigh);
      expect(m.config.loss_type).toBe(rl.loss.lossType);
      expect(m.config.eval_strategy).toBe(rl.evalEverySteps === 0 ? 'no' : 'steps');
      expect(Object.keys(m.unmapped).sort()).toEqual(['levels', 'reward', 'stdFloor']);
      const sft = { ...DEFAULT_RUN_CONFIG.sft, steps: 1 + seed, evalLossEverySteps: seed % 3 === 0 ? 0 : seed };
      const s = JSON.parse(JSON.stringify(sftConfigFor({ ...run, sft })));
      expect(sftFromTrl(s)).toEqual({ ...sft, lengthTags: null });
    }
  });
});

describe('zip writer', () => {
  it('computes the standard CRC-32 and writes archives python3 zipfile reads back byte for byte', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array())).toBe(0);
    const binary = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7919) & 0xff);
    const entries = [
      { name: 'README.md', data: '# hi\n' },
      { name: 'empty.txt', data: '' },
      { name: 'sft/train.jsonl', data: '{"prompt":"1+1=","completion":"<answer>2</answer><eos>"}\n' },
      { name: 'data/bin.dat', data: binary },
      { name: 'ünïcode/√.txt', data: 'board √ ok' },
    ];
    const zip = zipStore(entries);
    expect(zipStore(entries)).toEqual(zip); // deterministic
    const dir = tempDir('stoptime-zip-');
    writeFileSync(join(dir, 'a.zip'), zip);
    const out = python(
      [
        '-c',
        [
          'import zipfile, json, hashlib, sys',
          'z = zipfile.ZipFile(sys.argv[1])',
          'assert z.testzip() is None',
          'print(json.dumps([[i.filename, i.compress_type, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]))',
        ].join('\n'),
        join(dir, 'a.zip'),
      ],
      dir,
    );
    const sha = (d: Uint8Array | string) => createHash('sha256').update(d).digest('hex');
    expect(JSON.parse(out)).toEqual(entries.map((e) => [e.name, 0, sha(e.data)]));
    expect(() => zipStore([{ name: '../x', data: '' }])).toThrow(/bad entry name/);
    expect(() => zipStore([{ name: '/x', data: '' }])).toThrow(/bad entry name/);
    expect(() =>
      zipStore([
        { name: 'a', data: '' },
        { name: 'a', data: '' },
      ]),
    ).toThrow(/appears twice/);
  });
});

function smallRun(task: TaskId): RunConfig {
  return {
    ...DEFAULT_RUN_CONFIG,
    seed: 3,
    task: { ...DEFAULT_RUN_CONFIG.task, id: task, instructions: task === 'arithmetic' ? 'fixed' : 'diverse' },
    sft: { ...DEFAULT_RUN_CONFIG.sft, trainSize: 60, batchSize: 8, lengthTags: { shortBelow: 20, longFrom: 40 } },
    eval: { size: 12, variant: 'id', seed: 1000, lengthTag: 'short' },
    rl: {
      ...DEFAULT_RL_CONFIG,
      steps: 4,
      promptsPerStep: 3,
      reward: { ...DEFAULT_RL_CONFIG.reward, lengthPenalty: 'group' },
    },
  };
}

describe('an export of one run per task', () => {
  for (const task of ['arithmetic', 'general_points', 'sokoban'] as const) {
    it(`${task}: files, rows, card, compiled Python, rewards on the SFT completions`, () => {
      const run = smallRun(task);
      const files = buildTrlExport({ name: `export-${task}`, config: run }, { suiteSize: 6 });
      const byPath = new Map(files.map((f) => [f.path, f.text]));
      const rows = (path: string) =>
        byPath
          .get(path)!
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      const t = getTask(task);
      expect(files.map((f) => f.path)).toEqual(
        expect.arrayContaining([
          'README.md',
          'dataset_card.md',
          'sft/train.jsonl',
          'grpo/train.jsonl',
          'grpo/eval.jsonl',
          ...t.variants.map((v) => `heldout/${v}.jsonl`),
        ]),
      );
      // GRPO prompts: the run's own, in draw order.
      const grpo = rows('grpo/train.jsonl');
      const drawn = [0, 1, 2, 3].flatMap((s) => rlPromptsAt(run, s).map((i) => i.prompt));
      expect(grpo.map((r) => r.prompt)).toEqual(drawn);
      expect(new Set(grpo.map((r) => r.level))).toEqual(new Set(['short', 'medium', 'long']));
      expect(rows('grpo/eval.jsonl').every((r) => (r.prompt as string).startsWith('<short>'))).toBe(true);
      expect(rows('sft/train.jsonl')).toHaveLength(60);
      const card = byPath.get('dataset_card.md')!;
      for (const f of files.filter((f) => f.path.endsWith('.jsonl')))
        expect(card).toContain(`| \`${f.path}\` | ${rows(f.path).length} |`);
      const readme = byPath.get('README.md')!;
      expect(readme).toContain(TRL_VERSION);
      expect(readme).toContain('accelerate launch train_grpo.py');
      for (const option of ['stdFloor', 'reward', 'levels', 'trainSize', 'samplesEverySteps', 'lengthTags'])
        expect(readme).toContain(`\`${option}\` = `);
      const config = JSON.parse(byPath.get('grpo_config.json')!);
      expect(config.num_generations).toBe(run.rl!.generationsPerPrompt);
      expect(JSON.parse(byPath.get('reward_config.json')!)).toMatchObject({ task, length_penalty: 'group' });

      const dir = tempDir(`stoptime-export-${task}-`);
      for (const f of files) {
        mkdirSync(dirname(join(dir, f.path)), { recursive: true });
        writeFileSync(join(dir, f.path), f.text);
      }
      python(['-m', 'py_compile', ...Object.keys(PYTHON_FILES)], dir);
      // The SFT completions, scored by the export's rewards.py with its own config, as the TS verifier scores them.
      const scored = JSON.parse(
        python(
          [
            '-c',
            [
              'import json, rewards, stopping, train_sft',
              'rows = [json.loads(l) for l in open("sft/train.jsonl")]',
              'cols = {k: [r.get(k) for r in rows] for k in rows[0]}',
              'c = [r["completion"] for r in rows]',
              'print(json.dumps([rewards.CONFIG, rewards.correctness_reward(c, **cols), rewards.format_reward(c, **cols),',
              '  stopping.torch is None]))',
            ].join('\n'),
          ],
          dir,
        ),
      );
      expect(scored[0]).toMatchObject({ task, target_style: 'cot', format_reward: run.rl!.reward.formatReward });
      const sft = rows('sft/train.jsonl');
      // Each SFT row's problem, rebuilt by the same builder, verifies its completion alike.
      const samples = buildSftSet({
        task,
        size: 60,
        seed: run.seed,
        config: taskConfigFor(run),
        style: 'cot',
        instructions: run.task.instructions,
        lengthTags: run.sft.lengthTags ?? null,
      });
      expect(scored[1]).toEqual(samples.map((s) => (t.verify(s.problem, s.target).correct ? 1 : 0)));
      expect(scored[2]).toEqual(sft.map(() => run.rl!.reward.formatReward));
      expect(scored[3]).toBe(true); // stopping.py imports without torch
    });
  }
});

function runRecord(config: RunConfig): RunRecord {
  return {
    id: 'abc123',
    name: 'exported run',
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    config,
    status: 'finished',
    adapter: 'CPU reference',
    stepsDone: 0,
    timeline: [],
    evalPoints: [],
    samples: null,
    checkpointStep: null,
  };
}

describe('npm run export input', () => {
  it('reads run files and experiment files, and refuses corrupt ones saying why', () => {
    const run = runRecord(smallRun('arithmetic'));
    const { json } = exportRunFile(run, null, 'inline');
    expect(readExportSource('run.json', json)).toEqual({ name: 'exported run', config: run.config });
    const experiment = JSON.stringify({ name: 'exp', out: 'x.json', config: { seed: 9 } });
    expect(readExportSource('e.json', experiment).config.seed).toBe(9);
    const bad = (text: string) => () => readExportSource('bad.json', text);
    expect(bad('{"format": "stoptime-run", "schemaVersion": 1')).toThrow(/bad\.json: not valid JSON/);
    expect(bad('[1, 2]')).toThrow(ExportError);
    const corrupt = JSON.parse(json);
    corrupt.run.config.sft.batchSize = -4;
    expect(bad(JSON.stringify(corrupt))).toThrow(/bad\.json: .*batchSize/);
    expect(bad(JSON.stringify({ name: 'x', config: { seed: 'one' } }))).toThrow(/neither a run file .*config\.seed/s);
    expect(bad(JSON.stringify({ name: 'm', matrix: { task: 'arithmetic' } }))).toThrow(/matrix preset/);
    expect(parseExportArgs(['r.json', '--out', 'o', '--rl-steps', '5'])).toMatchObject({
      file: 'r.json',
      out: 'o',
      rlSteps: 5,
    });
    expect(() => parseExportArgs(['r.json'])).toThrow(/usage/);
    expect(() => parseExportArgs(['r.json', '--out', 'o', '--rl-steps', '0'])).toThrow(/positive integer/);
    expect(() => parseExportArgs(['r.json', '--out', 'o', '--bogus'])).toThrow(/unknown option --bogus/);
  });
});

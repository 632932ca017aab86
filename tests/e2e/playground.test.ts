/**
 * The playground end to end in real headless Chromium with WebGPU (SwiftShader where there is no GPU), driven as a
 * newcomer would: open the app with a small config in the URL, train a few steps and see the loss update, drag the
 * temperature slider and see a new chart point, run a TS sweep, compute the oracle frontier (cancelled once, then to
 * the end, drawn on the chart), export the run (and, for TRL, as a zip) and import it back (and a broken file
 * changes nothing), continue it with a one-step RL stage and see its rollouts, reload mid-training and resume, stop a run while it is still starting. A long-task observer checks that the main thread stays responsive while
 * training and during the oracle frontier (no task over 100 ms, at most one over 50 ms: expectResponsive). The generalization lab: run files with suite results (scored by scripted planners) in the
 * results matrix, an episode stepped to its end, CSV export, a saved run's suites evaluated through the worker, and a
 * lab method queued and cancelled. Then the same app in a browser without WebGPU: a banner, and training on the CPU
 * backend.
 * Screenshots go to test-results/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initParams } from '../../src/model/params';
import { exportRunFile, parseRunFile } from '../../src/runs/run_file';
import type { RunRecord } from '../../src/runs/run_record';
import { configToHash } from '../../src/state/url';
import { getTask } from '../../src/tasks/index';
import { parseBoard, solve as solveSokoban } from '../../src/tasks/sokoban';
import { labConfig } from '../../src/train/lab_presets';
import { DEFAULT_RL_CONFIG, DEFAULT_RUN_CONFIG, modelConfigFor, type RunConfig } from '../../src/train/run_config';
import { evaluateSuitesWith, textPolicy } from '../../src/train/suites';
import { TEMPERATURE_STOPS } from '../../src/ui/scales';
import { type App, deprioritiseSoftwareGpu, launchChromium, serveApp, watchProblems } from './browser';

let app: App;
let browser: Browser;
let stopDeprioritising: () => void = () => {};

/** Small enough for a software adapter: the tiny model, 1-digit arithmetic, 4 evaluation problems, short decodes. */
const CONFIG: RunConfig = {
  ...DEFAULT_RUN_CONFIG,
  seed: 7,
  task: { ...DEFAULT_RUN_CONFIG.task, arithmeticMaxDigits: 1, arithmeticMaxThinkTokens: 24 },
  model: { size: 'tiny' },
  sft: {
    ...DEFAULT_RUN_CONFIG.sft,
    steps: 4,
    batchSize: 2,
    trainSize: 64,
    evalLossEverySteps: 2,
    samplesEverySteps: 0,
    checkpointEverySteps: 2,
  },
  eval: { ...DEFAULT_RUN_CONFIG.eval, size: 4 },
  decode: { ...DEFAULT_RUN_CONFIG.decode, maxNewTokens: 10 },
};

/**
 * Main-thread responsiveness while the workers compute: no task over LONG_TASK_HARD_MS, and at most one over
 * LONG_TASK_MS (the Long Tasks API's threshold). The one allowed is for a busy machine: a 10–15 ms chart update that the
 * scheduler preempts (other processes, or the software GPU's threads on the same cores) stretches past 50 ms of wall
 * time now and then (58 ms once in CI-like runs with a core kept busy). Work moved back onto the main thread, a chart
 * update that really takes 60 ms every step or a blocking computation, gives many such tasks or a long one.
 */
const LONG_TASK_MS = 50;
const LONG_TASK_HARD_MS = 100;

/** Asserts the responsiveness rule above for the long tasks that started in [fromMs, toMs]. */
function expectResponsive(
  tasks: { startMs: number; durationMs: number }[],
  fromMs: number,
  toMs: number,
  what: string,
) {
  const during = tasks.filter((t) => t.startMs >= fromMs && t.startMs <= toMs && t.durationMs > LONG_TASK_MS);
  expect(
    during.filter((t) => t.durationMs > LONG_TASK_HARD_MS),
    `main-thread tasks over ${LONG_TASK_HARD_MS} ms ${what}`,
  ).toEqual([]);
  expect(
    during.length,
    `main-thread tasks over ${LONG_TASK_MS} ms ${what}: ${JSON.stringify(during)}`,
  ).toBeLessThanOrEqual(1);
}

beforeAll(async () => {
  app = await serveApp('dist-e2e/playground');
  browser = await launchChromium({ webgpu: true });
  stopDeprioritising = deprioritiseSoftwareGpu();
}, 120_000);

afterAll(async () => {
  stopDeprioritising();
  await browser?.close();
  await app?.close();
});

/** Records main-thread long tasks (the Long Tasks API reports every task over 50 ms) from page load on. */
async function observeLongTasks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { longTasks: { startMs: number; durationMs: number }[] };
    w.longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longTasks.push({ startMs: e.startTime, durationMs: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
}

const longTasks = (page: Page) =>
  page.evaluate(() => (window as unknown as { longTasks: { startMs: number; durationMs: number }[] }).longTasks);
const now = (page: Page) => page.evaluate(() => performance.now());
const int = async (page: Page, testId: string) => Number((await page.getByTestId(testId).textContent())?.trim());
const runRows = (page: Page) => page.getByTestId('run-row').count();

describe('the playground in Chromium with WebGPU', () => {
  it('trains live, evaluates on slider changes and sweeps, exports and imports runs, and stays responsive', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    const problems = watchProblems(page);
    await observeLongTasks(page);
    await page.goto(`${app.url}${configToHash(CONFIG)}`);
    await expect.poll(() => page.getByTestId('backend-badge').textContent(), { timeout: 30_000 }).toMatch(/WebGPU/);
    expect(await page.getByTestId('cpu-banner').count()).toBe(0);

    // Each Start is enabled by its own settings, the reason next to it: invalid RL settings (0 prompts a step) block
    // Start RL, not Start. A batch over the adapter's binding limit is named while it is typed: the medium model's
    // largest activation is batch × 256 tokens × 768 floats, so the largest batch is limit / 786432 bytes.
    await page.getByTestId('rl-prompts').fill('0');
    await expect.poll(() => page.getByTestId('rl-start').isEnabled()).toBe(false);
    expect(await page.getByTestId('train-start').isEnabled()).toBe(true);
    expect(await page.getByTestId('train-start-reason').count()).toBe(0);
    const limitBytes = Number(await page.getByTestId('binding-limit').getAttribute('data-bytes'));
    const largestBatch = Math.floor(limitBytes / (256 * 768 * 4));
    console.log(`e2e: maxStorageBufferBindingSize ${limitBytes} bytes: medium batches up to ${largestBatch}`);
    expect(largestBatch).toBeGreaterThan(0);
    await page.getByTestId('model-size').selectOption('medium');
    // Every batch the schema allows (≤ 1024) may fit a large binding; then the largest one must pass.
    const overBatch = Math.min(largestBatch + 1, 1024);
    await page.getByTestId('batch-size').fill(String(overBatch));
    if (overBatch > largestBatch) {
      await expect
        .poll(() => page.getByTestId('train-start-reason').textContent())
        .toMatch(new RegExp(`^Batch size: .*maxStorageBufferBindingSize.*at most ${largestBatch}$`));
      expect(await page.getByTestId('train-start').isEnabled()).toBe(false);
      await page.getByTestId('batch-size').fill(String(largestBatch));
    }
    await expect.poll(() => page.getByTestId('train-start-reason').count()).toBe(0);
    await page.getByTestId('batch-size').fill(String(CONFIG.sft.batchSize));
    await page.getByTestId('model-size').selectOption(CONFIG.model.size);
    await page.getByTestId('rl-prompts').fill(String(DEFAULT_RL_CONFIG.promptsPerStep));
    await expect.poll(() => page.getByTestId('train-start').isEnabled()).toBe(true);
    // The temperature slider spans the schema's range (0 to 10).
    expect(await page.getByTestId('temperature-slider').getAttribute('max')).toBe(String(TEMPERATURE_STOPS.length - 1));

    // Train: the step counter and the loss update live, and the run finishes.
    const trainStartMs = await now(page);
    await page.getByTestId('train-start').click();
    await expect.poll(() => int(page, 'step-counter'), { timeout: 120_000 }).toBeGreaterThanOrEqual(1);
    console.log(`e2e: first step shown ${((await now(page)) - trainStartMs).toFixed(0)} ms after Start`);
    const firstLoss = Number(await page.getByTestId('train-loss').textContent());
    // ln(98) ≈ 4.58 for an untrained model over the 98-token vocabulary.
    expect(firstLoss).toBeGreaterThan(2);
    expect(firstLoss).toBeLessThan(6);
    await expect.poll(() => page.getByTestId('train-state').textContent(), { timeout: 180_000 }).toMatch(/finished/);
    expect(await int(page, 'step-counter')).toBe(CONFIG.sft.steps);
    const trainEndMs = await now(page);
    expectResponsive(await longTasks(page), trainStartMs, trainEndMs, 'while training');

    // Decode: one slider move gives one new chart point.
    const before = await int(page, 'eval-point-count');
    const slider = page.getByTestId('temperature-slider');
    await slider.focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => int(page, 'eval-point-count'), { timeout: 120_000 }).toBe(before + 1);

    // A TS sweep adds one point per τ.
    await page.getByTestId('sweep-ts').click();
    await expect.poll(() => int(page, 'eval-point-count'), { timeout: 300_000 }).toBeGreaterThanOrEqual(before + 6);
    await expect.poll(() => page.getByTestId('eval-busy').count(), { timeout: 60_000 }).toBe(0);
    const points = await int(page, 'eval-point-count');

    // The oracle frontier from the button under the chart, with answers of at most 6 tokens (one-digit sums need
    // about 5). A first try on 16 problems (about five batches of truncations) is cancelled once its progress shows rows
    // (the own traces are done) and saves nothing; the second, on the evaluation set's problems, runs to the end: the frontier is drawn on the
    // chart, its summary and each method's gap to it appear under it.
    const oracleStartMs = await now(page);
    const computeOracle = page.getByTestId('oracle-compute');
    await expect.poll(() => computeOracle.isEnabled(), { timeout: 30_000 }).toBe(true);
    await page.getByTestId('oracle-answer-tokens').fill('6');
    await page.getByTestId('oracle-problems').fill('16');
    await computeOracle.click();
    await expect
      .poll(() => page.getByTestId('oracle-progress-text').textContent(), { timeout: 60_000 })
      .toMatch(/^16 \/ \d+ rows$/);
    expect(await computeOracle.isEnabled()).toBe(false);
    await page.getByTestId('oracle-cancel').click();
    await expect.poll(() => page.getByTestId('oracle-progress').count(), { timeout: 60_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('toast').textContent(), { timeout: 10_000 }).toMatch(/cancelled/);
    expect(await page.getByTestId('oracle-summary').count()).toBe(0);
    const cancelledMs = await now(page);
    await page.getByTestId('oracle-problems').fill(String(CONFIG.eval.size));
    await computeOracle.click();
    await expect.poll(() => page.getByTestId('oracle-summary').count(), { timeout: 120_000 }).toBe(1);
    const frontierLegend = page.locator('.recharts-legend-item-text', { hasText: 'oracle frontier' });
    await expect.poll(() => frontierLegend.count(), { timeout: 10_000 }).toBe(1);
    expect(await page.getByTestId('oracle-gap-row').count()).toBeGreaterThanOrEqual(1);
    const oracleEndMs = await now(page);
    console.log(
      `e2e: oracle frontier: cancelled try ${(cancelledMs - oracleStartMs).toFixed(0)} ms, full run ${(oracleEndMs - cancelledMs).toFixed(0)} ms`,
    );
    expectResponsive(await longTasks(page), oracleStartMs, oracleEndMs, 'during the oracle frontier');
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/e2e-playground.png', fullPage: true });

    // Export: one JSON file with the config, the evaluation points and the weights, here with the AdamW moments too
    // (exact resume anywhere); it parses with the importer.
    await page.getByTestId('export-moments').check();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-run').click()]);
    const exported = 'test-results/e2e-export.stoptime.json';
    await download.saveAs(exported);
    const text = readFileSync(exported, 'utf8');
    const parsed = parseRunFile(text);
    // The RL fields edited (and restored) above are part of the config now, at their defaults.
    expect(parsed.run.config).toEqual({ ...CONFIG, rl: DEFAULT_RL_CONFIG });
    expect(parsed.run.evalPoints).toHaveLength(points);
    expect(parsed.run.stepsDone).toBe(CONFIG.sft.steps);
    expect(parsed.run.oracle).toMatchObject({ step: CONFIG.sft.steps, answerTokens: 6, summary: { problems: 4 } });
    expect(parsed.checkpoint?.params.length).toBeGreaterThan(0);
    expect([parsed.checkpoint?.m?.length, parsed.checkpoint?.v?.length]).toEqual([
      parsed.checkpoint?.params.length,
      parsed.checkpoint?.params.length,
    ]);

    // Export for TRL: a zip built in a worker; its entries read back with python3's zipfile, one JSONL line parsed.
    const [trlZip] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-trl').first().click()]);
    const zipPath = 'test-results/e2e-export-trl.zip';
    await trlZip.saveAs(zipPath);
    const listed = spawnSync(
      'python3',
      [
        '-c',
        'import sys,json,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(json.dumps([z.namelist(), z.read("grpo/train.jsonl").decode().split(chr(10))[0]]))',
        zipPath,
      ],
      { encoding: 'utf8' },
    );
    const [names, firstRow] = JSON.parse(listed.stdout) as [string[], string];
    expect(names).toEqual(
      expect.arrayContaining(['README.md', 'sft/train.jsonl', 'rewards.py', 'stopping.py', 'grpo_config.json']),
    );
    expect(JSON.parse(firstRow)).toMatchObject({ prompt: expect.stringMatching(/=$/), answer: expect.any(String) });

    // Import it back: a new run appears. A broken file gives a clear error and changes nothing stored.
    const rows = await runRows(page);
    await page.getByTestId('import-run').setInputFiles(exported);
    await expect.poll(() => runRows(page), { timeout: 30_000 }).toBe(rows + 1);
    const broken = 'test-results/e2e-broken.stoptime.json';
    writeFileSync(broken, text.slice(0, Math.floor(text.length / 2)));
    await page.getByTestId('import-run').setInputFiles(broken);
    await expect.poll(() => page.getByTestId('error-box').textContent(), { timeout: 30_000 }).toMatch(/JSON/i);
    expect(await runRows(page)).toBe(rows + 1);

    // RL stage (GRPO / TLDR) on the imported run, from its checkpoint, with a tiny config typed into the RL panel:
    // its one step continues the run's timeline after the SFT steps, and the viewer lists the G = 2 rollouts.
    for (const [testId, value] of [
      ['rl-steps', '1'],
      ['rl-prompts', '3'],
      ['rl-generations', '2'],
      ['rl-max-tokens', '12'],
      ['rl-samples-every', '0'],
    ] as const) {
      await page.getByTestId(testId).fill(value);
    }
    const rlStart = page.getByTestId('rl-start');
    await expect.poll(() => rlStart.isEnabled(), { timeout: 30_000 }).toBe(true);
    await rlStart.click();
    await expect.poll(() => int(page, 'step-counter'), { timeout: 120_000 }).toBe(CONFIG.sft.steps + 1);
    await expect.poll(() => page.getByTestId('train-state').textContent(), { timeout: 60_000 }).toMatch(/finished/);
    const reward = Number(await page.getByTestId('rl-reward').textContent());
    // Correctness (0 or 1) + format reward 0.1 − a length penalty of at most λ·(12 − 1)/1 tokens over a budget.
    expect(Number.isFinite(reward)).toBe(true);
    expect(reward).toBeLessThanOrEqual(1.1);
    await expect.poll(() => page.getByTestId('rollout-completion').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.getByTestId('rollout-viewer').textContent()).toMatch(/advantage/);
    // A run has one RL stage: Start RL is now disabled, and says why.
    expect(await page.getByTestId('rl-start').isEnabled()).toBe(false);
    expect(await page.getByTestId('rl-start-reason').textContent()).toMatch(/RL stage/i);
    await page.screenshot({ path: 'test-results/e2e-rl.png', fullPage: true });

    // After a reload the runs are still there (IndexedDB), the broken import included nowhere.
    await page.reload();
    await expect.poll(() => runRows(page), { timeout: 30_000 }).toBe(rows + 1);
    expect(problems).toEqual([]);
    await page.close();
  }, 600_000);

  it('shows the suite results of a run in the generalization matrix, steps through an episode, exports CSV; queues and cancels a lab method', async () => {
    // A run whose suite results come from the real episode loop and verifier, driven by a scripted planner (no model
    // is trained here: that is what the lab queue does, minutes on a software adapter). The planner reads the board
    // from the prompt, solves it and answers in the training vocabulary: it solves 'id' and the fake variant (whose
    // environment keeps the training names) and fails 'numeric' (which accepts only the numbers it states).
    const config = labConfig('sokoban', 'answer', 'smoke');
    /** Answers the optimal action: in the training vocabulary, or (`followPrompt`) by the name the prompt maps it to. */
    const planner = (followPrompt: boolean) =>
      textPolicy((prompt) => {
        const cut = prompt.lastIndexOf('\n');
        const action = solveSokoban(parseBoard(prompt.slice(0, cut)))?.[0] ?? 'Up';
        // The action line: `act Up,Down,Left,Right:` or `act 1=Up,2=Down,3=Left,4=Right:`.
        const named = prompt
          .slice(cut + 5, -1)
          .split(',')
          .map((pair) => pair.split('='))
          .find((pair) => pair.length === 2 && pair[1] === action);
        return `<answer>${followPrompt && named ? named[0] : action}</answer><eos>`;
      });
    const suites = ['id', 'numeric', 'fake_numeric'];
    mkdirSync('test-results', { recursive: true });
    const files: string[] = [];
    const results: Record<string, Awaited<ReturnType<typeof evaluateSuitesWith>>> = {};
    for (const [name, follow] of [
      ['training names', false],
      ['follows the prompt', true],
    ] as const) {
      const suiteResults = await evaluateSuitesWith(planner(follow), config, { size: 2, seed: 5, variants: suites });
      results[name] = suiteResults;
      const t = Date.now();
      const run: RunRecord = {
        ...{ id: `e2e-${files.length}`, name, config, status: 'finished' },
        // Distinct creation times; a run is never updated before it was created.
        ...{ createdAt: t + files.length, updatedAt: t + files.length },
        ...{
          adapter: 'scripted policy',
          stepsDone: 0,
          timeline: [],
          evalPoints: [],
          samples: null,
          checkpointStep: null,
        },
        suiteResults,
      };
      const file = `test-results/e2e-lab-${files.length}.stoptime.json`;
      writeFileSync(file, exportRunFile(run, null, 'inline').json);
      files.push(file);
    }

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
    const problems = watchProblems(page);
    await page.goto(app.url);
    await expect.poll(() => page.getByTestId('backend-badge').textContent(), { timeout: 30_000 }).toMatch(/WebGPU/);
    // Both run files in one import: two rows.
    await page.getByTestId('import-run').setInputFiles(files);
    const cells = page.getByTestId('matrix-cell');
    await expect.poll(() => cells.count(), { timeout: 30_000 }).toBe(2 * suites.length);
    // Columns: id, then the instruction variant, then fake; each cell shows its count. The paper's fake-variant
    // reading: answering in the training vocabulary passes `fake_numeric` and fails `numeric`; following the prompt
    // does the opposite.
    const counts = await cells.evaluateAll((els) => els.map((e) => e.querySelector('.cell-count')?.textContent));
    const want = (name: string) =>
      suites.map((suite) => {
        const r = results[name]!.find((x) => x.suite === suite)!;
        return `${r.successes}/${r.problems}`;
      });
    expect(counts).toEqual([...want('training names'), ...want('follows the prompt')]);
    expect(counts).toEqual(['2/2', '0/2', '2/2', '2/2', '2/2', '0/2']);

    // A cell opens its sample episodes; the board viewer steps to the solved end.
    await cells.first().click();
    const details = page.getByTestId('matrix-details');
    await details.waitFor({ timeout: 10_000 });
    expect(await details.locator('svg').count()).toBeGreaterThan(0);
    await details.getByRole('button', { name: /last/i }).click();
    expect(await details.textContent()).toMatch(/✓ solved/);
    await page.screenshot({ path: 'test-results/e2e-lab.png', fullPage: true });

    // CSV export: a header and one line per (method, suite).
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-matrix-csv').click()]);
    const csvPath = 'test-results/e2e-matrix.csv';
    await csv.saveAs(csvPath);
    const lines = readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
    expect(lines).toHaveLength(1 + 2 * suites.length);
    expect(lines.slice(1).filter((l) => l.includes('follows the prompt'))).toHaveLength(suites.length);

    // Suites of a saved run with weights, through the worker: an untrained tiny model on arithmetic (the shortest
    // prompts: a generation call prefills its prompt token by token, which is what costs on a software adapter), one
    // problem per suite, 4 new tokens. Every suite gets a cell in the arithmetic matrix; the Sokoban rows stay.
    const arConfig: RunConfig = {
      ...CONFIG,
      task: { ...CONFIG.task, targetStyle: 'answer' },
      decode: { ...CONFIG.decode, maxNewTokens: 4 },
    };
    const params = initParams(modelConfigFor(arConfig));
    const t0 = Date.now();
    const arRun: RunRecord = {
      ...{
        id: 'e2e-arithmetic',
        name: 'untrained arithmetic',
        createdAt: t0,
        updatedAt: t0,
        config: arConfig,
        status: 'finished',
      },
      ...{ adapter: 'none', stepsDone: 0, timeline: [], evalPoints: [], samples: null, checkpointStep: 0 },
    };
    const arFile = 'test-results/e2e-lab-arithmetic.stoptime.json';
    writeFileSync(arFile, exportRunFile(arRun, { params, m: null, v: null, step: 0 }, 'inline').json);
    await page.getByTestId('import-run').setInputFiles(arFile);
    await expect
      .poll(() => page.getByTestId('lab-evaluate-run').textContent(), { timeout: 30_000 })
      .toMatch(/untrained arithmetic/);
    await page.getByTestId('lab-suite-size').fill('1');
    await expect.poll(() => page.getByTestId('lab-evaluate-run').isEnabled(), { timeout: 60_000 }).toBe(true);
    await page.getByTestId('lab-evaluate-run').click();
    await page.getByTestId('lab-evaluate-status').waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByTestId('lab-evaluate-status').count(), { timeout: 240_000 }).toBe(0);
    await page.getByTestId('matrix-task-arithmetic').click();
    const arVariants = getTask('arithmetic').variants;
    await expect.poll(() => cells.count(), { timeout: 10_000 }).toBe(arVariants.length);
    const arCounts = await cells.evaluateAll((els) => els.map((e) => e.querySelector('.cell-count')?.textContent));
    for (const c of arCounts) expect(c).toMatch(/^[01]\/1$/);
    await page.getByTestId('matrix-task-sokoban').click();
    await expect.poll(() => cells.count(), { timeout: 10_000 }).toBe(2 * suites.length);

    // The lab queue: one General Points method at smoke scale, cancelled while it starts; the queue ends the item as
    // cancelled and the playground can start a run again.
    await page.getByTestId('lab-task').selectOption('general_points');
    await page.getByTestId('lab-scale').selectOption('smoke');
    for (const m of ['diverse_answer', 'cot', 'diverse_cot', 'grpo'])
      await page.getByTestId(`lab-method-${m}`).uncheck();
    await page.getByTestId('lab-queue').click();
    await page.getByTestId('lab-cancel').click();
    await expect
      .poll(() => page.getByTestId('lab-item-0').getAttribute('data-status'), { timeout: 120_000 })
      .toBe('cancelled');
    await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 60_000 }).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);

  it('offers to resume a run interrupted by a reload, from its last checkpoint; a second tab sees it training', async () => {
    // One context: the two tabs below share a profile (IndexedDB, Web Locks).
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const problems = watchProblems(page);
    const config: RunConfig = { ...CONFIG, seed: 11, sft: { ...CONFIG.sft, steps: 40, checkpointEverySteps: 1 } };
    await page.goto(`${app.url}${configToHash(config)}`);
    await expect.poll(() => page.getByTestId('backend-badge').textContent(), { timeout: 30_000 }).toMatch(/WebGPU/);
    await page.getByTestId('train-start').click();
    await expect.poll(() => int(page, 'step-counter'), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
    await page.reload();
    const banner = page.getByTestId('interrupted-banner');
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.textContent()).toMatch(/interrupted/i);
    await page.getByTestId('resume-interrupted').click();
    // Resumes from the checkpoint (every step here), not from zero: the counter starts at ≥ 1 and keeps going.
    await expect.poll(() => page.getByTestId('train-state').textContent(), { timeout: 60_000 }).toMatch(/running/);
    const resumedAt = await int(page, 'step-counter');
    expect(resumedAt).toBeGreaterThanOrEqual(1);
    await expect.poll(() => int(page, 'step-counter'), { timeout: 120_000 }).toBeGreaterThan(resumedAt);
    // A second tab of the same profile sees the run as training elsewhere, not interrupted, and cannot start one.
    const other = await context.newPage();
    const otherProblems = watchProblems(other);
    await other.goto(`${app.url}${configToHash(config)}`);
    await expect.poll(() => other.getByTestId('backend-badge').textContent(), { timeout: 30_000 }).toMatch(/WebGPU/);
    await expect.poll(() => other.getByTestId('run-row').first().textContent(), { timeout: 30_000 }).toMatch(/running/);
    expect(await other.getByTestId('interrupted-banner').count()).toBe(0);
    await other.getByTestId('train-start').click();
    await expect
      .poll(() => other.getByRole('alert').allTextContents(), { timeout: 30_000 })
      .toContainEqual(expect.stringMatching(/Another tab is training/));
    expect(await page.getByTestId('train-state').textContent()).toMatch(/running/);
    expect(otherProblems).toEqual([]);
    await other.close();
    // Stop lands at the end of the step in progress (nothing is queued behind it on a slow adapter): the settings
    // come back within about one step's time.
    const stopAtMs = await now(page);
    await page.getByTestId('train-stop').click();
    await expect.poll(() => page.getByTestId('train-state').textContent(), { timeout: 60_000 }).toMatch(/stopped/);
    await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 60_000 }).toBe(true);
    const stopLatencyMs = (await now(page)) - stopAtMs;
    console.log(`e2e: Stop gave the settings back ${stopLatencyMs.toFixed(0)} ms after it was pressed`);
    expect(stopLatencyMs).toBeLessThan(20_000);

    // Stop pressed while a new run is still 'starting' is not lost: here Start waits for an evaluation in flight
    // before the train call goes to the worker. The run stops instead of training all its steps, and Start is
    // available again.
    await page.evaluate(async () => {
      const el = (id: string) => document.querySelector<HTMLButtonElement>(`[data-testid="${id}"]`);
      const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
      el('evaluate-now')!.click();
      for (let i = 0; i < 100 && el('eval-busy') === null; i++) await tick();
      if (el('eval-busy') === null) throw new Error('the evaluation did not start');
      el('train-start')!.click();
      await tick();
      if (el('train-stop')!.disabled) throw new Error('Stop is not enabled while the run starts');
      if (el('eval-busy') === null) throw new Error('the evaluation ended before Stop: nothing held the start');
      el('train-stop')!.click();
    });
    await expect
      .poll(() => page.getByTestId('train-state').textContent(), { timeout: 120_000 })
      .toMatch(/stopped|finished|error/);
    expect(await page.getByTestId('train-state').textContent()).toMatch(/stopped/);
    expect(await int(page, 'step-counter')).toBeLessThan(config.sft.steps);
    expect(await page.getByTestId('train-start').isEnabled()).toBe(true);
    expect(problems).toEqual([]);
    await context.close();
  }, 400_000);
});

describe('the playground as a newcomer opens it (no link)', () => {
  it('sizes the default run to the adapter: a run of about two minutes on SwiftShader, full size one click away', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems = watchProblems(page);
    const openedMs = Date.now();
    await page.goto(app.url);
    const notice = page.getByTestId('adapter-fit');
    await notice.waitFor({ timeout: 120_000 });
    console.log(`e2e: adapter timed ${Date.now() - openedMs} ms after load: ${await notice.textContent()}`);
    expect(await notice.textContent()).toMatch(/opened with a run of about \d+ (s|min) instead \(tiny model/);
    expect(await page.getByTestId('model-size').inputValue()).toBe('tiny');
    await expect.poll(() => page.getByTestId('train-start').isEnabled(), { timeout: 30_000 }).toBe(true);
    const startMs = await now(page);
    await page.getByTestId('train-start').click();
    await expect.poll(() => int(page, 'step-counter'), { timeout: 120_000 }).toBeGreaterThanOrEqual(1);
    const firstStepMs = (await now(page)) - startMs;
    console.log(`e2e: sized default: first step shown ${firstStepMs.toFixed(0)} ms after Start`);
    expect(firstStepMs).toBeLessThan(20_000);
    // The run is not waited out (two minutes of the suite): after three steps the page's own estimate of the time left
    // plus the time so far must come to about two minutes (the bound leaves room for a loaded machine), then Stop.
    await expect.poll(() => int(page, 'step-counter'), { timeout: 120_000 }).toBeGreaterThanOrEqual(3);
    const progress = (await page.locator('.progress-text').textContent()) ?? '';
    const left = /(?:(\d+) min )?(\d+) s left/.exec(progress);
    expect(left, `time left in '${progress}'`).not.toBeNull();
    const leftS = Number(left![1] ?? 0) * 60 + Number(left![2]);
    const projectedS = ((await now(page)) - startMs) / 1000 + leftS;
    console.log(
      `e2e: sized default: after 3 steps, ${leftS} s left; the run would take about ${projectedS.toFixed(0)} s`,
    );
    expect(projectedS).toBeLessThan(360);
    await page.getByTestId('train-stop').click();
    await expect.poll(() => page.getByTestId('train-state').textContent(), { timeout: 60_000 }).toMatch(/stopped/);
    // The full-size default is one click away.
    await page.getByTestId('use-full-default').click();
    expect(await page.getByTestId('model-size').inputValue()).toBe(DEFAULT_RUN_CONFIG.model.size);
    // A number field follows an outside change after the render (an effect).
    await expect.poll(() => page.getByTestId('batch-size').inputValue()).toBe(String(DEFAULT_RUN_CONFIG.sft.batchSize));
    expect(await page.getByTestId('adapter-fit').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  }, 400_000);
});

describe('the playground in a browser without WebGPU', () => {
  it('shows a banner and trains on the CPU reference backend', async () => {
    const noGpu = await launchChromium({ webgpu: false });
    try {
      const page = await noGpu.newPage({ viewport: { width: 1400, height: 1000 } });
      const problems = watchProblems(page);
      const config: RunConfig = { ...CONFIG, seed: 3, sft: { ...CONFIG.sft, steps: 2 } };
      await page.goto(`${app.url}${configToHash(config)}`);
      const banner = page.getByTestId('cpu-banner');
      await banner.waitFor({ timeout: 30_000 });
      expect(await banner.textContent()).toMatch(/CPU/);
      await page.getByTestId('train-start').click();
      await expect.poll(() => page.getByTestId('train-state').textContent(), { timeout: 120_000 }).toMatch(/finished/);
      const loss = Number(await page.getByTestId('train-loss').textContent());
      expect(loss).toBeGreaterThan(2);
      expect(loss).toBeLessThan(6);
      await page.screenshot({ path: 'test-results/e2e-cpu.png', fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await noGpu.close();
    }
  }, 300_000);
});

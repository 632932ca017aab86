/**
 * The results matrix view rendered to static HTML (react-dom/server, no DOM): the table's kind groups, cells with
 * their counts and intervals, missing cells, the task selector, escaping of untrusted run names, and the first frame
 * of the Sokoban episode viewer and the General Points check.
 */
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { clusteredInterval } from '../../src/runs/matrix';
import type { RunRecord } from '../../src/runs/run_record';
import { wrapTarget } from '../../src/tasks/format';
import * as gp from '../../src/tasks/general_points';
import { generateLevel, renderBoard } from '../../src/tasks/sokoban';
import { labConfig } from '../../src/train/lab_presets';
import type { SuiteKind, SuiteResult, SuiteSample } from '../../src/train/suite_types';
import { GpDetail } from '../../src/ui/GpDetail';
import { CellDetails, MatrixPanel } from '../../src/ui/MatrixView';
import { SokobanEpisode } from '../../src/ui/SokobanBoard';
import { createRng } from '../../src/util/rng';
import { wilsonInterval } from '../../src/util/stats';

function sokobanSample(): SuiteSample {
  const { level, plan } = generateLevel(createRng(1));
  const turns = plan.map((a) => ({
    completion: `<think>act ${a}</think><answer>${a}</answer><eos>`,
    action: a as string | null,
    note: 'ok',
    thinkingTokens: 2,
  }));
  turns.splice(1, 0, {
    completion: '<answer>jump</answer><eos>',
    action: null,
    note: 'invalid: unknown',
    thinkingTokens: 0,
  });
  return {
    prompt: `${renderBoard(level)}\nact Up,Down,Left,Right:`,
    success: true,
    reason: 'solved',
    turns,
    board: renderBoard(level),
  };
}

function result(task: 'sokoban' | 'general_points', suite: string, kind: SuiteKind, s: number, n: number): SuiteResult {
  return {
    task,
    suite,
    kind,
    unit: task === 'sokoban' ? 'episode' : 'answer',
    problems: n,
    successes: s,
    meanThinkingTokens: 4,
    meanActions: task === 'sokoban' ? 5 : null,
    evalTimeMs: 1000,
    samples: task === 'sokoban' ? [sokobanSample()] : [],
  };
}

function run(id: string, name: string, task: 'sokoban' | 'general_points', results: SuiteResult[]): RunRecord {
  const config = labConfig(task, 'cot', 'smoke');
  return {
    id,
    name,
    createdAt: Number(id.replace(/\D/g, '')),
    updatedAt: 0,
    config,
    status: 'finished',
    adapter: 'CPU reference',
    stepsDone: config.sft.steps,
    timeline: [],
    evalPoints: [],
    samples: null,
    checkpointStep: null,
    suiteResults: results,
  };
}

describe('MatrixPanel', () => {
  const runs = [
    run('r1', 'SFT CoT', 'sokoban', [
      result('sokoban', 'size8', 'difficulty', 3, 32),
      result('sokoban', 'id', 'id', 12, 32),
      { ...result('sokoban', 'size10', 'difficulty', 0, 32), tooLong: 32 },
    ]),
    run('r2', '<script>alert(1)</script>', 'sokoban', [result('sokoban', 'id', 'id', 32, 32)]),
    run('r3', 'GP CoT', 'general_points', [result('general_points', 'id', 'id', 1, 4)]),
    { ...run('r4', 'not evaluated', 'sokoban', []), suiteResults: null },
  ];
  const html = renderToStaticMarkup(createElement(MatrixPanel, { runs }));

  it('draws kind groups, suites and one button per present cell with its count and interval', () => {
    expect(html).toContain('data-testid="results-matrix"');
    expect(html.indexOf('In distribution')).toBeLessThan(html.indexOf('Harder'));
    expect(html.match(/data-testid="matrix-cell"/g)).toHaveLength(4);
    const { low: lo, high: hi } = wilsonInterval(12, 32);
    expect(html).toContain(
      `SFT CoT, suite id (In distribution): 12 of 32 episodes succeeded, 37.5%, 95% interval ${(100 * lo).toFixed(1)}% to ${(100 * hi).toFixed(1)}%`,
    );
    expect(html).toContain('12/32');
    expect(html).toContain('not evaluated</span>');
    // Sokoban is shown first; the General Points run is behind the task selector, the unevaluated run nowhere.
    expect(html).toContain('aria-pressed="true" class="primary" data-testid="matrix-task-sokoban">Sokoban</button>');
    expect(html).toContain('General Points</button>');
    expect(html).not.toContain('GP CoT');
    expect(html).not.toContain('not evaluated</span></label>');
    expect(html.match(/data-testid="matrix-run-toggle"/g)).toHaveLength(2);
  });

  it('flags a cell whose prompts did not fit the context, in its text, label and title, and no other', () => {
    expect(html.match(/data-testid="matrix-cell-too-long"/g)).toHaveLength(1);
    expect(html).toContain('data-testid="matrix-cell-too-long">⚠ 32 too long</span>');
    const warning = '32 of 32 episodes failed because a prompt did not fit the model&#x27;s context';
    expect(html).toContain(`SFT CoT, suite size10 (Harder): 0 of 32 episodes succeeded, 0.0%`);
    expect(html).toMatch(new RegExp(`aria-label="SFT CoT, suite size10 [^"]*; warning: ${warning}"`));
    expect(html).toContain(`title="Show the sample episodes of this suite. ⚠ ${warning}"`);
    // The other cells carry no warning.
    expect(html.match(/warning: /g)).toHaveLength(1);
  });

  it('escapes run names and enables the exports', () => {
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toMatch(/<button type="button" data-testid="export-matrix-json">/);
  });

  it('shows a row of several seeds once: mean, interval, seed count and a seed picker in its details', () => {
    const seeds = [1, 2, 3].map((seed, k) => {
      const r = run(`s${10 + k}`, 'SFT answer-only', 'sokoban', [result('sokoban', 'id', 'id', [32, 16, 48][k]!, 64)]);
      r.config = { ...r.config, seed };
      return r;
    });
    const out = renderToStaticMarkup(createElement(MatrixPanel, { runs: seeds }));
    expect(out.match(/data-testid="matrix-cell"/g)).toHaveLength(1);
    const [lo, hi] = clusteredInterval(seeds.map((r) => r.suiteResults![0]!)).ci;
    expect(out).toContain(`<span class="cell-rate">0.50</span>`);
    expect(out).toContain(`[${lo.toFixed(2)}, ${hi.toFixed(2)}]`);
    expect(out).toContain('<span class="cell-count">96/192</span>');
    expect(out).toContain('data-testid="matrix-cell-seeds">3 seeds</span>');
    expect(out).toContain('title="seed 1: 32/64; seed 2: 16/64; seed 3: 48/64"');
    expect(out).toContain(
      `SFT answer-only, suite id (In distribution): 96 of 192 episodes succeeded, mean 50.0% over 3 seeds, 95% interval ${(100 * lo).toFixed(1)}% to ${(100 * hi).toFixed(1)}%`,
    );
    // The run chooser tells the seeds of one name apart.
    expect(out).toContain('<span class="muted small"> · seed 3</span>');
    expect(html).not.toContain(' · seed ');
    // One-seed cells say no seed count.
    expect(html).not.toContain('matrix-cell-seeds');
  });

  it('says how to get runs when none has suite results', () => {
    const empty = renderToStaticMarkup(createElement(MatrixPanel, { runs: [runs[3]!] }));
    expect(empty).toContain('data-testid="results-matrix-empty"');
  });
});

describe('cell details', () => {
  it('shows the Sokoban start board with its boxes and the turn count', () => {
    const sample = sokobanSample();
    const html = renderToStaticMarkup(createElement(SokobanEpisode, { sample }));
    expect(html).toMatch(/<svg class="sk-board" role="img" aria-label="Sokoban board 6×6: player/);
    expect(html.match(/class="sk-box/g)!.length).toBeGreaterThanOrEqual(1);
    expect(html).toContain(`start · ${sample.turns.length} turns`);
  });

  it('says why a Sokoban sample without a readable board cannot be replayed, and lists its turns', () => {
    const sample = { ...sokobanSample(), board: '###\n#P' };
    const html = renderToStaticMarkup(createElement(SokobanEpisode, { sample }));
    expect(html).toContain('Cannot replay: the start board cannot be read (sokoban: row 1 has length 2, want 3)');
    expect(html.match(/<li>/g)).toHaveLength(sample.turns.length);
  });

  it('says how many problems did not fit the context, and nothing when none or the count is absent', () => {
    const sokobanRun = run('r9', 'SFT CoT', 'sokoban', []);
    const details = (r: SuiteResult) =>
      renderToStaticMarkup(createElement(CellDetails, { run: sokobanRun, result: r, onClose: () => {} }));
    const flagged = details({ ...result('sokoban', 'size10', 'difficulty', 1, 4), tooLong: 3 });
    expect(flagged).toContain('data-testid="matrix-details-too-long"');
    expect(flagged).toContain('3 of 4 episodes failed because a prompt did not fit the model&#x27;s context');
    expect(details({ ...result('sokoban', 'id', 'id', 1, 4), tooLong: 0 })).not.toContain('matrix-details-too-long');
    expect(details(result('sokoban', 'id', 'id', 1, 4))).not.toContain('matrix-details-too-long');
  });

  it('checks a General Points answer with the task verifier', () => {
    const p = gp.generate(createRng(2), undefined, { variant: 'fake_face' });
    const completion = wrapTarget(gp.writeAnswerOnly(p));
    const sample: SuiteSample = {
      prompt: gp.renderPrompt(p),
      success: true,
      reason: 'ok',
      turns: [{ completion, action: p.solution, note: 'ok', thinkingTokens: 0 }],
    };
    const html = renderToStaticMarkup(createElement(GpDetail, { sample, suite: 'fake_face' }));
    expect(html).toContain(`<code>${p.solution}</code>`);
    expect(html).toContain('a fake rule');
    expect(html).toContain(`= 24 (target 24)`);
    expect(html).not.toContain('the evaluation recorded');
  });
});

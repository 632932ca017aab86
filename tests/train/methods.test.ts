/**
 * The decoding methods' one table (src/train/methods.ts): each knob enters and leaves the decode settings by the same
 * field and stays in the schema's range, the names, colours and sweeps are consistent, and the one stage rule: a run
 * file whose points lack stages charts the same in the report and in the playground.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reportRun, reportSeries } from '../../src/headless/report';
import { parseRunFile } from '../../src/runs/run_file';
import {
  applySweepValue,
  decodeSettingText,
  METHODS,
  PALETTE,
  rlStartOf,
  SERIES_IDS,
  seriesFor,
  stageOf,
  sweptValue,
  withStages,
} from '../../src/train/methods';
import type { EvalPoint } from '../../src/train/results';
import {
  DEFAULT_DECODE_CONFIG,
  DEFAULT_RL_CONFIG,
  DEFAULT_RUN_CONFIG,
  decodeConfigSchema,
  type RunConfig,
} from '../../src/train/run_config';
import { chartPoints, chartSeriesOf, chartSeriesStage, seriesGroups, settingLabel } from '../../src/ui/chart_data';

describe('the methods table', () => {
  it('puts a swept value into its knob field and reads it back, selecting the method by its intervention', () => {
    for (const id of SERIES_IDS) {
      const m = METHODS[id];
      expect(m.id).toBe(id);
      for (const v of m.knob.sweep) {
        const d = applySweepValue(id, DEFAULT_DECODE_CONFIG, v);
        expect(sweptValue(id, d)).toBe(v);
        expect(d[m.knob.field]).toBe(v);
        expect(d.intervention).toBe(m.intervention);
        expect(seriesFor(d.intervention)).toBe(id);
        // Every other field is untouched.
        for (const k of Object.keys(d) as (keyof typeof d)[])
          if (k !== m.knob.field && k !== 'intervention') expect(d[k]).toBe(DEFAULT_DECODE_CONFIG[k]);
        // The sweep stays within the knob's stated range, which the decode schema accepts.
        expect(v).toBeGreaterThanOrEqual(m.knob.min);
        expect(v).toBeLessThanOrEqual(m.knob.max);
        if (m.knob.integer) expect(Number.isInteger(v)).toBe(true);
        expect(decodeConfigSchema.safeParse(d).success).toBe(true);
      }
    }
    // The stated range is the schema's: a value past either end is refused (τ = 0 is too: τ must be above 0).
    for (const id of SERIES_IDS) {
      const k = METHODS[id].knob;
      const step = k.integer ? 1 : 0.5;
      expect(decodeConfigSchema.safeParse(applySweepValue(id, DEFAULT_DECODE_CONFIG, k.max + step)).success).toBe(
        false,
      );
      expect(decodeConfigSchema.safeParse(applySweepValue(id, DEFAULT_DECODE_CONFIG, k.min - step)).success).toBe(
        false,
      );
    }
  });

  it('gives each method its own intervention, colour, RL colour and marker', () => {
    const all = SERIES_IDS.map((id) => METHODS[id]);
    expect(new Set(all.map((m) => m.intervention)).size).toBe(SERIES_IDS.length);
    expect(new Set(all.map((m) => m.marker)).size).toBe(SERIES_IDS.length);
    const colors = all.flatMap((m) => [m.color, m.rlColor]);
    expect(new Set(colors).size).toBe(colors.length);
    for (const c of colors) expect(PALETTE).toContain(c);
  });

  it('writes a setting as the knob and the temperature', () => {
    const at = (id: (typeof SERIES_IDS)[number], v: number) =>
      decodeSettingText(id, applySweepValue(id, { ...DEFAULT_DECODE_CONFIG, temperature: 0.6, maxExtensions: 2 }, v));
    expect(at('temperature', 0)).toBe('T = 0');
    expect(at('ts', 0.25)).toBe('τ = 0.25, T = 0.6');
    expect(at('bias', 2)).toBe('bias +2, T = 0.6');
    expect(at('bias', -4)).toBe('bias −4, T = 0.6');
    expect(at('cap', 32)).toBe('B = 32, T = 0.6');
    expect(at('extend', 16)).toBe('min 16 ×2, T = 0.6');
    expect(at('ts_logit', 0.5)).toBe('τ_z = 0.5, T = 0.6');
    expect(at('margin', 2)).toBe('δ = 2, T = 0.6');
    // Settings saved before the two later rules existed lack their fields: the knob reads as off (τ_z = 1, δ = 0).
    const { stopLogitTemperature: _t, stopMarginNats: _m, ...old } = DEFAULT_DECODE_CONFIG;
    expect(sweptValue('ts_logit', old)).toBe(1);
    expect(sweptValue('margin', old)).toBe(0);
    expect(decodeConfigSchema.safeParse(old).success).toBe(true);
  });
});

describe('the stage rule', () => {
  const rlConfig: RunConfig = { ...DEFAULT_RUN_CONFIG, rl: DEFAULT_RL_CONFIG };
  const sftSteps = rlConfig.sft.steps;
  const { rl: _, ...noRl } = rlConfig;

  it('keeps a saved stage and finds a missing one from the step and where the RL stage began', () => {
    expect(rlStartOf({ config: rlConfig })).toBe(sftSteps);
    expect(rlStartOf({ config: noRl })).toBe(null);
    expect(rlStartOf({ config: rlConfig, rlStartStep: 40 })).toBe(40);
    expect(rlStartOf({ config: rlConfig, rlStartStep: null })).toBe(null);
    expect(stageOf({ step: sftSteps }, { config: rlConfig })).toBe('sft');
    expect(stageOf({ step: sftSteps + 1 }, { config: rlConfig })).toBe('rl');
    expect(stageOf({ step: sftSteps + 1, stage: 'sft' }, { config: rlConfig })).toBe('sft');
    expect(stageOf({ step: 1, stage: 'rl' }, { config: noRl })).toBe('rl');
    expect(stageOf({ step: sftSteps + 1 }, { config: noRl })).toBe('sft');
    expect(stageOf({ step: 41 }, { config: rlConfig, rlStartStep: 40 })).toBe('rl');
    expect(stageOf({ step: sftSteps + 1 }, { config: rlConfig, rlStartStep: null })).toBe('sft');
  });

  it('returns the same array for the same points (saved stages: the points themselves)', () => {
    const staged = [{ step: 1, stage: 'sft' as const }];
    expect(withStages(staged, { config: rlConfig })).toBe(staged);
    const bare = [{ step: 1 }, { step: sftSteps + 1 }];
    const a = withStages(bare, { config: rlConfig });
    expect(a.map((p) => p.stage)).toEqual(['sft', 'rl']);
    expect(withStages(bare, { config: rlConfig })).toBe(a);
    // Where the RL stage began is part of the answer: another start is computed afresh.
    expect(withStages(bare, { config: rlConfig, rlStartStep: null }).map((p) => p.stage)).toEqual(['sft', 'sft']);
  });

  it('classifies a run file whose points lack stages the same way in the report and in the playground chart', () => {
    // The H200 TLDR run (written before points recorded their stage or runs their rlStartStep): SFT 3000 steps,
    // then RL; its points after step 3000 evaluated the RL model.
    const text = readFileSync('docs/measurements/experiment-tldr-arithmetic-h200.stoptime.json', 'utf8');
    const { run } = parseRunFile(text);
    expect(run.evalPoints.every((p) => p.stage === undefined)).toBe(true);
    expect(run.rlStartStep).toBeUndefined();
    const expected = run.evalPoints.map((p) => (p.step > run.config.sft.steps ? 'rl' : 'sft'));
    expect(expected.filter((s) => s === 'rl').length).toBeGreaterThan(0);
    expect(expected.filter((s) => s === 'sft').length).toBeGreaterThan(0);

    // The report: each reported point's stage.
    const reported = new Map<string, string>();
    for (const s of reportSeries([reportRun(run)])) for (const p of s.points) reported.set(p.point.id, p.stage);
    // The playground: the chart line each point joins, and its stage.
    const charted = new Map<string, string>();
    for (const g of seriesGroups(run.id, [...chartPoints(run)]))
      for (const d of g.all) charted.set(d.pointId, chartSeriesStage(d.chartSeries));

    run.evalPoints.forEach((p, i) => {
      expect(reported.get(p.id), p.id).toBe(expected[i]);
      expect(charted.get(p.id), p.id).toBe(expected[i]);
    });
    // Labels follow: an RL point says so in the playground.
    const rlPoint = chartPoints(run).find((p: EvalPoint) => p.step > run.config.sft.steps)!;
    expect(settingLabel(rlPoint)).toMatch(/after RL$/);
    expect(chartSeriesOf(rlPoint).startsWith('rl')).toBe(true);
  });
});

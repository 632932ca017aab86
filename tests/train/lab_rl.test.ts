/**
 * The lab's GRPO row on Sokoban: its reward is the per-turn optimal-action reward (1 when the answer names, under the
 * prompt's accepted names, an optimal action of the state shown, plus 0.1 when the completion is well formed), its
 * prompts are states along levels' optimal plans, and the row runs end to end (SFT warm start, GRPO, suites) on the CPU
 * backend at a tiny scale, with every rollout's reward recomputed from its prompt alone.
 */
import { describe, expect, it } from 'vitest';
import { parseMatrixPreset, runExperiment } from '../../src/headless/experiment';
import { isHeldOut } from '../../src/tasks/datasets';
import { extractAnswer } from '../../src/tasks/format';
import {
  ACTIONS,
  type Action,
  optimalActions,
  parseBoard,
  type SokobanProblem,
  stateKey,
  step,
} from '../../src/tasks/sokoban';
import { encode } from '../../src/tasks/tokenizer';
import { createCpuBackend } from '../../src/train/backend_cpu';
import { GrpoSession, type RolloutsEvent, rlPromptsAt, scoreRollouts } from '../../src/train/grpo';
import { labConfig } from '../../src/train/lab_presets';
import { METRIC } from '../../src/train/metrics';
import { groupRewards, rewardFormula } from '../../src/train/rewards';
import type { RunConfig } from '../../src/train/run_config';

/** The reward of a Sokoban completion, recomputed from the prompt's text: board and action line. */
function expectedReward(prompt: string, text: string): number {
  const lines = prompt.replace(/^<(short|medium|long)>/, '').split('\n');
  const actionLine = lines.pop() as string;
  const state = parseBoard(lines.join('\n'));
  // The GRPO row trains on fixed instructions: the plain training line, the training names.
  expect(actionLine).toBe('act Up,Down,Left,Right:');
  const answer = extractAnswer(text);
  const correct = answer !== null && (optimalActions(state) as string[]).includes(answer);
  const wellFormed = /^<think>[^<]*<\/think><answer>[^<]+<\/answer><eos>$/.test(text);
  return (correct ? 1 : 0) + (wellFormed ? 0.1 : 0);
}

/** The software-scale GRPO row, shrunk to seconds on the CPU backend (same task settings, rewards and prompts). */
function tinyRow(): RunConfig {
  const c = labConfig('sokoban', 'grpo', 'software', 3);
  return {
    ...c,
    sft: { ...c.sft, steps: 1, batchSize: 2, trainSize: 8, samplesEverySteps: 0, evalLossEverySteps: 0 },
    rl: { ...c.rl!, steps: 1, promptsPerStep: 1, generationsPerPrompt: 2, maxCompletionTokens: 8 },
    decode: { ...c.decode, maxNewTokens: 8 },
  };
}

describe("the lab's GRPO row (Sokoban)", () => {
  it('rewards 1 for an optimal action of the state shown plus 0.1 for a well-formed completion', () => {
    const c = labConfig('sokoban', 'grpo', 'paper', 5);
    expect(c.rl?.reward.lengthPenalty).toBe('none');
    expect(rewardFormula(c.rl!.reward)).toBe('r = 1[correct] + 0.1·1[well-formed]');
    let midPlan = 0;
    for (let s = 0; s < 3; s++) {
      const items = rlPromptsAt(c, s);
      expect(items).toHaveLength(c.rl!.promptsPerStep);
      for (const item of items) {
        const p = item.problem as SokobanProblem;
        expect(isHeldOut(stateKey(p.state))).toBe(false);
        if (p.state !== p.level) midPlan++;
        const good = p.optimal[0] as Action;
        const bad = ACTIONS.find((a) => !p.optimal.includes(a)) as Action;
        const texts = [
          `<think>x</think><answer>${good}</answer><eos>`,
          `<answer>${good}</answer><eos>`,
          `<think>x</think><answer>${bad}</answer><eos>`,
          `<think>x</think><answer>fox</answer><eos>`,
          `<think>x</think><answer>${good}`,
        ];
        const completions = texts.map((t) => {
          const tokens = encode(t);
          return { tokens, logprobs: tokens.map(() => -1), finished: t.endsWith('<eos>') };
        });
        const scored = scoreRollouts(c, [item], completions, texts.length);
        const totals = groupRewards(c.rl!.reward, scored).map((r) => r.total);
        expect(totals).toEqual([1.1, 1, 0.1, 0.1, 1]);
        for (let i = 0; i < texts.length; i++) {
          expect(totals[i]).toBeCloseTo(expectedReward(item.prompt, texts[i] as string), 12);
        }
        // An optimal action is never a move into a wall.
        expect(step(p.state, good)).not.toBe(p.state);
      }
    }
    // Most prompts show a state after the level's start (per-turn reward, not only the first move).
    expect(midPlan).toBeGreaterThan(c.rl!.promptsPerStep);
  });

  it('runs as a matrix row on the CPU backend; every logged rollout reward is the one recomputed from its prompt', async () => {
    const preset = parseMatrixPreset({
      name: 'lab-rl-tiny',
      matrix: { task: 'sokoban', methods: ['grpo'], scale: 'software', seed: 3, suiteSize: 1, maxActions: 2 },
    });
    expect(preset.experiments).toHaveLength(1);
    const row = preset.experiments[0]!;
    expect(row.config.rl).toBeDefined();
    const config = tinyRow();
    const { run, state } = await runExperiment(
      createCpuBackend(),
      { ...row, config, suites: { size: 1, variants: ['fake_swap'], maxActions: 1 } },
      () => {},
      0,
    );
    // Every lab method trains on fresh examples; the metrics count them.
    for (const m of ['answer', 'diverse_answer', 'cot', 'diverse_cot', 'grpo'] as const) {
      for (const scale of ['paper', 'software', 'smoke'] as const)
        expect(labConfig('sokoban', m, scale).sft.data).toBe('fresh');
    }
    const sftLast = run.timeline.filter((t) => t.values[METRIC.examplesSeen] !== undefined).at(-1);
    expect(sftLast?.values[METRIC.examplesSeen]).toBe(2);
    expect(sftLast?.values[METRIC.distinctExamples]).toBeGreaterThanOrEqual(1);
    expect(run.rlStartStep).toBe(1);
    expect(run.stepsDone).toBe(2);
    const rlPoints = run.timeline.filter((t) => t.values[METRIC.rlRewardMean] !== undefined);
    expect(rlPoints.length).toBeGreaterThan(0);
    for (const t of rlPoints) {
      const gap = (t.values[METRIC.rlRewardMean] as number) - (t.values[METRIC.rlAccuracy] as number);
      // reward = accuracy + 0.1 × (share well formed)
      expect(gap).toBeGreaterThanOrEqual(-1e-9);
      expect(gap).toBeLessThanOrEqual(0.1 + 1e-9);
    }
    expect(run.suiteResults?.map((r) => [r.suite, r.kind, r.unit, r.problems])).toEqual([
      ['fake_swap', 'fake', 'episode', 1],
    ]);
    // The same RL stage again from the same warm start, watching the rollouts the session emits.
    const events: RolloutsEvent[] = [];
    const sftState = (
      await runExperiment(
        createCpuBackend(),
        { ...row, config: { ...config, rl: undefined }, suites: null },
        () => {},
        0,
      )
    ).state;
    const session = new GrpoSession(
      createCpuBackend(),
      config,
      (e) => {
        if (e.type === 'rollouts') events.push(e);
      },
      sftState,
    );
    await session.run();
    await session.destroy();
    expect(events).toHaveLength(1);
    for (const e of events) {
      expect(e.completions).toHaveLength(2);
      for (const comp of e.completions) expect(comp.reward).toBeCloseTo(expectedReward(e.prompt, comp.text), 12);
    }
    expect(state.step).toBe(2);
  });
});

/**
 * Parity of the exported stopping.py with src/cpu/sampling.ts on recorded logits: rows of a seeded tiny Stoptime
 * model's logits (src/model/reference.ts on task prompts), also scaled ×8 and ×40 so the distributions range from
 * near-uniform to peaked, plus ties and very negative entries.
 *
 *   probs      samplingProbs for every rule: temperature (0, 0.6, 1, 1.7), top-k, top-p, the stop token's bias and
 *              τ, thinking or not; within 1e-6 per probability (f64 both sides: only exp/log rounding differs);
 *   steps      decodeStepRow from hand-set states: forced, pending extension ids, the cap reached or not, an early
 *              `</think>` extended or not (extensions used up), greedy and sampled; token, rule and state equal,
 *              logprob within 1e-6;
 *   sequences  whole decodes under every intervention of a DecodeConfig (settings_from_decode against samplingFor
 *              and budgetFor), the state carried across steps, so cap and extend fire on their own;
 *   uniform_for and stop_scaled_prob on their own.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BudgetForcing,
  type DecodeRowState,
  decodeStepRow,
  type SamplingParams,
  samplingProbs,
  stopScaledProb,
  uniformFor,
} from '../../src/cpu/sampling';
import { buildParamLayout, initParams } from '../../src/model/params';
import { referenceForward } from '../../src/model/reference';
import { EOS_ID, encode, THINK_END_ID, THINK_START_ID } from '../../src/tasks/tokenizer';
import { budgetFor, EXTENSION_TEXT, samplingFor } from '../../src/train/evaluate';
import {
  DEFAULT_DECODE_CONFIG,
  DEFAULT_RUN_CONFIG,
  type DecodeConfig,
  modelConfigFor,
} from '../../src/train/run_config';
import { createRng } from '../../src/util/rng';
import { pyNumber, removeTempDirs, runCheck, writePythonFiles } from './python';

afterAll(removeTempDirs);

const TOL = 1e-6;

/** Logit rows [V] of a seeded tiny model on a few prompts, at three scales, plus edge rows. */
function recordedLogits(): Float32Array[] {
  const config = modelConfigFor({ ...DEFAULT_RUN_CONFIG, model: { size: 'tiny' } });
  const layout = buildParamLayout(config);
  const params = initParams(config, layout);
  const prompts = [
    '<long>12+34=<think>2+4=6;1+3=4',
    'cards A,7,K,10;A=1,J=Q=K=10;target 24:<think>1,7',
    '#_P_#\nact Up:',
  ];
  const rows: Float32Array[] = [];
  const V = config.vocabSize;
  for (const p of prompts) {
    const ids = Int32Array.from(encode(p));
    const { logits } = referenceForward(config, layout, params, ids, 1, ids.length);
    for (let t = 0; t < ids.length; t += 3) {
      const row = logits.subarray(t * V, (t + 1) * V);
      for (const scale of [1, 8, 40]) rows.push(Float32Array.from(row, (x) => x * scale));
    }
  }
  const tied = new Float32Array(V).fill(0.5);
  tied[THINK_END_ID] = 2;
  tied[7] = 2;
  const spiky = new Float32Array(V).fill(-1e30);
  spiky[THINK_END_ID] = 0;
  spiky[20] = -0.5;
  rows.push(tied, spiky);
  return rows;
}

const LOGITS = recordedLogits();
const V = LOGITS[0]!.length;

function paramsGrid(): SamplingParams[] {
  const out: SamplingParams[] = [];
  for (const temperature of [0, 0.6, 1, 1.7])
    for (const [topK, topP] of [
      [0, 1],
      [1, 1],
      [5, 1],
      [0, 0.9],
      [7, 0.5],
      [V, 0.999],
    ] as const)
      for (const [stopTokenId, stopTemperature, stopLogitBias] of [
        [-1, 1, 0],
        [THINK_END_ID, 0.3, 0],
        [THINK_END_ID, 2.5, 0],
        [THINK_END_ID, 1, 4],
        [THINK_END_ID, 1, -3],
        [THINK_END_ID, 0.5, 2],
      ] as const)
        out.push({ temperature, topK, topP, stopTokenId, stopTemperature, stopLogitBias });
  return out;
}

const toJson = (s: DecodeRowState) => ({ ...s });
const ext = encode(EXTENSION_TEXT);

interface StepOut {
  token: number;
  logprob: number | string;
  rule: string;
  state: DecodeRowState;
}

function expectStep(got: StepOut, want: ReturnType<typeof decodeStepRow>, where: string): void {
  expect({ token: got.token, rule: got.rule, state: got.state }, where).toEqual({
    token: want.token,
    rule: want.rule,
    state: want.state,
  });
  const lp = pyNumber(got.logprob);
  if (Number.isFinite(want.logprob)) expect(Math.abs(lp - want.logprob), where).toBeLessThanOrEqual(TOL);
  else expect(lp, where).toBe(want.logprob);
}

describe('stopping.py equals src/cpu/sampling.ts', () => {
  it('on probabilities, decode steps, whole decodes, uniforms and the scaled stop probability', () => {
    const rng = createRng(5);
    const grid = paramsGrid();
    const probCases = grid.flatMap((params, k) =>
      [0, 1].map((j) => ({
        logits: Array.from(LOGITS[(k * 2 + j) % LOGITS.length]!),
        params,
        thinking: (k + j) % 3 !== 0,
      })),
    );
    const budgets: (BudgetForcing | null)[] = [
      null,
      { thinkingCapTokens: 4, minThinkingTokens: 0, maxExtensions: 0, extensionIds: [] },
      { thinkingCapTokens: 0, minThinkingTokens: 10, maxExtensions: 2, extensionIds: ext },
      { thinkingCapTokens: 0, minThinkingTokens: 10, maxExtensions: 1, extensionIds: [ext[0]!] },
    ];
    const states: DecodeRowState[] = [
      { thinking: true, thinkingTokens: 0, extensionsUsed: 0, pendingIndex: 0 },
      { thinking: true, thinkingTokens: 4, extensionsUsed: 0, pendingIndex: 0 },
      { thinking: true, thinkingTokens: 9, extensionsUsed: 1, pendingIndex: 0 },
      { thinking: true, thinkingTokens: 9, extensionsUsed: 2, pendingIndex: 0 },
      { thinking: true, thinkingTokens: 3, extensionsUsed: 1, pendingIndex: 2 },
      { thinking: false, thinkingTokens: 12, extensionsUsed: 0, pendingIndex: 0 },
    ];
    const stepCases = [];
    for (let k = 0; k < 600; k++) {
      const budget = budgets[k % budgets.length]!;
      let state = states[Math.floor(k / budgets.length) % states.length]!;
      if (state.pendingIndex >= (budget?.extensionIds.length ?? 0)) state = { ...state, pendingIndex: 0 };
      const params = grid[(k * 7) % grid.length]!;
      // The spiky row makes `</think>` the likely pick, so the extend rule fires often.
      const logits = Array.from(k % 4 === 0 ? LOGITS[LOGITS.length - 1]! : LOGITS[k % LOGITS.length]!);
      stepCases.push({
        state,
        logits,
        forced: k % 17 === 0 ? 30 : -1,
        params,
        budget,
        thinkStartId: THINK_START_ID,
        thinkEndId: THINK_END_ID,
        u: rng.next(),
      });
    }
    const decodes: DecodeConfig[] = [
      { ...DEFAULT_DECODE_CONFIG, temperature: 0.8, intervention: 'none' },
      { ...DEFAULT_DECODE_CONFIG, temperature: 1, intervention: 'ts', stopTemperature: 0.4 },
      { ...DEFAULT_DECODE_CONFIG, temperature: 0.7, topK: 8, intervention: 'bias', stopLogitBias: 3 },
      { ...DEFAULT_DECODE_CONFIG, temperature: 0, intervention: 'cap', thinkingBudgetTokens: 5 },
      {
        ...DEFAULT_DECODE_CONFIG,
        temperature: 1,
        topP: 0.9,
        intervention: 'extend',
        minThinkingTokens: 12,
        maxExtensions: 2,
      },
    ];
    const sequences = decodes.map((decode, k) => {
      const steps = 40;
      const logits = Array.from({ length: steps }, (_, t) => {
        const row = Float32Array.from(LOGITS[(k * 5 + t) % LOGITS.length]!);
        // An early stop, often; under the cap none, so the cap is what ends the thinking.
        if (decode.intervention === 'cap') row[THINK_END_ID] = row[THINK_END_ID]! - 40;
        else if (t % 3 === 2) row[THINK_END_ID] = row[THINK_END_ID]! + 12;
        return row;
      });
      const forced = Array.from({ length: steps }, (_, t) => (t === 0 ? THINK_START_ID : t === 30 ? EOS_ID : -1));
      const u = Array.from({ length: steps }, (_, t) => uniformFor(k, t, 0));
      return { decode, logits, forced, u };
    });
    const uniform = Array.from({ length: 200 }, (_, i) => [rng.uint32(), i * 37, i % 5]);
    const scaled = [0, 1e-300, 1e-9, 0.1, 0.5, 0.9, 1 - 1e-12, 1].flatMap((p) =>
      [0.05, 0.5, 1, 3, 50].map((t) => [p, t]),
    );

    const dir = writePythonFiles();
    const got = runCheck<{
      probs: number[][];
      steps: StepOut[];
      sequences: StepOut[][];
      uniform: number[];
      scaled: number[];
    }>(dir, {
      kind: 'stopping',
      probs: probCases,
      steps: stepCases.map((c) => ({ ...c, state: toJson(c.state) })),
      sequences: sequences.map((s) => ({
        decode: s.decode,
        logits: s.logits.map((r) => Array.from(r)),
        forced: s.forced,
        u: s.u,
        thinkStartId: THINK_START_ID,
        thinkEndId: THINK_END_ID,
        extensionIds: ext,
      })),
      uniform,
      scaled,
    });

    let worst = 0;
    probCases.forEach((c, i) => {
      const want = samplingProbs(Float32Array.from(c.logits), c.params, c.thinking);
      const row = got.probs[i]!;
      expect(row.length).toBe(want.length);
      for (let j = 0; j < want.length; j++) worst = Math.max(worst, Math.abs(row[j]! - want[j]!));
    });
    expect(worst).toBeLessThanOrEqual(TOL);

    const rules = new Set<string>();
    stepCases.forEach((c, i) => {
      const want = decodeStepRow(
        c.state,
        Float32Array.from(c.logits),
        c.forced,
        c.params,
        c.budget ?? undefined,
        c.thinkStartId,
        c.thinkEndId,
        c.u,
      );
      rules.add(want.rule);
      expectStep(got.steps[i]!, want, `step case ${i}`);
    });
    expect([...rules].sort()).toEqual(['cap', 'extend', 'forced', 'pending', 'sample']);

    const seqRules = new Set<string>();
    sequences.forEach((s, k) => {
      const params = samplingFor(s.decode);
      const budget = budgetFor(s.decode);
      let state: DecodeRowState = { thinking: false, thinkingTokens: 0, extensionsUsed: 0, pendingIndex: 0 };
      s.logits.forEach((logits, t) => {
        const want = decodeStepRow(state, logits, s.forced[t]!, params, budget, THINK_START_ID, THINK_END_ID, s.u[t]!);
        seqRules.add(`${s.decode.intervention}:${want.rule}`);
        expectStep(got.sequences[k]![t]!, want, `${s.decode.intervention} step ${t}`);
        state = want.state;
      });
    });
    expect(seqRules).toContain('cap:cap');
    expect(seqRules).toContain('extend:extend');
    expect(seqRules).toContain('extend:pending');

    uniform.forEach(([s, t, r], i) => {
      expect(got.uniform[i]).toBe(uniformFor(s!, t!, r!));
    });
    scaled.forEach(([p, t], i) => {
      expect(Math.abs(got.scaled[i]! - stopScaledProb(p!, t!))).toBeLessThanOrEqual(1e-12);
    });
  });
});

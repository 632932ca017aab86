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
 * The stop rules added later run through tests/export/stopping_check.py (check.py's cases carry the first rules'
 * fields only, so they also check that stopping.py's defaults leave those rules as they were):
 *   stop-logit TS (τ_z, with and without bias and τ) on probabilities and on the margin (max logit − stop logit);
 *   the margin rule in decode steps: δ against margins set below and above it, at every token and at step boundaries
 *              (the previous token the boundary or not), with a cap reached or not, thinking or not, greedy and sampled;
 *   whole decodes under 'ts_logit' and 'margin' (every token, at steps), the previous token carried across steps.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BudgetForcing,
  type DecodeRowState,
  decodeStepRow,
  type SamplingParams,
  samplingProbs,
  stopMargin,
  stopScaledProb,
  uniformFor,
} from '../../src/cpu/sampling';
import { buildParamLayout, initParams } from '../../src/model/params';
import { referenceForward } from '../../src/model/reference';
import { EOS_ID, encode, THINK_END_ID, THINK_START_ID } from '../../src/tasks/tokenizer';
import { budgetFor, EXTENSION_TEXT, STEP_SEPARATOR, samplingFor } from '../../src/train/evaluate';
import {
  DEFAULT_DECODE_CONFIG,
  DEFAULT_RUN_CONFIG,
  type DecodeConfig,
  modelConfigFor,
} from '../../src/train/run_config';
import { createRng } from '../../src/util/rng';
import { pyNumber, python, removeTempDirs, runCheck, writePythonFiles } from './python';

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

type StopSettings = Omit<SamplingParams, 'temperature' | 'topK' | 'topP'>;

/** Every temperature (0, 0.6, 1, 1.7) × top-k/top-p pair × stop settings. */
function paramsGrid(topKP: readonly (readonly [number, number])[], stops: StopSettings[]): SamplingParams[] {
  const out: SamplingParams[] = [];
  for (const temperature of [0, 0.6, 1, 1.7])
    for (const [topK, topP] of topKP) for (const st of stops) out.push({ temperature, topK, topP, ...st });
  return out;
}

/** The first rules' grid: top-k/top-p pairs × the stop token off, its τ, its bias. */
const firstRulesGrid = () =>
  paramsGrid(
    [
      [0, 1],
      [1, 1],
      [5, 1],
      [0, 0.9],
      [7, 0.5],
      [V, 0.999],
    ],
    (
      [
        [-1, 1, 0],
        [THINK_END_ID, 0.3, 0],
        [THINK_END_ID, 2.5, 0],
        [THINK_END_ID, 1, 4],
        [THINK_END_ID, 1, -3],
        [THINK_END_ID, 0.5, 2],
      ] as const
    ).map(([stopTokenId, stopTemperature, stopLogitBias]) => ({ stopTokenId, stopTemperature, stopLogitBias })),
  );

/** Two recorded rows per setting, thinking in two cases of three. */
function probCasesFor(grid: SamplingParams[]) {
  return grid.flatMap((params, k) =>
    [0, 1].map((j) => ({
      logits: Array.from(LOGITS[(k * 2 + j) % LOGITS.length]!),
      params,
      thinking: (k + j) % 3 !== 0,
    })),
  );
}

/** The largest |q_py − q_ts| over the cases (samplingProbs on the TypeScript side). */
function worstProbError(cases: ReturnType<typeof probCasesFor>, got: number[][]): number {
  let worst = 0;
  cases.forEach((c, i) => {
    const want = samplingProbs(Float32Array.from(c.logits), c.params, c.thinking);
    const row = got[i]!;
    expect(row.length).toBe(want.length);
    for (let j = 0; j < want.length; j++) worst = Math.max(worst, Math.abs(row[j]! - want[j]!));
  });
  return worst;
}

const toJson = (s: DecodeRowState) => ({ ...s });
const ext = encode(EXTENSION_TEXT);

/** A whole decode's inputs: the decode config, a logit row, forced token (−1: none) and u per step. */
interface Sequence {
  decode: DecodeConfig;
  logits: Float32Array[];
  forced: number[];
  u: number[];
}

const sequenceJson = (s: Sequence) => ({
  decode: s.decode,
  logits: s.logits.map((r) => Array.from(r)),
  forced: s.forced,
  u: s.u,
  thinkStartId: THINK_START_ID,
  thinkEndId: THINK_END_ID,
  extensionIds: ext,
});

/** A decode-step case as the Python side gets it (prev: the token at this position; absent = unknown). */
interface StepCase {
  state: DecodeRowState;
  logits: number[];
  forced: number;
  params: SamplingParams;
  budget: BudgetForcing | null;
  thinkStartId: number;
  thinkEndId: number;
  u: number;
  prev?: number;
}

/** decodeStepRow on a step case. */
const stepOf = (c: StepCase) =>
  decodeStepRow(
    c.state,
    Float32Array.from(c.logits),
    c.forced,
    c.params,
    c.budget ?? undefined,
    c.thinkStartId,
    c.thinkEndId,
    c.u,
    c.prev,
  );

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
    const grid = firstRulesGrid();
    const probCases = probCasesFor(grid);
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
    const stepCases: StepCase[] = [];
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
      sequences: sequences.map(sequenceJson),
      uniform,
      scaled,
    });

    expect(worstProbError(probCases, got.probs)).toBeLessThanOrEqual(TOL);

    const rules = new Set<string>();
    stepCases.forEach((c, i) => {
      const want = stepOf(c);
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

const SEMI = encode(STEP_SEPARATOR)[0]!;

/** `row` with the stop token's logit set to (the largest other logit − offset). */
function stopBelowTop(row: Float32Array, offset: number): Float32Array {
  const out = Float32Array.from(row);
  let top = Number.NEGATIVE_INFINITY;
  out.forEach((x, i) => {
    if (i !== THINK_END_ID) top = Math.max(top, x);
  });
  out[THINK_END_ID] = top - offset;
  return out;
}

/** stopping_check.py's results on the Python files in `dir`. */
function runNewRules<T>(dir: string, cases: unknown): T {
  const path = join(dir, 'new-rules.json');
  writeFileSync(path, JSON.stringify(cases));
  return JSON.parse(python([join(import.meta.dirname, 'stopping_check.py'), dir, path])) as T;
}

describe('stopping.py equals src/cpu/sampling.ts on stop-logit TS and the margin rule', () => {
  it('on probabilities and margins, decode steps and whole decodes', () => {
    const rng = createRng(11);
    const stop = { stopTokenId: THINK_END_ID, stopTemperature: 1, stopLogitBias: 0 };
    const probParams = paramsGrid(
      [
        [0, 1],
        [5, 1],
        [0, 0.9],
      ],
      [
        { ...stop, stopLogitTemperature: 0.5 },
        { ...stop, stopLogitTemperature: 2 },
        { ...stop, stopLogitBias: 3, stopLogitTemperature: 0.7 },
        { ...stop, stopTemperature: 0.4, stopLogitBias: -2, stopLogitTemperature: 1.6 },
        { ...stop, stopMarginNats: 2, stopMarginBoundaryId: SEMI },
      ],
    );
    const probCases = probCasesFor(probParams);

    // Decode steps: margins set around δ (stop above the top; 0.3, 1.2 or 5 nats below it), δ 1 or 3, at every token or
    // after ';' with the previous token ';', another or unknown, a cap of 4 or none, 2 or 4 thinking tokens or not
    // thinking; τ_z and greedy/sampled vary along.
    const budgets: (BudgetForcing | null)[] = [
      null,
      { thinkingCapTokens: 4, minThinkingTokens: 0, maxExtensions: 0, extensionIds: [] },
    ];
    const states: DecodeRowState[] = [
      { thinking: true, thinkingTokens: 2, extensionsUsed: 0, pendingIndex: 0 },
      { thinking: true, thinkingTokens: 4, extensionsUsed: 0, pendingIndex: 0 },
      { thinking: false, thinkingTokens: 7, extensionsUsed: 0, pendingIndex: 0 },
    ];
    const stepCases: (StepCase & { params: Required<SamplingParams>; prev: number })[] = [];
    let k = 0;
    for (const offset of [-1, 0.3, 1.2, 5])
      for (const stopMarginNats of [1, 3])
        for (const stopMarginBoundaryId of [-1, SEMI])
          for (const prev of [SEMI, 30, -1])
            for (const budget of budgets)
              for (const state of states) {
                const stopLogitTemperature = [1, 1, 0.8, 1.25][k % 4]!;
                stepCases.push({
                  state,
                  logits: Array.from(stopBelowTop(LOGITS[(k * 5) % LOGITS.length]!, offset)),
                  forced: k % 29 === 0 ? 30 : -1,
                  params: {
                    temperature: k % 3 === 0 ? 0 : 0.9,
                    topK: k % 5 === 0 ? 5 : 0,
                    topP: 1,
                    stopTokenId: THINK_END_ID,
                    stopTemperature: 1,
                    stopLogitBias: k % 7 === 0 ? 0.5 : 0,
                    stopLogitTemperature,
                    stopMarginNats,
                    stopMarginBoundaryId,
                  },
                  budget,
                  prev,
                  thinkStartId: THINK_START_ID,
                  thinkEndId: THINK_END_ID,
                  u: rng.next(),
                });
                k++;
              }

    // Whole decodes: thinking reopens every 10 steps. 'ts_logit' on check.py's rows; 'margin' on rows whose stop
    // logit sits 0.2 to 8 nats below the top; at steps (greedy), ';' made the top at t ≡ 2, 5 (mod 10) and the margin
    // 5 nats at the boundary after the first, 0.5 after the second (and 0.3 at t ≡ 1, where no boundary precedes).
    const decodes: DecodeConfig[] = [
      { ...DEFAULT_DECODE_CONFIG, temperature: 1, intervention: 'ts_logit', stopLogitTemperature: 0.5 },
      { ...DEFAULT_DECODE_CONFIG, temperature: 0.7, topK: 8, intervention: 'ts_logit', stopLogitTemperature: 2 },
      { ...DEFAULT_DECODE_CONFIG, temperature: 0.8, intervention: 'margin', stopMarginNats: 2 },
      { ...DEFAULT_DECODE_CONFIG, temperature: 0, intervention: 'margin', stopMarginNats: 2, stopMarginAtSteps: true },
    ];
    const steps = 40;
    const sequences = decodes.map((decode, d) => {
      const logits = Array.from({ length: steps }, (_, t) => {
        const base = LOGITS[(d * 5 + t) % LOGITS.length]!;
        if (decode.intervention === 'ts_logit') {
          const row = Float32Array.from(base);
          if (t % 3 === 2) row[THINK_END_ID] = row[THINK_END_ID]! + 12;
          return row;
        }
        if (!decode.stopMarginAtSteps) return stopBelowTop(base, [5, 3.5, 2.5, 1.9, 8, 0.2, 4][t % 7]!);
        const row = stopBelowTop(base, [6, 0.3, 6, 5, 6, 6, 0.5, 6, 6, 6][t % 10]!);
        if (t % 10 === 2 || t % 10 === 5) row[SEMI] = row[THINK_END_ID]! + 20;
        return row;
      });
      const forced = Array.from({ length: steps }, (_, t) => (t % 10 === 0 ? THINK_START_ID : -1));
      const u = Array.from({ length: steps }, (_, t) => uniformFor(d + 7, t, 0));
      return { decode, logits, forced, u };
    });
    const prev0 = encode('=')[0]!;

    const dir = writePythonFiles();
    const got = runNewRules<{
      probs: number[][];
      margins: (number | string)[];
      steps: StepOut[];
      sequences: StepOut[][];
      unbound: (string | null)[];
    }>(dir, {
      probs: probCases,
      steps: stepCases,
      sequences: sequences.map((s) => ({ ...sequenceJson(s), prev: prev0, stepBoundaryId: SEMI })),
      unboundStepDecodes: [decodes[3]],
    });

    expect(worstProbError(probCases, got.probs)).toBeLessThanOrEqual(TOL);
    probCases.forEach((c, i) => {
      const margin = stopMargin(Float32Array.from(c.logits), c.params, c.thinking);
      if (Number.isNaN(margin)) expect(got.margins[i], `margin ${i}`).toBe('nan');
      else expect(Math.abs(pyNumber(got.margins[i]!) - margin), `margin ${i}`).toBeLessThanOrEqual(TOL);
    });

    // Each case labelled: where the rule looks, whether a cap is set, the rule that chose, the margin against δ.
    const labels = new Set<string>();
    let nearDelta = 0;
    stepCases.forEach((c, i) => {
      const want = stepOf(c);
      const margin = stopMargin(Float32Array.from(c.logits), c.params, c.state.thinking);
      if (Math.abs(margin - c.params.stopMarginNats) < 1e-6) nearDelta++;
      const where = c.params.stopMarginBoundaryId < 0 ? 'every' : c.prev === SEMI ? 'boundary' : 'off-boundary';
      labels.add(`${where} ${c.budget ? 'cap' : '-'} ${want.rule} ${margin < c.params.stopMarginNats ? '<δ' : '≥δ'}`);
      expectStep(got.steps[i]!, want, `margin step case ${i}`);
    });
    expect(nearDelta).toBe(0); // no case hangs on the last bit of the comparison
    for (const label of [
      'every - margin <δ',
      'every - sample ≥δ',
      'every cap margin <δ', // cap set, not reached
      'every cap cap <δ', // the cap first
      'boundary - margin <δ',
      'boundary - sample ≥δ',
      'boundary cap margin <δ',
      'boundary cap cap <δ',
      'off-boundary - sample <δ', // not after ';': the rule waits
      'off-boundary cap sample <δ',
    ])
      expect(labels, label).toContain(label);

    const seqRules = new Set<string>();
    sequences.forEach((s, d) => {
      const params = samplingFor(s.decode);
      const budget = budgetFor(s.decode);
      let state: DecodeRowState = { thinking: false, thinkingTokens: 0, extensionsUsed: 0, pendingIndex: 0 };
      let prev = prev0;
      const name =
        s.decode.intervention === 'ts_logit'
          ? `ts_logit τ_z ${s.decode.stopLogitTemperature}`
          : `margin δ ${s.decode.stopMarginNats}${s.decode.stopMarginAtSteps ? ' at steps' : ''}`;
      s.logits.forEach((logits, t) => {
        const want = decodeStepRow(
          state,
          logits,
          s.forced[t]!,
          params,
          budget,
          THINK_START_ID,
          THINK_END_ID,
          s.u[t]!,
          prev,
        );
        seqRules.add(
          `${name}: ${want.rule}${want.rule === 'sample' && want.token === THINK_END_ID ? ' </think>' : ''}`,
        );
        expectStep(got.sequences[d]![t]!, want, `${name} step ${t}`);
        if (want.rule === 'margin' && s.decode.stopMarginAtSteps) expect(prev, `${name} step ${t}`).toBe(SEMI);
        state = want.state;
        prev = want.token;
      });
    });
    for (const label of [
      'margin δ 2: margin',
      'margin δ 2: sample',
      'margin δ 2 at steps: margin',
      'margin δ 2 at steps: sample',
      'ts_logit τ_z 0.5: sample </think>',
    ])
      expect(seqRules, label).toContain(label);
    expect(got.unbound[0]).toMatch(/step_boundary_id/);
  });
});

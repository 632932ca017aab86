/**
 * A run's task data as TRL dataset rows (JSON Lines), deterministic from its RunConfig:
 *
 *   sft/train.jsonl      prompt–completion pairs: the run's SFT set (buildSftSet: trainSize, seed, target style,
 *                        instructions, length tags), completion = the target (`…</answer><eos>`), reward columns too
 *   sft/eval.jsonl       the held-out loss set (variant 'id', seed + HELD_OUT_SEED_OFFSET, the run's target style)
 *   grpo/train.jsonl     prompt-only rows: the RL prompts of every step in the order the run draws them
 *                        (rlPromptsAt(step) for step 0 … rl.steps − 1, levels mixed as the run mixes them)
 *   grpo/eval.jsonl      the run's evaluation set (eval.size, eval.variant, eval.seed, eval.lengthTag)
 *   heldout/<v>.jsonl    one suite per task variant (the generalization lab's: seed eval.seed + variant index)
 *
 * Every prompt row carries the columns the exported rewards read: arithmetic `answer`; General Points `cards`,
 * `rule` (the verifier's face rule) and `target`; Sokoban `board`, `accepted` (names of Up, Down, Left, Right) and
 * `optimal` (optimal first actions), plus `level`, `variant` and `key`.
 */
import { buildEvalSuite, buildSftSet, DEFAULT_HELD_OUT_PERCENT } from '../tasks/datasets';
import { LENGTH_TAG_TEXT } from '../tasks/format';
import { verifierRuleOf } from '../tasks/general_points';
import { arithmetic, type generalPoints, getTask, type sokoban } from '../tasks/index';
import { renderBoard } from '../tasks/sokoban';
import type { LengthTag, Sample } from '../tasks/types';
import { HELD_OUT_SEED_OFFSET, largestEvalSuite } from '../train/data';
import { rlPromptsAt } from '../train/grpo';
import { type RunConfig, rlConfigFor, taskConfigFor } from '../train/run_config';

export type Row = Record<string, unknown>;

/** The columns a task's reward reads for one problem. */
export function rewardColumns(task: RunConfig['task']['id'], problem: unknown): Row {
  if (task === 'arithmetic') {
    const p = problem as arithmetic.ArithmeticProblem;
    return { answer: String(arithmetic.solve(p)) };
  }
  if (task === 'general_points') {
    const p = problem as generalPoints.GpProblem;
    const r = verifierRuleOf(p);
    const rule = { J: r.J, Q: r.Q, K: r.K };
    return { cards: [...p.cards], rule, target: p.target, solution: p.solution };
  }
  const p = problem as sokoban.SokobanProblem;
  return { board: renderBoard(p.state), accepted: [...p.instruction.accepted], optimal: [...p.optimal] };
}

/** A prompt row: the prompt, its level and variant, the reward columns. */
export function promptRow(
  task: RunConfig['task']['id'],
  prompt: string,
  problem: unknown,
  level: LengthTag | null,
  variant: string,
): Row {
  return { prompt, level, variant, key: getTask(task).problemKey(problem), ...rewardColumns(task, problem) };
}

/** An SFT row: prompt, completion (the target), its metadata and the reward columns (to score completions too). */
function sftRow(s: Sample<unknown>): Row {
  return {
    prompt: s.prompt,
    completion: s.target,
    variant: s.meta.variant,
    level: s.meta.lengthTag,
    thinking_tokens: s.meta.thinkingTokens,
    key: s.meta.key,
    ...rewardColumns(s.meta.task, s.problem),
  };
}

export interface Split {
  /** Path in the export, e.g. 'grpo/train.jsonl'. */
  path: string;
  rows: Row[];
  /** What the split is and how it was drawn (dataset card). */
  description: string;
}

export interface SplitOptions {
  /** Problems per held-out suite (default: the run's eval.size). */
  suiteSize?: number;
  /** Rows of sft/train.jsonl (default: the run's sft.trainSize). */
  sftRows?: number;
  /** RL steps exported to grpo/train.jsonl (default: the run's rl.steps). */
  rlSteps?: number;
}

/** Every split of a run's export, in file order. */
export function buildSplits(c: RunConfig, opts: SplitOptions = {}): Split[] {
  const task = getTask(c.task.id);
  const config = taskConfigFor(c);
  const rl = rlConfigFor(c);
  const sftSize = opts.sftRows ?? c.sft.trainSize;
  const sft = buildSftSet({
    task: c.task.id,
    size: sftSize,
    seed: c.seed,
    config,
    style: c.task.targetStyle,
    instructions: c.task.instructions,
    lengthTags: c.sft.lengthTags ?? null,
  });
  const heldOutSeed = c.seed + HELD_OUT_SEED_OFFSET;
  const sftEval = largestEvalSuite(Math.max(c.sft.batchSize, 4), (size) =>
    buildEvalSuite({ task: c.task.id, size, variant: 'id', seed: heldOutSeed, config, style: c.task.targetStyle }),
  );
  const steps = opts.rlSteps ?? rl.steps;
  const grpo: Row[] = [];
  for (let step = 0; step < steps; step++) {
    for (const item of rlPromptsAt(c, step)) {
      grpo.push({ ...promptRow(c.task.id, item.prompt, item.problem, item.level, task.variantOf(item.problem)), step });
    }
  }
  const tag = c.eval.lengthTag ?? null;
  const evalSuite = largestEvalSuite(c.eval.size, (size) =>
    buildEvalSuite({ task: c.task.id, size, variant: c.eval.variant, seed: c.eval.seed, config }),
  );
  const suiteSize = opts.suiteSize ?? c.eval.size;
  const suites: Split[] = task.variants.map((variant, i) => {
    const samples = largestEvalSuite(suiteSize, (size) =>
      buildEvalSuite({ task: c.task.id, size, variant, seed: c.eval.seed + i, config }),
    );
    return {
      path: `heldout/${variant}.jsonl`,
      rows: samples.map((s) => promptRow(c.task.id, s.prompt, s.problem, null, variant)),
      description: `held-out suite '${variant}': seed ${c.eval.seed + i}, up to ${suiteSize} distinct problems`,
    };
  });
  return [
    {
      path: 'sft/train.jsonl',
      rows: sft.map(sftRow),
      description: `SFT prompt–completion pairs: seed ${c.seed}, ${c.task.targetStyle} targets, ${c.task.instructions} instructions${c.sft.lengthTags ? ', length-tagged prompts' : ''}`,
    },
    {
      path: 'sft/eval.jsonl',
      rows: sftEval.map(sftRow),
      description: `SFT held-out loss set: variant 'id', seed ${heldOutSeed}`,
    },
    {
      path: 'grpo/train.jsonl',
      rows: grpo,
      description: `GRPO prompts of RL steps 0–${steps - 1} in draw order, ${rl.promptsPerStep} per step, levels ${rl.levels.join('/') || 'none'}`,
    },
    {
      path: 'grpo/eval.jsonl',
      rows: evalSuite.map((s) =>
        promptRow(c.task.id, tag ? LENGTH_TAG_TEXT[tag] + s.prompt : s.prompt, s.problem, tag, c.eval.variant),
      ),
      description: `evaluation set: variant '${c.eval.variant}', seed ${c.eval.seed}${tag ? `, every prompt tagged <${tag}>` : ''}`,
    },
    ...suites,
  ];
}

/** One row per line, JSON. */
export function toJsonl(rows: readonly Row[]): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/** The dataset card: splits with counts and how they were drawn, variants, seeds, the split rule. */
export function datasetCard(name: string, c: RunConfig, splits: readonly Split[]): string {
  const variants = (rows: readonly Row[]) => [...new Set(rows.map((r) => String(r.variant)))].join(', ');
  const lines = [
    `# Dataset card: ${name}`,
    '',
    `Task \`${c.task.id}\`, generated by Stoptime from the run's settings (run seed ${c.seed}). Train and held-out`,
    `problems are split by a hash of the canonical problem key: ${DEFAULT_HELD_OUT_PERCENT}% of keys are held out and`,
    'never appear in a training split (docs/tasks.md in the Stoptime repository).',
    '',
    '| file | rows | variants | drawn |',
    '|---|---|---|---|',
    ...splits.map((s) => `| \`${s.path}\` | ${s.rows.length} | ${variants(s.rows)} | ${s.description} |`),
    '',
  ];
  return lines.join('\n');
}

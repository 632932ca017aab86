/**
 * "Export for TRL": a run's task data, rewards, stopping rules and settings as a folder (or zip) that trains a real
 * model with Hugging Face TRL. One pure function, `buildTrlExport`, used by `npm run export` (src/headless/
 * export_cli.ts) and by the playground (src/export/export.worker.ts, zipped there):
 *
 *   README.md               commands, what is and is not equal, the option mapping (TRL_VERSION)
 *   dataset_card.md         splits, variants, seeds, counts (task_rows.ts)
 *   sft/ grpo/ heldout/     JSON Lines in TRL's prompt–completion and prompt-only formats
 *   rewards.py              verifiers + TLDR rewards as TRL reward functions   reward_config.json: their settings
 *   stopping.py             stop-decision rules, plain functions + LogitsProcessor   stopping_config.json: the decode,
 *                           "Wait," and the step separator
 *   sft_config.json         SFTConfig fields             grpo_config.json: GRPOConfig fields
 *   train_sft.py            train_grpo.py                run_config.json: the run's whole config, unmapped options
 */
import { EXTENSION_TEXT, STEP_SEPARATOR } from '../train/evaluate';
import { type RunConfig, rlConfigFor, sftDataMode } from '../train/run_config';
import rewardsPy from './python/rewards.py?raw';
import stoppingPy from './python/stopping.py?raw';
import trainGrpoPy from './python/train_grpo.py?raw';
import trainSftPy from './python/train_sft.py?raw';
import { buildSplits, datasetCard, type SplitOptions, toJsonl } from './task_rows';
import {
  GRPO_OPTIONS,
  grpoConfigFor,
  type MappedConfig,
  mappingTable,
  SFT_OPTIONS,
  sftConfigFor,
  TRL_VERSION,
} from './trl_config';

export interface ExportFile {
  path: string;
  text: string;
}

export interface ExportSource {
  /** Run or experiment name. */
  name: string;
  config: RunConfig;
}

/** The Python files of every export, by name (also what the tests compile and run). */
export const PYTHON_FILES: Readonly<Record<string, string>> = {
  'rewards.py': rewardsPy,
  'stopping.py': stoppingPy,
  'train_sft.py': trainSftPy,
  'train_grpo.py': trainGrpoPy,
};

/** rewards.py's settings for a run (reward_config.json). */
export function rewardConfigFor(c: RunConfig) {
  const r = rlConfigFor(c).reward;
  return {
    task: c.task.id,
    target_style: c.task.targetStyle,
    format_reward: r.formatReward,
    length_penalty: r.lengthPenalty,
    lambda: r.lambda,
    budgets: { ...r.budgets },
  };
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Every file of the export of `source`, README first. */
export function buildTrlExport(source: ExportSource, opts: SplitOptions = {}): ExportFile[] {
  const c = source.config;
  if (sftDataMode(c) === 'fresh') {
    throw new Error(
      "TRL export: this run trains on fresh data (sft.data 'fresh': a new example every row of every step), which " +
        "TRL's SFTTrainer cannot express (it trains on a fixed dataset); set sft.data to 'fixed' to export the run's " +
        'training set of sft.trainSize examples',
    );
  }
  const splits = buildSplits(c, opts);
  const sft = sftConfigFor(c);
  const grpo = grpoConfigFor(c);
  const files: ExportFile[] = [
    {
      path: 'README.md',
      text: exportReadme(
        source,
        sft,
        grpo,
        splits.map((s) => ({ path: s.path, rows: s.rows.length })),
      ),
    },
    { path: 'dataset_card.md', text: datasetCard(source.name, c, splits) },
    ...splits.map((s) => ({ path: s.path, text: toJsonl(s.rows) })),
    { path: 'reward_config.json', text: json(rewardConfigFor(c)) },
    {
      path: 'stopping_config.json',
      text: json({ decode: c.decode, extension_text: EXTENSION_TEXT, step_separator: STEP_SEPARATOR }),
    },
    { path: 'sft_config.json', text: json(sft.config) },
    { path: 'grpo_config.json', text: json(grpo.config) },
    {
      path: 'run_config.json',
      text: json({ name: source.name, config: c, unmapped: { sft: sft.unmapped, rl: grpo.unmapped } }),
    },
    ...Object.entries(PYTHON_FILES).map(([path, text]) => ({ path, text })),
  ];
  return files;
}

function exportReadme(
  source: ExportSource,
  sft: MappedConfig,
  grpo: MappedConfig,
  splits: { path: string; rows: number }[],
): string {
  const c = source.config;
  const rl = rlConfigFor(c);
  const unmapped = [
    ...Object.entries(sft.unmapped).map(([k, v]) => `- SFT \`${k}\` = \`${JSON.stringify(v)}\``),
    ...Object.entries(grpo.unmapped).map(([k, v]) => `- RL \`${k}\` = \`${JSON.stringify(v)}\``),
  ];
  return `# ${source.name}: Stoptime export for TRL

Task \`${c.task.id}\` (${c.task.targetStyle} targets, ${c.task.instructions} instructions), run seed ${c.seed}.
RL settings: ${c.rl ? "the run's own" : "Stoptime's defaults (the run has no RL settings of its own)"}.
The option mapping follows **TRL ${TRL_VERSION}** (\`SFTConfig\`, \`GRPOConfig\`).

## Files

${splits.map((s) => `- \`${s.path}\`: ${s.rows} rows`).join('\n')}
- \`dataset_card.md\`: how each split was drawn (variants, seeds, the train/held-out rule).
- \`rewards.py\` (+ \`reward_config.json\`): the task verifier and the TLDR rewards as TRL reward functions
  (\`correctness_reward\`, \`format_reward\`, \`length_reward\`; \`REWARD_FUNCS\` lists them; standard library only).
- \`stopping.py\` (+ \`stopping_config.json\`, the run's decode settings): temperature scaling of the stop decision
  (\`ts\`, τ), the stop-token logit bias (\`bias\`), stop-logit temperature scaling (\`ts_logit\`, τ_z: the
  \`</think>\` logit divided by τ_z), the margin rule (\`margin\`, ThinkBrake: \`</think>\` when max logit −
  \`</think>\` logit < δ nats, at every token or only after a step's "${STEP_SEPARATOR}") and s1 budget forcing (\`cap\`,
  \`extend\` with "${EXTENSION_TEXT}") as plain functions and a \`transformers\` logits processor
  (\`StopTimeLogitsProcessor\`).
- \`sft_config.json\`, \`grpo_config.json\`: \`SFTConfig(**json)\` / \`GRPOConfig(**json)\`; \`run_config.json\`: the
  run's own config and the options TRL lacks.
- \`train_sft.py\`, \`train_grpo.py\`.

## Train

\`\`\`sh
pip install trl accelerate datasets
accelerate launch train_sft.py --model Qwen/Qwen3-0.6B --output_dir out/sft
accelerate launch train_grpo.py --model out/sft --output_dir out/grpo
# N GPUs: accelerate launch --num_processes N train_grpo.py ... --per_device_train_batch_size ${rl.promptsPerStep * rl.generationsPerPrompt}/N (kept a multiple of ${rl.generationsPerPrompt})
\`\`\`

Any \`--field value\` after the script overrides its config (\`--max_steps 50\`, \`--num_generations 4\`). The batch
sizes assume one process: per_device_train_batch_size = ${rl.promptsPerStep} prompts × ${rl.generationsPerPrompt}
generations; divide it by the number of processes (it must stay a multiple of num_generations for the group length
reward, which groups the completions of one prompt within one reward call). \`grpo/train.jsonl\` holds the run's RL
prompts in draw order, and grpo_config.json sets \`shuffle_dataset\` to false to keep it.

Decoding with the stop rules (evaluation; the processor needs \`<think>\` and \`</think>\` to be single tokens of the
model: add them with \`tokenizer.add_tokens([...])\`, not as special tokens, and resize the embeddings):

\`\`\`python
import json, stopping
from transformers import LogitsProcessorList
d = json.load(open("stopping_config.json"))
ext = tokenizer("${EXTENSION_TEXT}", add_special_tokens=False).input_ids
start, end = tokenizer.convert_tokens_to_ids(["<think>", "</think>"])
step = tokenizer(d["step_separator"], add_special_tokens=False).input_ids[-1]  # for the margin rule "at steps"
params, budget = stopping.settings_from_decode(d["decode"], end, ext, step)
proc = stopping.StopTimeLogitsProcessor(params, budget, start, end, seed=0)
model.generate(**inputs, do_sample=False, logits_processor=LogitsProcessorList([proc]))
\`\`\`

## What is equal, what is not

- **Equal** (tested in Stoptime's CI with python3): every reward function gives the TypeScript verifier's and reward's
  value on the same completion text (over 10,000 generated and fuzzed completions per task); the stopping functions
  give src/cpu/sampling.ts's probabilities, tokens and states on the same logits (within 1e-6); the config mapping
  round-trips every RL option.
- **Not equal: tokenizers.** Stoptime counts one token per character (tags one each); a real model's tokenizer does
  not. Budgets (\`budgets\` in reward_config.json: ${rl.reward.budgets.short}/${rl.reward.budgets.medium}/${rl.reward.budgets.long}),
  \`max_completion_length\` (${rl.maxCompletionTokens}) and the stop rules' token counts are in the **target model's**
  tokens once \`train_grpo.py\` calls \`rewards.set_token_counter\` with its tokenizer: rescale them for that model.
  The tags (\`<think>\`, \`</answer>\`, \`<eos>\`, …) are plain text in the data; keep them in decoded completions (do not
  register them as special tokens that \`skip_special_tokens\` drops). The SFT completion ends with the literal
  \`<eos>\`, and TRL appends the model's own EOS after it.
- **Not equal: logit scales and step tokens.** \`ts_logit\` (τ_z) and \`margin\` (δ nats) act on the raw \`</think>\`
  logit and the gap to the top logit, so their values depend on the model's logit scale: retune them. The margin
  rule's "at steps" option fires only right after the token \`step\` above; a tokenizer that merges
  "${STEP_SEPARATOR}" with its neighbours emits that token rarely or never.
- **Not equal: models and optimisers.** The model is the one you choose; SFT uses AdamW with Stoptime's betas and a
  cosine schedule to 10% (\`cosine_with_min_lr\`); GRPO a constant rate, no weight decay.
- **Group length reward:** \`length_reward\` groups completions by prompt text within one call; TRL may split a group
  across processes when per_device_train_batch_size is not a multiple of num_generations.
- **Stop rules during RL:** TRL's rollouts do not run \`StopTimeLogitsProcessor\` (GRPOConfig takes no logits
  processor); in Stoptime too they are decoding methods for evaluation.
- Sokoban's held-out suites are multi-step episodes in Stoptime; here each row is the level's first move.

## Options TRL lacks

${unmapped.length > 0 ? unmapped.join('\n') : '- none'}

## SFT mapping (SFTConfig)

${mappingTable(SFT_OPTIONS, c.sft)}

## RL mapping (GRPOConfig)

${mappingTable(GRPO_OPTIONS, rl)}
`;
}

"""GRPO / TLDR on the exported Stoptime prompts with TRL's GRPOTrainer and the exported rewards.

    accelerate launch train_grpo.py --model out/sft --output_dir out/grpo

Reads grpo_config.json (the run's RL settings as GRPOConfig fields), grpo/train.jsonl (the run's RL prompts in the
order its steps drew them, with the columns the rewards read) and grpo/eval.jsonl. Rewards: rewards.REWARD_FUNCS
(correctness, format, length), summed by TRL; thinking length is counted in the model's own tokens. Command-line
flags override the config: --max_steps 100, --num_generations 4, ...
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import rewards  # noqa: E402
from train_sft import command_line  # noqa: E402


def main():
    from datasets import load_dataset
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    args, settings = command_line(__doc__, "grpo_config.json", "out/grpo")
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    rewards.set_token_counter(lambda text: len(tokenizer(text, add_special_tokens=False).input_ids))
    data = load_dataset(
        "json",
        data_files={"train": os.path.join(HERE, "grpo/train.jsonl"), "eval": os.path.join(HERE, "grpo/eval.jsonl")},
    )
    config = GRPOConfig(output_dir=args.output_dir, **settings)
    trainer = GRPOTrainer(
        model=args.model,
        processing_class=tokenizer,
        reward_funcs=rewards.REWARD_FUNCS,
        args=config,
        train_dataset=data["train"],
        eval_dataset=data["eval"] if config.eval_strategy != "no" else None,
    )
    trainer.train()
    trainer.save_model(args.output_dir)


if __name__ == "__main__":
    main()

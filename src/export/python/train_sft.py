"""Supervised fine-tuning on the exported Stoptime data with TRL's SFTTrainer.

    accelerate launch train_sft.py --model Qwen/Qwen3-0.6B --output_dir out/sft

Reads sft_config.json (the run's SFT settings as SFTConfig fields) and sft/train.jsonl, sft/eval.jsonl
(prompt-completion rows; completions end with the literal text `<eos>`, and SFTTrainer appends the model's own EOS).
Command-line flags override the config: --max_steps 100, --per_device_train_batch_size 8, ...
"""

import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def command_line(doc, config_name, default_output):
    """(args, settings): --model and --output_dir, and the JSON config with the other `--field value` pairs over it."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model name or path (a causal LM)")
    parser.add_argument("--output_dir", default=default_output)
    args, overrides = parser.parse_known_args()
    return args, load_settings(config_name, overrides)


def load_settings(name, overrides):
    """The JSON config `name` beside this file, with `--field value` pairs from the command line over it."""
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        settings = json.load(f)
    if len(overrides) % 2:
        raise SystemExit(f"expected --field value pairs, got {overrides}")
    for flag, value in zip(overrides[::2], overrides[1::2]):
        try:
            settings[flag.lstrip("-")] = json.loads(value)
        except ValueError:
            settings[flag.lstrip("-")] = value
    return settings


def main():
    from datasets import load_dataset
    from trl import SFTConfig, SFTTrainer

    args, settings = command_line(__doc__, "sft_config.json", "out/sft")
    data = load_dataset(
        "json",
        data_files={"train": os.path.join(HERE, "sft/train.jsonl"), "eval": os.path.join(HERE, "sft/eval.jsonl")},
    )
    columns = ["prompt", "completion"]
    train = data["train"].select_columns(columns)
    evaluation = data["eval"].select_columns(columns)
    config = SFTConfig(output_dir=args.output_dir, **settings)
    trainer = SFTTrainer(
        model=args.model,
        args=config,
        train_dataset=train,
        eval_dataset=evaluation if config.eval_strategy != "no" else None,
    )
    trainer.train()
    trainer.save_model(args.output_dir)


if __name__ == "__main__":
    main()

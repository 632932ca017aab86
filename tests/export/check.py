"""Runs an export's Python on cases written by tests/export/*.test.ts and prints the results as JSON.

    python3 check.py <export dir> <cases.json>

cases.json: {"kind": "rewards", "batches": [{"config", "completions", "rows", "groups"}], "verify": {"task",
"texts", "rows"}} or {"kind": "stopping", "probs": [...], "steps": [...], "sequences": [...], "uniform": [...]}.
The TypeScript side compares the results with its own; this script only computes (standard library only).
"""

import json
import math
import sys


def num(x):
    """JSON-safe float: ±inf and NaN as strings."""
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def run_rewards(rewards, cases):
    out = {"batches": [], "verify": None, "trl": []}
    table = cases["rows"]  # each problem's row once; batches and verify cases name rows by index
    for batch in cases["batches"]:
        batch["rows"] = [table[i] for i in batch["rows"]]
        parts = rewards.score_batch(batch["completions"], batch["rows"], batch["groups"], batch["config"])
        out["batches"].append([list(p) for p in parts])
        # The TRL-facing functions on the same batch: columns as kwargs, groups from the prompts.
        rewards.configure(**batch["config"])
        columns = {k: [r.get(k) for r in batch["rows"]] for k in batch["rows"][0]}
        prompts = [f"group {g}" for g in batch["groups"]]
        out["trl"].append([f(batch["completions"], prompts=prompts, **columns) for f in rewards.REWARD_FUNCS])
    v = cases["verify"]
    out["verify"] = [
        rewards.verify(v["task"], rewards.completion_text(t), table[r]) for t, r in zip(v["texts"], v["rows"])
    ]
    out["optimal"] = [rewards.optimal_actions(b) for b in cases.get("boards", [])]
    return out


def params_of(stopping, p):
    return stopping.SamplingParams(
        temperature=p["temperature"], top_k=p["topK"], top_p=p["topP"], stop_token_id=p["stopTokenId"],
        stop_temperature=p["stopTemperature"], stop_logit_bias=p["stopLogitBias"],
    )


def budget_of(stopping, b):
    if b is None:
        return None
    return stopping.BudgetForcing(
        thinking_cap_tokens=b["thinkingCapTokens"], min_thinking_tokens=b["minThinkingTokens"],
        max_extensions=b["maxExtensions"], extension_ids=tuple(b["extensionIds"]),
    )


def state_of(stopping, s):
    return stopping.DecodeState(s["thinking"], s["thinkingTokens"], s["extensionsUsed"], s["pendingIndex"])


def state_json(s):
    return {"thinking": s.thinking, "thinkingTokens": s.thinking_tokens, "extensionsUsed": s.extensions_used,
            "pendingIndex": s.pending_index}


def step_json(step):
    return {"token": step.token, "logprob": num(step.logprob), "rule": step.rule, "state": state_json(step.state)}


def run_stopping(stopping, cases):
    out = {"probs": [], "steps": [], "sequences": [], "uniform": [], "scaled": []}
    for c in cases["probs"]:
        out["probs"].append(stopping.sampling_probs(c["logits"], params_of(stopping, c["params"]), c["thinking"]))
    for c in cases["steps"]:
        step = stopping.decode_step_row(
            state_of(stopping, c["state"]), c["logits"], c["forced"], params_of(stopping, c["params"]),
            budget_of(stopping, c["budget"]), c["thinkStartId"], c["thinkEndId"], c["u"],
        )
        out["steps"].append(step_json(step))
    for c in cases["sequences"]:
        params, budget = stopping.settings_from_decode(c["decode"], c["thinkEndId"], c["extensionIds"])
        state = stopping.DecodeState()
        trace = []
        for logits, forced, u in zip(c["logits"], c["forced"], c["u"]):
            step = stopping.decode_step_row(state, logits, forced, params, budget, c["thinkStartId"], c["thinkEndId"], u)
            state = step.state
            trace.append(step_json(step))
        out["sequences"].append(trace)
    out["uniform"] = [stopping.uniform_for(s, t, r) for s, t, r in cases["uniform"]]
    out["scaled"] = [stopping.stop_scaled_prob(p, tau) for p, tau in cases["scaled"]]
    return out


def main():
    export_dir, cases_path = sys.argv[1], sys.argv[2]
    sys.path.insert(0, export_dir)
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    if cases["kind"] == "rewards":
        import rewards

        result = run_rewards(rewards, cases)
    elif cases["kind"] == "stopping":
        import stopping

        result = run_stopping(stopping, cases)
    else:
        raise SystemExit(f"unknown kind {cases['kind']!r}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()

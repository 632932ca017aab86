"""Stoptime's stop-decision rules as plain functions and a `transformers` logits processor.

Written by Stoptime's "Export for TRL" (src/export/python/stopping.py). The reference is src/cpu/sampling.ts (the
CPU twin of the GPU sampler); the export's tests check these functions against it on recorded logits.

Order of operations for one row of logits [V] (sampling.ts's header):
  (1) while thinking and a stop token is set: logits[stop] += stop_logit_bias, then logits[stop] /= τ_z
      (stop_logit_temperature, "stop-logit TS"; 1 = off); the margin rule reads its margin here, after (1):
      max_i x_i − x_stop;
  (2) softmax at temperature T (T = 0: greedy, the pipeline runs at T = 1 and the token is the argmax);
  (3) while thinking, τ = stop_temperature ≠ 1: p = q[stop] becomes σ(logit(p)/τ), every other token is scaled by
      (1 − p')/(1 − p);
  (4) top-k; (5) top-p (mass strictly before a token < top_p keeps it); renormalise: the final distribution q;
  (6) inverse-CDF sampling with u in [0, 1) (uniform_for: the same PCG hash as the GPU sampler).
One decode step (decode_step_row) adds s1 budget forcing and the margin rule: a forced token, then a pending extension
id, then the cap (force `</think>` once thinking has `thinking_cap_tokens` tokens), then the margin rule (ThinkBrake:
while thinking, the stop token when max logit − stop logit < δ = stop_margin_nats after (1); with
stop_margin_boundary_id ≥ 0 only when the previous token, the one at this position, is that id, e.g. a step's ';'),
then the sampled token, except that a sampled `</think>` before `min_thinking_tokens` is replaced by the extension
("Wait,") at most `max_extensions` times.

The plain functions need nothing but the standard library. `StopTimeLogitsProcessor` (needs torch) runs
decode_step_row on each row and returns scores that allow only the chosen token, so `generate(do_sample=False,
logits_processor=LogitsProcessorList([processor]))` emits exactly what the rules choose. It converts each row to a
Python list: exact, but tens of milliseconds per row and step for a 150k vocabulary.
"""

import math
from dataclasses import dataclass, field, replace

try:  # optional: the plain functions below work without torch and transformers
    import torch
    from transformers import LogitsProcessor
except ImportError:  # pragma: no cover - exercised where torch is absent
    torch = None
    LogitsProcessor = object


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.0  # 0: greedy
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1: off
    stop_token_id: int = -1  # -1: none
    stop_temperature: float = 1.0  # τ; 1: off
    stop_logit_bias: float = 0.0  # 0: off
    stop_logit_temperature: float = 1.0  # τ_z, stop-logit TS; 1: off
    stop_margin_nats: float = 0.0  # δ, the margin rule; 0: off
    stop_margin_boundary_id: int = -1  # the margin rule only after this token; -1: at every token


@dataclass(frozen=True)
class BudgetForcing:
    thinking_cap_tokens: int = 0  # 0: off
    min_thinking_tokens: int = 0  # 0: off
    max_extensions: int = 0
    extension_ids: tuple = ()


@dataclass(frozen=True)
class DecodeState:
    thinking: bool = False
    thinking_tokens: int = 0
    extensions_used: int = 0
    pending_index: int = 0


@dataclass(frozen=True)
class DecodeStep:
    token: int
    logprob: float
    state: DecodeState
    rule: str  # 'forced' | 'pending' | 'cap' | 'margin' | 'extend' | 'sample'


def pcg_hash(x):
    """PCG-RXS-M-XS 32 (the shader's and sampling.ts's hash)."""
    state = ((x & 0xFFFFFFFF) * 747796405 + 2891336453) & 0xFFFFFFFF
    word = (((state >> ((state >> 28) + 4)) ^ state) * 277803737) & 0xFFFFFFFF
    return ((word >> 22) ^ word) & 0xFFFFFFFF


def uniform_for(seed, step, row):
    """u in [0, 1) for (seed, step, row): (pcg(pcg(pcg(seed) ^ step) ^ row) >> 8) / 2^24."""
    h = pcg_hash(pcg_hash(pcg_hash(seed & 0xFFFFFFFF) ^ (step & 0xFFFFFFFF)) ^ (row & 0xFFFFFFFF))
    return (h >> 8) / 16777216


def stop_scaled_prob(p_stop, tau):
    """σ(logit(p)/τ) = p^(1/τ) / (p^(1/τ) + (1 − p)^(1/τ)); 0 and 1 are fixed points."""
    if p_stop <= 0:
        return 0.0
    if p_stop >= 1:
        return 1.0
    z = (math.log(p_stop) - math.log1p(-p_stop)) / tau
    if -z > 709:  # exp overflows: JavaScript's Infinity gives 1 / (1 + ∞) = 0
        return 0.0
    return 1 / (1 + math.exp(-z))


def adjusted_logits(logits, params, thinking):
    """The logits after step (1): while thinking, (logits[stop] + stop_logit_bias) / stop_logit_temperature."""
    x = [float(v) for v in logits]
    if thinking and 0 <= params.stop_token_id < len(x):
        x[params.stop_token_id] = (x[params.stop_token_id] + params.stop_logit_bias) / params.stop_logit_temperature
    return x


def stop_margin(logits, params, thinking):
    """The margin rule's margin, max_i x_i − x_stop over the logits after step (1); NaN when no stop token applies."""
    if not (thinking and 0 <= params.stop_token_id < len(logits)):
        return math.nan
    x = adjusted_logits(logits, params, thinking)
    return max(x) - x[params.stop_token_id]


def margin_fires(logits, params, thinking, prev_token):
    """The margin rule is on, applies after prev_token and the margin is below δ."""
    if not params.stop_margin_nats > 0:
        return False
    if params.stop_margin_boundary_id >= 0 and prev_token != params.stop_margin_boundary_id:
        return False
    return stop_margin(logits, params, thinking) < params.stop_margin_nats  # NaN: False


def sampling_probs(logits, params, thinking):
    """The final distribution q [V] (steps 1–5) for one row of logits."""
    V = len(logits)
    if V == 0:
        raise ValueError("sampling: empty logits")
    stop = params.stop_token_id if thinking and 0 <= params.stop_token_id < V else -1
    x = adjusted_logits(logits, params, thinking)
    T = params.temperature if params.temperature > 0 else 1.0
    m = max(x)
    q = [math.exp((v - m) / T) for v in x]
    total = 0.0
    for v in q:  # left to right, as sampling.ts sums
        total += v
    q = [v / total for v in q]
    if stop >= 0 and params.stop_temperature != 1:
        ps = q[stop]
        if ps > 0:
            p_new = stop_scaled_prob(ps, params.stop_temperature)
            f = (1 - p_new) / (1 - ps) if ps < 1 else 0.0
            q = [p_new if i == stop else v * f for i, v in enumerate(q)]
    use_k = 0 < params.top_k < V
    use_p = params.top_p < 1
    if use_k or use_p:
        order = sorted(range(V), key=lambda i: (-q[i], i))
        if use_k:
            for i in order[params.top_k:]:
                q[i] = 0.0
        if use_p:
            z = 0.0
            for v in q:
                z += v
            before = 0.0
            for i in order:
                v = q[i]
                if not before < params.top_p * z:
                    q[i] = 0.0
                before += v
    z = 0.0
    for v in q:
        z += v
    return [v / z for v in q]


def inverse_cdf(q, u):
    """Smallest i with Σ_{j ≤ i} q_j > u·Σq, else the largest id with q > 0."""
    total = 0.0
    for v in q:
        total += v
    target, c, last = u * total, 0.0, 0
    for i, v in enumerate(q):
        c += v
        if v > 0:
            last = i
        if c > target:
            return i
    return last


def argmax(q):
    best = 0
    for i in range(1, len(q)):
        if q[i] > q[best]:
            best = i
    return best


def advance_state(state, token, think_start_id, think_end_id):
    """The state after emitting `token`."""
    if token == think_start_id:
        return replace(state, thinking=True, thinking_tokens=0)
    if token == think_end_id:
        return replace(state, thinking=False)
    return replace(state, thinking_tokens=state.thinking_tokens + 1) if state.thinking else state


def decode_step_row(state, logits, forced_token, params, budget, think_start_id, think_end_id, u, prev_token=-1):
    """One decode step of one row (sampling.ts decodeStepRow): the token, log q[token], the next state, the rule.
    prev_token: the token at this position (the margin rule's step-boundary option reads it; -1: unknown)."""
    b = budget or BudgetForcing()
    ext = tuple(b.extension_ids)
    q = sampling_probs(logits, params, state.thinking)
    sampled = argmax(q) if params.temperature == 0 else inverse_cdf(q, u)
    budget_on = state.thinking and think_end_id >= 0
    token, rule = sampled, "sample"
    used, pending = state.extensions_used, state.pending_index
    if forced_token >= 0:
        token, rule = forced_token, "forced"
    elif pending > 0:
        if pending >= len(ext):
            raise ValueError(f"decode state: pending_index {pending} with {len(ext)} extension ids")
        token, rule = ext[pending], "pending"
        pending = pending + 1 if pending + 1 < len(ext) else 0
    elif budget_on and b.thinking_cap_tokens > 0 and state.thinking_tokens >= b.thinking_cap_tokens:
        token, rule = think_end_id, "cap"
    elif margin_fires(logits, params, state.thinking, prev_token):
        token, rule = params.stop_token_id, "margin"
    elif (
        budget_on
        and sampled == think_end_id
        and state.thinking_tokens < b.min_thinking_tokens
        and used < b.max_extensions
        and len(ext) > 0
    ):
        token, rule = ext[0], "extend"
        used += 1
        pending = 1 if len(ext) > 1 else 0
    logprob = (math.log(q[token]) if q[token] > 0 else -math.inf) if token < len(q) else -math.inf
    nxt = advance_state(replace(state, extensions_used=used, pending_index=pending), token, think_start_id, think_end_id)
    return DecodeStep(token, logprob, nxt, rule)


def settings_from_decode(decode, think_end_id, extension_ids, step_boundary_id=-1):
    """SamplingParams and BudgetForcing from a Stoptime decode config (stopping_config.json's "decode"): one
    intervention at a time, as src/train/evaluate.ts samplingFor / budgetFor. step_boundary_id: the target model's
    token for stopping_config.json's "step_separator" (';'), needed by 'margin' with stopMarginAtSteps."""
    iv = decode["intervention"]
    at_steps = iv == "margin" and decode.get("stopMarginAtSteps", False)
    if at_steps and step_boundary_id < 0:
        raise ValueError("settings_from_decode: stopMarginAtSteps needs step_boundary_id (the token of ';')")
    params = SamplingParams(
        temperature=decode["temperature"],
        top_k=decode["topK"],
        top_p=decode["topP"],
        stop_token_id=think_end_id if iv in ("ts", "bias", "ts_logit", "margin") else -1,
        stop_temperature=decode["stopTemperature"] if iv == "ts" else 1.0,
        stop_logit_bias=decode["stopLogitBias"] if iv == "bias" else 0.0,
        stop_logit_temperature=decode.get("stopLogitTemperature", 1.0) if iv == "ts_logit" else 1.0,
        stop_margin_nats=decode.get("stopMarginNats", 0.0) if iv == "margin" else 0.0,
        stop_margin_boundary_id=step_boundary_id if at_steps else -1,
    )
    budget = None
    if iv == "cap":
        budget = BudgetForcing(thinking_cap_tokens=decode["thinkingBudgetTokens"])
    elif iv == "extend":
        budget = BudgetForcing(
            min_thinking_tokens=decode["minThinkingTokens"],
            max_extensions=decode["maxExtensions"],
            extension_ids=tuple(extension_ids),
        )
    return params, budget


@dataclass
class _Row:
    state: DecodeState = field(default_factory=DecodeState)
    seen: int = 0


class StopTimeLogitsProcessor(LogitsProcessor):
    """Applies decode_step_row to every row at every step and allows only the chosen token (scores: 0 there, −inf
    elsewhere). Use with do_sample=False. Each row's state starts from its prompt (a prompt ending in `<think>` starts
    thinking) and then follows the chosen tokens; create one processor per generate call."""

    def __init__(self, params, budget, think_start_id, think_end_id, seed=0):
        if torch is None:
            raise ImportError("StopTimeLogitsProcessor needs torch and transformers; the plain functions do not")
        self.params, self.budget = params, budget
        self.think_start_id, self.think_end_id, self.seed = think_start_id, think_end_id, seed
        self.rows = []

    def __call__(self, input_ids, scores):
        ids = input_ids.tolist()
        if not self.rows:
            self.rows = [_Row() for _ in ids]
        out = torch.full_like(scores, -math.inf)
        for r, seq in enumerate(ids):
            row = self.rows[r]
            # The prompt on the first call; later, nothing: the token chosen last time is already in the state.
            for token in seq[row.seen:]:
                row.state = advance_state(row.state, token, self.think_start_id, self.think_end_id)
            u = uniform_for(self.seed, len(seq) - 1, r)  # the position of seq[-1], as Stoptime's generators
            step = decode_step_row(
                row.state, scores[r].double().tolist(), -1, self.params, self.budget,
                self.think_start_id, self.think_end_id, u, seq[-1] if seq else -1,
            )
            row.state, row.seen = step.state, len(seq) + 1
            out[r, step.token] = 0.0
        return out

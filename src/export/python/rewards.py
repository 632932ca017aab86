"""Stoptime's task verifiers and TLDR rewards as TRL reward functions (Python standard library only).

Written by Stoptime's "Export for TRL" (src/export/python/rewards.py); the TypeScript originals are
src/tasks/{format,arithmetic,general_points,sokoban}.ts and src/train/rewards.ts, and the export's tests check that
both give the same reward on the same completion text.

Text format (src/tasks/types.ts): prompt = [length tag] + question; completion =
`<think>` trace `</think><answer>` a `</answer><eos>` (chain of thought) or `<answer>` a `</answer><eos>`. The tags
are plain text here: keep them in the decoded completion (do not register them as special tokens that
`skip_special_tokens` would drop).

TRL reward functions: `f(completions, **kwargs) -> list[float]`, the dataset's columns arriving as kwargs, one value
per completion. GRPOTrainer sums them (weights: GRPOConfig.reward_weights), so

    reward = correctness_reward + format_reward + length_reward     (src/train/rewards.ts: 1[correct] + format + length)

Settings come from reward_config.json beside this file (the run's `rl.reward`, task and target style); `configure`
replaces them. Thinking length is counted with `count_tokens`, Stoptime's character tokenizer by default: call
`set_token_counter` with the target model's tokenizer so budgets count that model's tokens.

Strings are examined as JavaScript does, in UTF-16 code units (`_units`), so slicing at 8192 units, lengths and
indices agree with the TypeScript verifiers on any text, emoji and lone surrogates included.
"""

import json
import os
import re
from array import array
from collections import deque
from fractions import Fraction
from functools import lru_cache

MAX_COMPLETION_CHARS = 8192
SPECIAL_TOKENS = ("<pad>", "<eos>", "<think>", "</think>", "<answer>", "</answer>", "<short>", "<medium>", "<long>")
THINK_START, THINK_END = "<think>", "</think>"
ANSWER_START, ANSWER_END, EOS = "<answer>", "</answer>", "<eos>"
LEVELS = ("short", "medium", "long")
# JavaScript's String.prototype.trim set (WhiteSpace and LineTerminator): str.strip() differs (\x1c-\x1f, \ufeff).
_JS_SPACE = "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"

DEFAULT_CONFIG = {
    "task": "arithmetic",
    "target_style": "cot",
    "format_reward": 0.1,
    "length_penalty": "budget",
    "lambda": 0.5,
    "budgets": {"short": 16, "medium": 32, "long": 64},
}


def _load_config():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reward_config.json")
    if not os.path.exists(path):
        return dict(DEFAULT_CONFIG)
    with open(path, encoding="utf-8") as f:
        return {**DEFAULT_CONFIG, **json.load(f)}


CONFIG = _load_config()


def configure(**settings):
    """Replaces reward settings (keys of DEFAULT_CONFIG); returns the config in use."""
    unknown = set(settings) - set(DEFAULT_CONFIG)
    if unknown:
        raise KeyError(f"unknown reward settings: {sorted(unknown)}")
    CONFIG.update(settings)
    return CONFIG


# ---------------------------------------------------------------- text helpers (src/tasks/format.ts, tokenizer.ts)


def _units(text):
    """The text as a string of UTF-16 code units (one character per unit, surrogates unpaired), as JavaScript sees it."""
    if not isinstance(text, str):
        return ""
    if text.isascii():
        return text
    raw = text.encode("utf-16-le", "surrogatepass")
    return "".join(map(chr, array("H", raw))) if len(raw) % 2 == 0 else ""


def completion_text(completion):
    """The text of one completion: a string (standard format) or the last message's content (conversational)."""
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        completion = completion[-1].get("content", "")
    return _units(completion)


def _capped(text):
    return text[:MAX_COMPLETION_CHARS]


def _first_of(text, start, needles):
    best = len(text)
    for n in needles:
        i = text.find(n, start)
        if 0 <= i < best:
            best = i
    return best


def extract_answer(text):
    """The answer after the first `</think>` (if any): from `<answer>` to `</answer>` or `<eos>`, JS-trimmed; None if
    absent or empty. `text` is in UTF-16 units (completion_text)."""
    text = _capped(text)
    think_end = text.find(THINK_END)
    start = text.find(ANSWER_START, think_end + len(THINK_END) if think_end >= 0 else 0)
    if start < 0:
        return None
    start += len(ANSWER_START)
    answer = text[start:_first_of(text, start, (ANSWER_END, EOS))].strip(_JS_SPACE)
    return answer or None


_SPECIAL_RE = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")


@lru_cache(maxsize=8192)
def tokens_of(text):
    """Stoptime's tokenization (a tuple): special tokens where spelled, every other UTF-16 unit one token. No special
    token is a prefix of another, so splitting on them is the tokenizer's greedy scan."""
    out = []
    for k, part in enumerate(_SPECIAL_RE.split(text)):
        if k % 2:
            out.append(part)
        else:
            out.extend(part)
    return tuple(out)


def stoptime_token_count(text):
    return len(tokens_of(_units(text)))


count_tokens = stoptime_token_count


def set_token_counter(counter):
    """Counts thinking length with `counter(text) -> int`, e.g. the target model's tokenizer:
    `set_token_counter(lambda s: len(tokenizer(s, add_special_tokens=False).input_ids))`."""
    global count_tokens
    count_tokens = counter


def thinking_text(text):
    """The thinking span (src/train/eval_metrics.ts thinkingSpan): after the first `<think>` up to the next `</think>`
    or `<eos>`, or the end; None without `<think>`. Any spelling of a tag is that token (no tag contains another's
    start), so the span is found in the text."""
    start = text.find(THINK_START)
    if start < 0:
        return None
    start += len(THINK_START)
    return text[start:_first_of(text, start, (THINK_END, EOS))]


def thinking_tokens(text):
    span = thinking_text(text)
    if span is None:
        return 0
    return len(tokens_of(span)) if count_tokens is stoptime_token_count else count_tokens(span)


def well_formed(text, style="cot"):
    """`<think>` t `</think><answer>` a `</answer><eos>` ('cot') or `<answer>` a `</answer><eos>` ('answer'), t and a
    free of special tokens, a non-empty, nothing after `<eos>` (src/train/grpo.ts isWellFormed, on the text)."""
    rest = text
    if style == "cot":
        end = rest.find(THINK_END)
        if not rest.startswith(THINK_START) or end < 0 or _SPECIAL_RE.search(rest, len(THINK_START), end):
            return False
        rest = rest[end + len(THINK_END):]
    tail = ANSWER_END + EOS
    if not rest.startswith(ANSWER_START) or not rest.endswith(tail):
        return False
    answer = rest[len(ANSWER_START):-len(tail)]
    return len(answer) > 0 and _SPECIAL_RE.search(answer) is None


# ---------------------------------------------------------------- verifiers


def parse_int_strict(text, max_digits):
    digits = text[1:] if text.startswith("-") else text
    if not 1 <= len(digits) <= max_digits or any(c not in "0123456789" for c in digits):
        return None
    return int(text)


def verify_arithmetic(text, answer):
    """src/tasks/arithmetic.ts verify: the answer is a plain integer (optional '-', at most 30 digits) equal to
    `answer` (the true result, a column)."""
    got = extract_answer(text)
    if got is None or len(got) > 31:
        return False
    value = parse_int_strict(got, 30)
    return value is not None and value == int(answer)


MAX_FORMULA_CHARS = 100
_MAX_DEPTH = 16
_MAX_NUMBER_DIGITS = 3
_OPS = {"+": "+", "-": "-", "\u2212": "-", "*": "*", "\xd7": "*", "/": "/", "\xf7": "/"}


class FormulaError(ValueError):
    pass


def parse_formula(text):
    """src/tasks/general_points.ts parseFormula: binary + - * / (aliases − × ÷), parentheses, numbers of at most 3
    digits, nesting at most 16. Returns (leaves, tree) with tree = int | (op, left, right)."""
    if len(text) > MAX_FORMULA_CHARS:
        raise FormulaError("too-long")
    pos = 0
    leaves = []

    def skip():
        nonlocal pos
        while pos < len(text) and text[pos] in " \t":
            pos += 1

    def peek_op():
        skip()
        return _OPS.get(text[pos]) if pos < len(text) else None

    def binary(operand, ops, depth):
        nonlocal pos
        left = operand(depth)
        op = peek_op()
        while op in ops:
            pos += 1
            left = (op, left, operand(depth))
            op = peek_op()
        return left

    def expr(depth):
        if depth > _MAX_DEPTH:
            raise FormulaError("too-deep")
        return binary(term, ("+", "-"), depth)

    def term(depth):
        return binary(factor, ("*", "/"), depth)

    def factor(depth):
        nonlocal pos
        skip()
        if pos < len(text) and text[pos] == "(":
            pos += 1
            e = expr(depth + 1)
            skip()
            if pos >= len(text) or text[pos] != ")":
                raise FormulaError("expected )")
            pos += 1
            return e
        start = pos
        while pos < len(text) and "0" <= text[pos] <= "9":
            pos += 1
            if pos - start > _MAX_NUMBER_DIGITS:
                raise FormulaError("number-too-large")
        if pos == start:
            raise FormulaError("unexpected character")
        value = int(text[start:pos])
        leaves.append(value)
        return value

    tree = expr(0)
    skip()
    if pos != len(text):
        raise FormulaError("unexpected character")
    return leaves, tree


def evaluate_formula(tree):
    """Exact value (Fraction) of a parsed formula; None on division by zero."""
    if isinstance(tree, int):
        return Fraction(tree)
    op, left, right = tree
    a, b = evaluate_formula(left), evaluate_formula(right)
    if a is None or b is None:
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return None if b == 0 else a / b


def card_values(cards, rule):
    """Card values under a face rule {"J": .., "Q": .., "K": ..}: A = 1, numbers as written."""
    return [1 if c == "A" else int(rule[c]) if c in ("J", "Q", "K") else int(c) for c in cards]


def verify_general_points(text, cards, rule, target):
    """src/tasks/general_points.ts verify: the formula uses the hand's values (under the verifier's `rule`) each
    exactly once and equals `target` exactly."""
    return _verify_general_points(text, tuple(card_values(cards, rule)), int(target))


@lru_cache(maxsize=8192)
def _verify_general_points(text, values, target):
    got = extract_answer(text)
    if got is None or len(got) > MAX_FORMULA_CHARS:
        return False
    try:
        leaves, tree = parse_formula(got)
    except FormulaError:
        return False
    if sorted(leaves) != sorted(values):
        return False
    value = evaluate_formula(tree)
    return value is not None and value == target


ACTIONS = ("Up", "Down", "Left", "Right")


def parse_board(board):
    """src/tasks/sokoban.ts parseBoard: (width, cells, boxes, player); cells '#', '_' or 'O'."""
    rows = board.split("\n")
    width = len(rows[0])
    cells, boxes, player = [], [], -1
    for r, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"sokoban: row {r} has length {len(row)}, want {width}")
        for c, ch in enumerate(row):
            i = r * width + c
            if ch in "#_O":
                cells.append(ch)
            elif ch in "X\u221a":
                cells.append("_" if ch == "X" else "O")
                boxes.append(i)
            elif ch in "PS":
                if player >= 0:
                    raise ValueError("sokoban: two players")
                cells.append("_" if ch == "P" else "O")
                player = i
            else:
                raise ValueError(f"sokoban: bad symbol {ch!r}")
    if player < 0:
        raise ValueError("sokoban: no player")
    return width, "".join(cells), tuple(sorted(boxes)), player


def _step(width, cells, boxes, player, action):
    def neighbour(i):
        col = i % width
        if (action == "Left" and col == 0) or (action == "Right" and col == width - 1):
            return -1
        return i + {"Up": -width, "Down": width, "Left": -1, "Right": 1}[action]

    def wall(i):
        return i < 0 or i >= len(cells) or cells[i] == "#"

    to = neighbour(player)
    if wall(to):
        return boxes, player
    if to not in boxes:
        return boxes, to
    beyond = neighbour(to)
    if wall(beyond) or beyond in boxes:
        return boxes, player
    return tuple(sorted(beyond if b == to else b for b in boxes)), to


def _distance(width, cells, boxes, player, max_depth=None):
    """Fewest actions to put every box on a target (BFS over (player, boxes)), or None."""
    if all(cells[b] == "O" for b in boxes):
        return 0
    seen = {(boxes, player)}
    frontier = deque([(boxes, player, 0)])
    while frontier:
        b, p, d = frontier.popleft()
        if max_depth is not None and d >= max_depth:
            continue
        for a in ACTIONS:
            nb, np_ = _step(width, cells, b, p, a)
            if (nb, np_) in seen:
                continue
            if all(cells[x] == "O" for x in nb):
                return d + 1
            seen.add((nb, np_))
            frontier.append((nb, np_, d + 1))
    return None


_OPTIMAL_CACHE = {}


def optimal_actions(board):
    """Every first action of some optimal plan from the board (src/tasks/sokoban.ts optimalActions), by BFS."""
    if board in _OPTIMAL_CACHE:
        return _OPTIMAL_CACHE[board]
    width, cells, boxes, player = parse_board(board)
    best = _distance(width, cells, boxes, player)
    out = []
    if best:
        for a in ACTIONS:
            nb, np_ = _step(width, cells, boxes, player, a)
            if (nb, np_) != (boxes, player) and _distance(width, cells, nb, np_, best - 1) == best - 1:
                out.append(a)
    _OPTIMAL_CACHE[board] = out
    return out


def verify_sokoban(text, board, accepted, optimal=None):
    """src/tasks/sokoban.ts verify: the answer is one of the `accepted` names (for Up, Down, Left, Right) and names
    an optimal action from `board` (`optimal`, when given, skips the search)."""
    got = extract_answer(text)
    if got is None or got not in accepted:
        return False
    action = ACTIONS[list(accepted).index(got)]
    return action in (optimal if optimal is not None else optimal_actions(board))


def verify(task, text, row):
    """Whether completion `text` (UTF-16 units) solves the problem of dataset row `row` (its columns)."""
    if task == "arithmetic":
        return verify_arithmetic(text, row["answer"])
    if task == "general_points":
        return verify_general_points(text, row["cards"], row["rule"], row["target"])
    if task == "sokoban":
        return verify_sokoban(text, row["board"], row["accepted"], row.get("optimal"))
    raise ValueError(f"unknown task {task!r}")


# ---------------------------------------------------------------- TLDR rewards (src/train/rewards.ts)


def budget_penalty(config, thinking, level):
    budget = config["budgets"][level if level in LEVELS else "medium"]
    return config["lambda"] * max(0, thinking - budget) / budget


def group_rewards(config, group):
    """Rewards of one group (the completions of one prompt): group = [(correct, well_formed, thinking, level)];
    returns [(correctness, format, length, total)]."""
    lengths = [g[2] for g in group]
    lo, hi = min(lengths), max(lengths)
    out = []
    for correct, formed, thinking, level in group:
        length = 0.0
        if config["length_penalty"] == "budget":
            length = -budget_penalty(config, thinking, level)
        elif config["length_penalty"] == "group":
            ell = 0.0 if hi == lo else 0.5 - (thinking - lo) / (hi - lo)
            length = config["lambda"] * (ell if correct else min(0.0, ell))
        length = length or 0.0
        correctness = 1.0 if correct else 0.0
        fmt = config["format_reward"] if formed else 0.0
        out.append((correctness, fmt, length, correctness + fmt + length))
    return out


def score_batch(completions, rows, groups, config=None):
    """Reward parts of a batch: rows[i] holds completion i's columns, groups[i] its group id (completions of one
    prompt share one). Returns [(correctness, format, length, total)] in order."""
    config = config or CONFIG
    texts = [completion_text(c) for c in completions]
    scored = [
        (verify(config["task"], t, r), well_formed(t, config["target_style"]), thinking_tokens(t), r.get("level"))
        for t, r in zip(texts, rows)
    ]
    parts = [None] * len(texts)
    members = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    for idx in members.values():
        for i, p in zip(idx, group_rewards(config, [scored[i] for i in idx])):
            parts[i] = p
    return parts


def _rows(completions, kwargs):
    n = len(completions)
    columns = {k: v for k, v in kwargs.items() if isinstance(v, list) and len(v) == n}
    return [{k: v[i] for k, v in columns.items()} for i in range(n)]


def _groups(completions, kwargs):
    # TRL repeats each prompt num_generations times within a batch; completions of one prompt text form a group.
    prompts = kwargs.get("prompts") or kwargs.get("prompt")
    if isinstance(prompts, list) and len(prompts) == len(completions):
        return [json.dumps(p, sort_keys=True) for p in prompts]
    return list(range(len(completions)))


def correctness_reward(completions, **kwargs):
    """1 when the task verifier accepts the completion's answer, else 0."""
    rows = _rows(completions, kwargs)
    return [1.0 if verify(CONFIG["task"], completion_text(c), r) else 0.0 for c, r in zip(completions, rows)]


def format_reward(completions, **kwargs):
    """format_reward when the completion has the run's target shape, else 0."""
    return [CONFIG["format_reward"] if well_formed(completion_text(c), CONFIG["target_style"]) else 0.0 for c in completions]


def length_reward(completions, **kwargs):
    """The length term: −λ·max(0, thinking − B_level)/B_level ('budget'), the group-relative term ('group'), or 0."""
    parts = score_batch(completions, _rows(completions, kwargs), _groups(completions, kwargs))
    return [p[2] for p in parts]


REWARD_FUNCS = [correctness_reward, format_reward, length_reward]

"""The stop rules added after check.py's stopping cases (stop-logit TS, the margin rule) on an export's stopping.py.

    python3 stopping_check.py <export dir> <cases.json>

cases.json: {"probs": [{"logits", "params", "thinking"}], "steps": [{... as check.py's, "prev"}], "sequences":
[{... as check.py's, "prev", "stepBoundaryId"}], "unboundStepDecodes": [decode]}. check.py reads the budgets and
states and writes the steps; params here also carry stopLogitTemperature, stopMarginNats and stopMarginBoundaryId,
and every step gets the token at its position (prev) for the margin rule's step-boundary option.
"""

import json
import sys
from dataclasses import replace

sys.dont_write_bytecode = True  # the test runs this in the source tree: no __pycache__ there
import check  # noqa: E402


def params_of(stopping, p):
    return replace(
        check.params_of(stopping, p),
        stop_logit_temperature=p.get("stopLogitTemperature", 1.0),
        stop_margin_nats=p.get("stopMarginNats", 0.0),
        stop_margin_boundary_id=p.get("stopMarginBoundaryId", -1),
    )


def run(stopping, cases):
    out = {"probs": [], "margins": [], "steps": [], "sequences": [], "unbound": []}
    for c in cases["probs"]:
        params = params_of(stopping, c["params"])
        out["probs"].append(stopping.sampling_probs(c["logits"], params, c["thinking"]))
        out["margins"].append(check.num(stopping.stop_margin(c["logits"], params, c["thinking"])))
    for c in cases["steps"]:
        step = stopping.decode_step_row(
            check.state_of(stopping, c["state"]), c["logits"], c["forced"], params_of(stopping, c["params"]),
            check.budget_of(stopping, c["budget"]), c["thinkStartId"], c["thinkEndId"], c["u"], c["prev"],
        )
        out["steps"].append(check.step_json(step))
    for c in cases["sequences"]:
        params, budget = stopping.settings_from_decode(
            c["decode"], c["thinkEndId"], c["extensionIds"], c["stepBoundaryId"]
        )
        state, prev, trace = stopping.DecodeState(), c["prev"], []
        for logits, forced, u in zip(c["logits"], c["forced"], c["u"]):
            step = stopping.decode_step_row(
                state, logits, forced, params, budget, c["thinkStartId"], c["thinkEndId"], u, prev
            )
            state, prev = step.state, step.token
            trace.append(check.step_json(step))
        out["sequences"].append(trace)
    for decode in cases["unboundStepDecodes"]:  # 'margin' at steps without the step token: an error, not every token
        try:
            stopping.settings_from_decode(decode, 1, [])
            out["unbound"].append(None)
        except ValueError as e:
            out["unbound"].append(str(e))
    return out


def main():
    sys.path.insert(0, sys.argv[1])  # the export's folder
    import stopping

    with open(sys.argv[2], encoding="utf-8") as f:
        sys.stdout.write(json.dumps(run(stopping, json.load(f))))  # one write


if __name__ == "__main__":
    main()

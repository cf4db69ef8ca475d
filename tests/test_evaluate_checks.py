"""evaluate checks what the plan promised per query — samples and completion tokens — not only the
total cost, in which the prompt can hide a completion overrun."""

from __future__ import annotations

import json

import inferplan as ip
from inferplan.runner.evaluate import Promised, Realised, check
from inferplan.stats.estimate import Estimate


def _realised(samples: float, completion: float, cost: float) -> Realised:
    return Realised(accuracy=Estimate(0.5, (0.3, 0.7), 20), cost=Estimate(cost, None, 20), samples=samples,
                    completion_tokens_per_query=completion, prompt_tokens_per_query=cost - completion, seconds=1.0)


def test_an_overrun_the_prompt_hides_is_caught() -> None:
    from inferplan.planner.plan_file import Prediction

    # The user's report: 4.41 samples against 3.00 predicted, 22.7 completion tokens against ~15, yet
    # the total (mostly prompt) within 15%.
    predicted = Prediction(Estimate(0.5, (0.3, 0.7), 20), Estimate(200.0, (190.0, 210.0), 20), 3.0)
    promised = Promised(Estimate(3.0, (2.7, 3.3), 20), Estimate(15.0, (13.5, 16.6), 20))
    c = check(predicted, _realised(4.41, 22.7, 217.0), None, promised)
    assert c.cost_within_tolerance is True  # the total hides it …
    assert c.samples_as_promised is False and c.completion_tokens_as_promised is False  # … these do not
    assert not c.passed
    c = check(predicted, _realised(3.1, 15.5, 203.0), None, promised)
    assert c.samples_as_promised and c.completion_tokens_as_promised and c.passed
    # Where the replay gives no interval (a fixed plan draws exactly N), ±15% of the point.
    assert check(None, _realised(3.0, 15.0, 0), None, Promised(Estimate(3.0, (3.0, 3.0), 20), None)).samples_as_promised


def test_evaluate_reports_the_promise_and_the_prompt_apart(tmp_path, fake_backend, cli) -> None:
    tasks = tmp_path / "sums.jsonl"
    tasks.write_text("".join(json.dumps({"id": f"s{a}", "question": f"What is {a} + {a + 3}?",
                                         "answer": str(2 * a + 3)}) + "\n" for a in range(1, 13)))
    prof = ip.profile("fake", tasks=str(tasks), temperatures=(0.4, 1.0), samples=6, out=tmp_path / "p.jsonl",
                      backend=fake_backend)
    plan = ip.plan(prof, budget=3, unit="samples").plan
    result = ip.evaluate(plan, model=fake_backend)
    w, z = result.promised, result.realised
    assert w is not None and w.samples.covers(w.samples.point)
    assert w.completion_tokens.point == w.samples.point * 5  # the fake writes 5 tokens a sample
    assert z.prompt_tokens_per_query == 20 and z.completion_tokens_per_query == 5 * z.samples
    assert result.checks.samples_as_promised is not None and result.model == "fake-model"

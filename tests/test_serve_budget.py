"""serve --total-budget (issue 33): one hard budget over a stream of requests, PETS online shares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inferplan.errors import InvalidValue
from inferplan.planner.batch import make_streams
from inferplan.planner.batch_online import price_online
from inferplan.replay.cost import CostModel
from inferplan.runner.serve_budget import BudgetWindow, ServeBudget
from plan_server import PlanServer, ask_at_once
from test_serve import _variant, plan_file  # noqa: F401  (the module's real profile and plan)

openai = pytest.importorskip("openai")


def _prices():
    rng = np.random.default_rng(0)
    answers = [rng.choice(3, size=12, p=p) for p in ([0.9, 0.05, 0.05], [0.4, 0.3, 0.3]) * 20]
    return price_online(make_streams(answers, [np.full(12, 20.0)] * 40, [frozenset([0])] * 40, 0), k0=4)


def test_a_window_never_holds_more_than_its_total():
    now = [0.0]
    b = ServeBudget(BudgetWindow(100.0, 10.0), CostModel("tokens"), 24, _prices(), clock=lambda: now[0])
    assert b.allow(0, 3) == 3 and b.allow(1, 3) == 1  # 4 × 24 = 96 ≤ 100; a fifth would pass it
    assert b.allow(2, 1) == 0
    b.done(0, 5)  # a finished sample is charged what it generated: 19 tokens come back
    assert b.used[0] == pytest.approx(96 - 19) and b.allow(2, 2) == 0  # 77 + 24 = 101 > 100
    b.settle(1)  # cancelled in flight: charged its cap, which it already held
    now[0] = 10.5  # the next window
    assert b.allow(2, 9) == 4 and b.used[1] == 96
    assert all(u <= 100 for u in b.used.values())
    with pytest.raises(InvalidValue, match="less than one sample's cap"):
        ServeBudget(BudgetWindow(10.0, None), CostModel("tokens"), 24, _prices())
    with pytest.raises(InvalidValue, match="'query' or a window"):
        BudgetWindow.parse(100, "often")
    assert BudgetWindow.parse(100, "5m").seconds == 300 and BudgetWindow.parse(100, "query").seconds is None


def test_shares_follow_agreement_and_the_average_holds():
    b = ServeBudget(BudgetWindow(120.0, None), CostModel("tokens"), 24, _prices())
    for _ in range(2):
        b.arrive()
    easy, hard = b.target(0, ["7"] * 4), b.target(1, ["1", "2", "3", "1"])
    assert easy < hard  # a split first four get more samples than a unanimous one


def test_per_without_a_total_is_refused_in_one_line(cli, tmp_path):
    import inferplan as ip

    plan = ip.save_plan(ip.fixed_plan(3), tmp_path / "p.json")
    for per in ("60", "query"):
        res = cli("serve", "--plan", str(plan), "--per", per, "--port", "0")
        assert res.code == 3, res.err
        assert res.err.strip() == "inferplan: error: --per is the window of --total-budget: give --total-budget " \
                                  "too, or leave --per out"
    with pytest.raises(InvalidValue, match="per is the window of total_budget"):
        ip.serve(plan, per="5m")


@pytest.mark.slow
@pytest.mark.parametrize("per, total", [("2", 150), ("query", 60)])
def test_served_requests_never_pass_the_budget(plan_file: Path, per: str, total: int) -> None:  # noqa: F811
    plan = _variant(plan_file, f"budget-{per}.json", "beta:0.9,max=12", max_tokens=24)
    server = PlanServer(plan, "--total-budget", str(total), "--per", per).start()
    try:
        client = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=120)
        replies = ask_at_once(client, [f"What is {i} + {2 * i + 3}?" for i in range(10)])
        budget = server.health()["budget"]
    finally:
        assert server.stop() in (0, 130), server.stderr
    tokens = [r.model_extra["inferplan"]["completion_tokens"] + r.model_extra["inferplan"]["wasted_tokens"]
              for r in replies]
    samples = [r.model_extra["inferplan"]["samples"] for r in replies]
    used = budget["used"]
    assert all(s >= 1 for s in samples) and budget["requests"] == 10
    assert sum(used.values()) >= sum(tokens)  # every token a reply reports was charged (cancelled ones at the cap)
    if per == "query":
        assert used["0"] <= total * 10 and sum(tokens) / 10 <= total  # the average per request held
    else:
        assert all(u <= total for u in used.values())  # no window ever held more than its total
        assert len(used) > 1  # the requests spanned windows: the budget made them wait

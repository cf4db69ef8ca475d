"""Totals in usd and seconds (issue 33): prices of the tokens generated, kept hard; the rest refused in one line."""

from __future__ import annotations

from dataclasses import replace

import pytest

import inferplan as ip
from fakes import FakeBackend
from inferplan.runner.queries import Query
from inferplan.runner.total_budget import run_total_budget

PRICE = 0.6  # usd per million completion tokens
RATE = 0.02  # seconds per token


def _queries(n: int) -> list[Query]:
    return [Query(f"q{i}", prompt=f"What is {i} + {2 * i + 1}?") for i in range(n)]


@pytest.mark.parametrize("unit, per_token, total", [("usd", PRICE / 1e6, 100 * PRICE / 1e6),
                                                    ("seconds", RATE, 100 * RATE)])
def test_a_run_counts_its_real_tokens_in_the_unit_and_never_passes_the_total(unit, per_token, total):
    plan = replace(ip.fixed_plan(5, temperatures=(1.0,), max_tokens=8), objective="max-accuracy", unit=unit,
                   price_out=PRICE, seconds_per_token=RATE)
    run = run_total_budget(_queries(30), FakeBackend(), plan, total, unit=unit)
    tokens = sum(a.completion_tokens for a in run.answers)
    assert run.unit == unit and tokens > 0
    assert run.spent == pytest.approx(tokens * per_token)  # the real spend, every generated token
    assert run.spent <= total + 1e-12 and run.spent > total - 5 * 8 * per_token  # kept full until nothing fit
    same = run_total_budget(_queries(30), FakeBackend(), plan, round(total / per_token), unit="tokens")
    assert [a.samples for a in same.answers] == [a.samples for a in run.answers]  # one price: the same choices


def test_simulate_a_total_in_usd_is_the_token_total_priced(cli, imported):
    prof = imported("boinf", "boinf/gpqa_diamond_gpt-oss-20b.jsonl")
    tokens = 99 * 3 * 4_500
    usd = tokens * PRICE / 1e6
    a = cli("simulate", str(prof), "--total-budget", str(usd), "--unit", "usd", "--price-out", str(PRICE),
            "--reps", "1", "--json")
    b = cli("simulate", str(prof), "--total-budget", str(tokens), "--unit", "tokens", "--reps", "1", "--json")
    assert a.code == 0 and b.code == 0, a.err + b.err
    ra, rb = a.json(), b.json()
    assert ra["unit"] == "usd" and "tokens" not in ra["rows"][0]
    for x, y in list(zip(ra["rows"], rb["rows"]))[:3]:  # the three allocations under the total
        assert x["spent"] <= usd * (1 + 1e-9)
        assert x["spent"] == pytest.approx(y["tokens"] * PRICE / 1e6, rel=1e-6)
    text = cli("simulate", str(prof), "--total-budget", str(usd), "--unit", "usd", "--price-out", str(PRICE),
               "--reps", "1")
    assert text.code == 0 and "usd/query" in text.out


@pytest.mark.parametrize("args, text", [
    (["--unit", "usd", "--price-out", "0.6", "--price-in", "0.1"], "prompt tokens have a price"),
    (["--unit", "usd"], "needs a price per completion token"),
    (["--unit", "flops"], "no total of it can be kept hard"),
])
def test_units_no_total_can_hold_are_one_line_exit_3(cli, imported, args, text):
    prof = imported("boinf", "boinf/gpqa_diamond_gpt-oss-20b.jsonl")
    res = cli("simulate", str(prof), "--total-budget", "5", *args)
    assert res.code == 3 and text in res.err, res.err
    assert len(res.err.strip().splitlines()) == 1

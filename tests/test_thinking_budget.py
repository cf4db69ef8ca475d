"""Thinking budgets (issue 30): forced answers and answer-now probes, from the engine to the plan.

The replay tests use hand-written profiles whose every number is known; the engine and CLI
tests run the real llama.cpp engine on the embedded model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engines import embedded_engine
from inferplan.policy.aggregate import Aggregation
from inferplan.policy.forcing import Forcing, force_text, probe_depths_for
from inferplan.policy.stopping import make_rule
from inferplan.profiles.store import load_profile
from inferplan.replay.budget_curve import budget_curve
from inferplan.replay.budgets import at_budget, capped
from inferplan.replay.cost import CostModel
from inferplan.replay.traces import densify, evaluate, trace

FORCE = "\n\nTherefore, the final answer is"


def _profile(tmp_path: Path, samples: list[dict], depths=(64,), max_tokens=128) -> Path:
    header = {"format": "inferplan.profile/1", "configs": [{"name": "t0.7", "temperature": 0.7}],
              "max_tokens": max_tokens, "forcing": {"text": FORCE, "answer_tokens": 8, "probe_depths": list(depths)},
              "problem_ids": sorted({s["problem"] for s in samples})}
    path = tmp_path / "p.jsonl"
    lines = [json.dumps(header)]
    for i, s in enumerate(samples):
        rec = {"config": "t0.7", "index": i, "prompt_tokens": 10, "logprob": -1.0, **s}
        lines.append(json.dumps(rec))
    path.write_text("\n".join(lines) + "\n")
    return path


# One problem, four samples, cap 128, a probe at 64 (forced answers cost 10 tokens):
#  0: ends at 40 tokens with "7" (right)            — unchanged at any budget
#  1: ends at 100 with "7"; at 64 its probe says "3" (wrong)
#  2: cut at 128 (forced "7", right); at 64 its probe says nothing readable (censored)
#  3: cut at 128 (forced, nothing readable); at 64 its probe says "7" (right)
SAMPLES = [
    {"problem": "a", "answer": "7", "correct": True, "completion_tokens": 40, "finish": "stop"},
    {"problem": "a", "answer": "7", "correct": True, "completion_tokens": 100, "finish": "stop",
     "probes": [[64, "3", False, 10, True]]},
    {"problem": "a", "answer": "7", "correct": True, "completion_tokens": 138, "thinking_tokens": 128,
     "finish": "forced", "forced": [128, "7", True, 10, True], "probes": [[64, None, False, 10, False]]},
    {"problem": "a", "answer": None, "correct": False, "completion_tokens": 138, "thinking_tokens": 128,
     "finish": "forced", "forced": [128, None, False, 10, False], "probes": [[64, "7", True, 10, True]]},
]


def test_a_forced_sample_loads_as_a_censored_sample_with_its_forced_answers_beside(tmp_path: Path) -> None:
    table = load_profile(_profile(tmp_path, SAMPLES))
    assert table.probes.depths == (64, 128)
    # Plain view: the samples cut at the cap abstain and cost their thinking tokens.
    assert list(table.answer >= 0) == [True, True, False, False]
    assert list(table.correct) == [True, True, False, False]
    assert list(table.completion_tokens) == [40, 100, 128, 128]
    assert list(table.truncated) == [False, False, True, True]
    names = table.answer_names[0]
    at128 = [names[a] if a >= 0 else a for a in table.probes.answer[:, 1]]
    assert at128 == [-2, -2, "7", -1]  # not asked / right / censored


def test_replay_at_a_budget_answers_each_sample_still_thinking_with_its_probe(tmp_path: Path) -> None:
    dense = densify(load_profile(_profile(tmp_path, SAMPLES)), CostModel(unit="tokens", shared_prefix=True))
    at64 = at_budget(dense, 64)
    names = load_profile(_profile(tmp_path, SAMPLES)).answer_names[0]
    got = [names[a] if a >= 0 else None for a in at64.answer[0, 0]]
    assert got == ["7", "3", None, "7"]
    assert list(at64.correct[0, 0]) == [True, False, False, True]
    assert list(at64.cost[0, 0]) == [40, 74, 74, 74]  # the depth plus the forced answer's 10 tokens
    # A plain cap at 64 leaves only the short sample's answer; a budget at the cap uses the forced ones.
    plain = capped(dense, 64)
    assert list(plain.correct[0, 0]) == [True, False, False, False] and list(plain.cost[0, 0]) == [40, 64, 64, 64]
    at128 = at_budget(dense, 128)
    assert list(at128.correct[0, 0]) == [True, True, True, False]
    assert list(at128.cost[0, 0]) == [40, 100, 138, 138]


def test_a_depth_never_probed_abstains_as_under_a_plain_cap(tmp_path: Path) -> None:
    samples = [dict(s) for s in SAMPLES]
    samples[1]["probes"] = []  # sample 1 thought past 64 but recorded no probe there
    dense = densify(load_profile(_profile(tmp_path, samples)), CostModel(unit="tokens", shared_prefix=True))
    at64 = at_budget(dense, 64)
    assert at64.answer[0, 0, 1] == -1 and not at64.correct[0, 0, 1] and at64.cost[0, 0, 1] == 64


def test_the_budget_curve_reports_censored_samples_apart_from_wrong_ones(tmp_path: Path) -> None:
    rows = {r.budget: r for r in budget_curve(load_profile(_profile(tmp_path, SAMPLES)))}
    r64, r128 = rows[64], rows[128]
    assert r64.thinking == 0.75 and r64.plain == 0.25 and r64.forced == 0.5
    # At 64: three samples cut under a plain cap; forced, one of them has no readable answer.
    assert r64.censored_plain == 0.75 and r64.censored_forced == 0.25
    assert r64.escaped == pytest.approx(1 / 3)
    assert r128.plain == 0.5 and r128.forced == 0.75 and r128.censored_forced == 0.25
    assert r128.tokens_forced == pytest.approx((40 + 100 + 138 + 138) / 4)


def test_fit_shows_the_budget_curve_as_a_table_a_terminal_line_json_and_a_plot_panel(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inferplan.cli.render import common

    monkeypatch.setattr(common.out, "_width", 80)
    path = _profile(tmp_path, SAMPLES + [{**s, "problem": "b"} for s in SAMPLES])  # two problems: enough to fit
    shown = cli("fit", path, "--plot", tmp_path / "fit.png")
    assert shown.code == 0, shown.err
    assert "Thinking budgets" in shown.out and "budget 64…128 tokens: forced answer" in shown.out
    table = shown.out.split("Thinking budgets")[1].split("censored: no answer")[0]
    assert "25.0% [" in table and "50.0% [" in table and "…" not in table  # every figure whole at 80 columns
    doc = json.loads(cli("fit", path, "--json").out)
    rows = {r["budget"]: r for r in doc["thinking_budgets"]}
    assert rows[64]["forced"] == 0.5 and rows[64]["plain"] == 0.25 and rows[64]["censored_plain"] == 0.75
    from PIL import Image

    # Three panels (pass@k, maj@k, the budget curve) side by side: wider than the two-panel plot.
    (tmp_path / "plain").mkdir()
    unprobed = [{k: v for k, v in s.items() if k != "probes"} for s in SAMPLES[:2]]
    plain = _profile(tmp_path / "plain", unprobed + [{**s, "problem": "b"} for s in unprobed])
    header, *records = plain.read_text().splitlines()
    plain.write_text("\n".join([json.dumps({k: v for k, v in json.loads(header).items() if k != "forcing"}),
                                *records]) + "\n")  # a profile recorded without forcing
    assert budget_curve(load_profile(plain)) == ()
    assert cli("fit", plain, "--plot", tmp_path / "plain.png").code == 0
    assert Image.open(tmp_path / "fit.png").width > 1.4 * Image.open(tmp_path / "plain.png").width


def test_a_forced_rule_replays_the_same_votes_as_the_samples_forced_one_by_one(tmp_path: Path) -> None:
    """Majority of four at budget 64: "7" twice, "3" once, one censored → "7" wins every order."""
    dense = densify(load_profile(_profile(tmp_path, SAMPLES)), CostModel(unit="tokens", shared_prefix=True))
    tr = trace(at_budget(dense, 64), np.array([1.0]), 4, Aggregation(), reps=8, seed=0)
    o = evaluate(tr, make_rule("fixed", (4,)))
    assert o.accuracy.mean() == 1.0 and o.cost.mean() == pytest.approx(10 + 40 + 3 * 74)  # the prompt once


def test_force_text_closes_a_thinking_block_where_the_template_opens_one() -> None:
    assert force_text(None) == FORCE
    assert force_text("{{ '<think>\\n' }}").startswith("\n</think>\n\nTherefore")
    assert force_text(None, "Final Answer:") == "Final Answer:"
    assert probe_depths_for(320) == (40, 80, 160, 240)
    f = Forcing(FORCE, 16, (64,))
    assert Forcing.from_json(f.to_json()) == f


# -- the real engine ------------------------------------------------------------------------------

MATH = ({"role": "user", "content": "A shop sells 48 clips in April and half as many in May. How many in all?"},)


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    with embedded_engine(tmp_path_factory, ctx=512) as b:
        yield b


def _run(backend, **kw):
    from inferplan.backends import SampleRequest

    request = SampleRequest(messages=MATH, n=4, temperatures=(0.8,), seeds=(1, 2, 3, 4), **kw)
    return sorted(backend.sample([request]), key=lambda c: c.index)


@pytest.mark.slow
def test_a_probe_answers_exactly_what_a_forced_cap_at_its_depth_answers(backend) -> None:
    plain = _run(backend, max_tokens=48)
    probed = _run(backend, max_tokens=48, force_answer=FORCE, probe_depths=(16,))
    capped16 = _run(backend, max_tokens=16, force_answer=FORCE)
    for a, b, c in zip(plain, probed, capped16):
        # The probe is decoded on the side and dropped: the thinking goes on unchanged.
        assert b.text[: b.thinking_tokens and len(a.text)].startswith(a.text[:40])
        if a.finish == "length":
            assert b.finish == "forced" and b.thinking_tokens == 48
            assert b.forced.text.startswith(FORCE) and b.text.endswith(b.forced.text)
            assert b.completion_tokens == 48 + b.forced.tokens
        else:
            assert b.finish == a.finish and b.text == a.text and b.forced is None
        probes = {p.depth: p for p in b.probes}
        if a.completion_tokens > 16:
            assert c.finish == "forced" and probes[16].text == c.forced.text and probes[16].tokens == c.forced.tokens


@pytest.mark.slow
def test_probe_depths_must_lie_under_max_tokens(backend) -> None:
    from inferplan.errors import InvalidValue

    with pytest.raises(InvalidValue, match="probe_depths"):
        _run(backend, max_tokens=16, force_answer=FORCE, probe_depths=(16,))


@pytest.mark.slow
def test_profile_plan_and_run_with_a_thinking_budget(cli, tmp_path: Path) -> None:
    prof, plan = tmp_path / "p.jsonl", tmp_path / "plan.json"
    r = cli("profile", "--tasks", "builtin:arith:8", "-t", "0.8", "-n", "4", "--max-tokens", "24", "--probes", "2",
            "--template", "chat", "-o", prof)
    assert r.code == 0, r.err
    records = [json.loads(line) for line in prof.read_text().splitlines()[1:]]
    assert any(rec["finish"] == "forced" and rec["forced"][0] == 24 for rec in records)
    assert any(p[0] in (6, 12) for rec in records for p in rec.get("probes", []))
    shown = cli("profile", "show", prof)
    assert "Thinking budgets" in shown.out and "censored" in shown.out
    assert cli("plan", prof, "--budget", "60", "-o", plan).code == 0
    doc = json.loads(plan.read_text())
    # Force the thinking budget into the plan to run it for real (the search may not pick it here).
    doc["thinking"], doc["max_tokens"] = {"text": FORCE, "answer_tokens": 8}, 12
    plan.write_text(json.dumps(doc))
    out = cli("run", "--plan", plan, "What is 40 + 2?", "--json")
    assert out.code == 0, out.err
    thinking = json.loads(out.out)["thinking"]
    assert "length" not in thinking["finishes"] and all(t <= 12 for t in thinking["thinking_tokens"])
    assert thinking["forced"] == thinking["finishes"].count("forced")


def test_every_command_that_reports_accuracy_shows_censored_samples_apart(tmp_path: Path) -> None:
    """fit and simulate note the censored share; evaluate counts it from the samples it ran."""
    from inferplan.api import fit, simulate
    from inferplan.runner.evaluate import censored_of
    from inferplan.runner.results import QueryResult

    path = _profile(tmp_path, SAMPLES + [{**s, "problem": "b"} for s in SAMPLES])  # two problems: enough to fit
    assert any("censored: 50.0%" in n for n in fit(path).notes)
    plain = simulate(path, rule="fixed:2", holdout=0.0)
    assert any(w.startswith("censored: 50.0%") for w in plain.warnings)
    # A sample cut at the cap, and one made to answer with nothing readable, are censored; a wrong one is not.
    r = QueryResult(1, "7", {"7": 1}, 4, 0, 0, 0.0, "rule", ("7", None, None, "3"),
                    ("stop", "length", "forced", "forced"), (None,) * 4, ("",) * 4)
    assert censored_of([r]) == 0.5

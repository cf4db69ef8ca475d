"""`run --plan`, `evaluate` and `demo` on the real engine with the embedded model.

One small real profile (built-in arithmetic, two temperatures) is made once per
module; plans are made from it by the real planner.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferplan.planner.plan_file import load_plan
from inferplan.policy.stopping import parse_rule

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> Path:
    from inferplan.cli.main import main

    path = tmp_path_factory.mktemp("planned") / "profile.jsonl"
    code = main(["profile", "--limit", "12", "--samples", "6", "--temperatures", "0.4,1.0", "-o", str(path)])
    assert code == 0
    return path


@pytest.fixture(scope="module")
def plan_path(profile: Path) -> Path:
    from inferplan.cli.main import main

    path = profile.with_name("plan.json")
    # A generous budget: the planner may use adaptive stopping with several samples.
    assert main(["plan", str(profile), "--budget", "400", "--unit", "tokens", "-o", str(path)]) == 0
    return path


def _beta_plan(plan_path: Path, tmp_path: Path, rule: str, aggregation: str | None = None) -> Path:
    """The real plan with its stopping rule (and aggregation) replaced, to exercise the runner."""
    plan = load_plan(plan_path)
    data = plan.to_json()
    r = parse_rule(rule)
    data["stopping"] = {**r.to_json(), "spec": r.spec}
    if aggregation:
        data["aggregation"]["kind"] = aggregation
    out = tmp_path / "variant.json"
    out.write_text(json.dumps(data))
    return out


def test_plan_records_how_the_profile_asked(profile: Path, plan_path: Path) -> None:
    from inferplan.profiles.store import read_header

    plan = load_plan(plan_path)
    assert plan.prompt.template == read_header(profile)["prompt_template"]["name"]
    assert plan.prompt.grader == "numeric"
    assert plan.prompt.shots, "few-shot examples of the built-in set are carried into the plan"
    assert plan.heldout and plan.prediction is not None


def test_run_plan_stops_where_the_rule_says(cli, plan_path: Path, tmp_path: Path) -> None:
    variant = _beta_plan(plan_path, tmp_path, "beta:0.9,max=10")
    r = cli("run", "What is 6 + 7?", "What is 41 + 3?", "What is 9 × 9?", "--plan", variant, "--json", "--no-timing")
    assert r.code == 0, r.err
    lines = r.json_lines()
    assert [x["id"] for x in lines] == [1, 2, 3]
    rule = parse_rule("beta:0.9,max=10")
    for x in lines:
        assert x["rule"] == rule.spec
        assert 1 <= x["samples"] <= 10
        assert sum(x["votes"].values()) <= x["samples"]
        assert x["stop_reason"] in ("rule", "max-samples")
    # The same command again: byte-identical output.
    again = cli("run", "What is 6 + 7?", "What is 41 + 3?", "What is 9 × 9?", "--plan", variant, "--json", "--no-timing")
    assert again.out == r.out


def test_online_rule_agrees_with_recorded_answers(cli, plan_path: Path, tmp_path: Path) -> None:
    variant = _beta_plan(plan_path, tmp_path, "esc:3,max=12")
    r = cli("run", "What is 12 + 30?", "--plan", variant, "--json", "--show-samples")
    assert r.code == 0, r.err
    x = r.json_lines()[0]
    answers = [d["answer"] for d in x["sample_details"]]
    state = parse_rule("esc:3,max=12").start()
    stopped_at = None
    for i, a in enumerate(answers, start=1):
        state.add(a)
        if state.done:
            stopped_at = i
            break
    assert stopped_at == len(answers) == x["samples"]


def test_max_samples_and_tokens_only_tighten(cli, plan_path: Path, tmp_path: Path) -> None:
    variant = _beta_plan(plan_path, tmp_path, "fixed:8,max=8")
    r = cli("run", "What is 2 + 2?", "--plan", variant, "--max-samples", "3", "--max-tokens", "2", "--json",
            "--show-samples")
    assert r.code == 0, r.err
    x = r.json_lines()[0]
    assert x["samples"] == 3
    assert all(d["finish"] in ("stop", "length") for d in x["sample_details"])
    assert x["completion_tokens"] <= 3 * 2


def test_file_of_queries_shares_one_run(cli, plan_path: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"What is {i} + {i}?"}) + "\n" for i in range(8)))
    r = cli("run", "--input", queries, "--plan", plan_path, "--json")
    assert r.code == 0, r.err
    assert [x["id"] for x in r.json_lines()] == [f"q{i}" for i in range(8)]


def test_the_readme_pipeline_reads_jsonl_from_stdin(cli, plan_path: Path, monkeypatch) -> None:
    # cat questions.jsonl | inferplan run - --plan plan.json --json | jq .answer
    import io

    lines = "".join(json.dumps({"id": f"q{i}", "prompt": f"What is {i} + {i}?"}) + "\n" for i in range(3))
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    r = cli("run", "-", "--plan", plan_path, "--json", "--show-samples")
    assert r.code == 0, r.err
    rows = r.json_lines()
    assert [x["id"] for x in rows] == ["q0", "q1", "q2"]
    assert not any('"id"' in t for x in rows for t in x["texts"]), "a query's JSON was sent as its text"


def test_oracle_plan_needs_a_verifier(cli, plan_path: Path, tmp_path: Path) -> None:
    variant = _beta_plan(plan_path, tmp_path, "fixed:4,max=4", aggregation="oracle")
    r = cli("run", "What is 2 + 2?", "--plan", variant)
    assert r.code == 3
    assert "evaluate" in r.err and "Traceback" not in r.err


def test_plan_and_n_do_not_mix(cli, plan_path: Path) -> None:
    r = cli("run", "What is 2 + 2?", "--plan", plan_path, "-n", "4")
    assert r.code == 3 and "--plan" in r.err


def test_evaluate_reports_prediction_reality_and_baseline(cli, plan_path: Path) -> None:
    r = cli("evaluate", "--plan", plan_path, "--json")
    assert r.code == 0, r.err
    d = r.json()
    plan = load_plan(plan_path)
    assert d["problems"] == len(plan.heldout)
    for key in ("accuracy", "accuracy_ci", "cost_per_query"):
        assert key in d["predicted"]
    for key in ("accuracy", "accuracy_ci", "cost_per_query", "samples_per_query"):
        assert key in d["realised"]
    lo, hi = d["realised"]["accuracy_ci"]
    assert 0 <= lo <= d["realised"]["accuracy"] <= hi <= 1
    assert d["baseline"]["name"].startswith("fixed-")
    assert d["realised"]["cost_per_query"] > 0


def test_evaluate_oracle_stops_at_first_accepted(cli, plan_path: Path, tmp_path: Path) -> None:
    variant = _beta_plan(plan_path, tmp_path, "fixed:6,max=6", aggregation="oracle")
    r = cli("evaluate", "--plan", variant, "--json", "--limit", "4")
    assert r.code == 0, r.err
    d = r.json()
    assert d["problems"] == 4
    assert d["realised"]["samples_per_query"] <= 6


def test_demo_runs_the_whole_loop(cli, tmp_path: Path) -> None:
    r = cli("demo", "--dir", tmp_path / "demo", "--problems", "8", "--samples", "3")
    assert r.code == 0, r.err
    for step in ("1. Profile", "2. Fit curves", "3. Plan", "4. Check the plan for real", "5. Answer questions"):
        assert step in r.out
    assert (tmp_path / "demo" / "curves.png").stat().st_size > 1000
    assert (tmp_path / "demo" / "plan.json").exists()
    # A rerun resumes the profile: nothing new is sampled for it.
    again = cli("demo", "--dir", tmp_path / "demo", "--problems", "8", "--samples", "3")
    assert again.code == 0, again.err
    assert "(0 new)" in again.out


def test_a_parallel_plan_reads_its_first_finishers(cli, plan_path: Path, tmp_path: Path) -> None:
    """short-2@6: six samples launched at once, the rule fed as they finish, the rest cancelled."""
    variant = _beta_plan(plan_path, tmp_path, "fixed:2")
    data = json.loads(variant.read_text())
    data["batch"] = "parallel:6"
    variant.write_text(json.dumps(data))
    assert load_plan(variant).parallel == 6
    r = cli("run", "What is 6 + 7?", "What is 41 + 3?", "--plan", variant, "--json", "--no-timing")
    assert r.code == 0, r.err
    for x in r.json_lines():
        assert x["samples"] == 2 and sum(x["votes"].values()) <= 2
        assert x["stop_reason"] == "rule"
    again = cli("run", "What is 6 + 7?", "What is 41 + 3?", "--plan", variant, "--json", "--no-timing")
    assert again.out == r.out  # same seeds, same finish order


def test_a_conf_vote_plan_answers_with_the_confidence_weighted_vote(cli, plan_path: Path, tmp_path: Path) -> None:
    variant = _beta_plan(plan_path, tmp_path, "fixed:4", aggregation="conf-vote")
    assert load_plan(variant).aggregation.kind == "conf-vote"
    r = cli("run", "What is 6 + 7?", "What is 41 + 3?", "--plan", variant, "--json", "--no-timing")
    assert r.code == 0, r.err
    for x in r.json_lines():
        assert x["samples"] == 4
        assert x["answer"] is None or x["answer"] in x["votes"]

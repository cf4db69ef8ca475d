"""Cost units `flops` and `seconds` of `plan`/`simulate` on a real profile made by `inferplan profile`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inferplan.cli.main import main
from inferplan.errors import ExitCode
from inferplan.profiles.store import iter_records, read_header

pytestmark = pytest.mark.slow

SMALL = ("--tasks", "builtin:arith:4", "--temperatures", "0.3,1.0", "--samples", "3", "--max-tokens", "12",
         "--threads", "1", "--parallel", "8")


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real profile (real engine, embedded model) shared by the module's tests."""
    out = tmp_path_factory.mktemp("units") / "p.jsonl"
    assert main(["profile", *SMALL, "-o", str(out)]) == 0
    return out


def _per_problem(path: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Completion tokens summed per problem, and each problem's prompt tokens."""
    comp: dict[str, float] = {}
    prompt: dict[str, float] = {}
    for rec in iter_records(path):
        comp[rec["problem"]] = comp.get(rec["problem"], 0.0) + rec["completion_tokens"]
        prompt[rec["problem"]] = max(prompt.get(rec["problem"], 0.0), rec["prompt_tokens"])
    return comp, prompt


def test_header_carries_parameters_and_prefix_sharing(profile: Path) -> None:
    h = read_header(profile)
    assert h["model"]["parameters"] > 1e8  # SmolLM2-135M
    assert h["backend"]["supports_shared_prefix"] is True
    assert h["engine"]["parallel"] == 8


def test_flops_is_two_times_parameters_times_tokens(cli, profile: Path) -> None:
    # fixed:6 draws every recorded sample of every problem, so the replayed cost is exact.
    r = cli("simulate", profile, "--rule", "fixed:6", "--unit", "flops", "--holdout", "0", "--json")
    assert r.code == 0, r.err
    params = read_header(profile)["model"]["parameters"]
    comp, prompt = _per_problem(profile)
    # llama.cpp shares the prompt's prefill across a query's samples: counted once.
    want = np.mean([2.0 * params * (comp[p] + prompt[p]) for p in comp])
    got = r.json()["plan"]["cost_per_query"]
    assert got == pytest.approx(want, rel=1e-9)


def test_seconds_add_up_to_the_profiling_wall_clock(cli, profile: Path) -> None:
    r = cli("simulate", profile, "--rule", "fixed:6", "--unit", "seconds", "--holdout", "0", "--json")
    assert r.code == 0, r.err
    recs = list(iter_records(profile))
    wall = max(x["t"] for x in recs) - min(x["t"] - x["seconds"] for x in recs)
    # Spending every sample of every problem costs what profiling them took on this machine.
    total = r.json()["plan"]["cost_per_query"] * len({x["problem"] for x in recs})
    assert total == pytest.approx(wall, rel=1e-6)
    # A per-sample time is its wall time while 8 shared the batch: one sample costs less.
    per_sample = [x["seconds"] for x in recs]
    one = cli("simulate", profile, "--rule", "fixed:1", "--unit", "seconds", "--holdout", "0", "--json").json()
    assert 0 < one["plan"]["cost_per_query"] < float(np.mean(per_sample))


@pytest.mark.parametrize("unit", ["flops", "seconds"])
def test_plan_in_flops_and_seconds(cli, profile: Path, tmp_path: Path, unit: str) -> None:
    cheap = cli("simulate", profile, "--rule", "fixed:2", "--unit", unit, "--holdout", "0", "--json").json()
    budget = 2 * cheap["plan"]["cost_per_query"]
    r = cli("plan", profile, "--budget", f"{budget:.6g}", "--unit", unit, "--holdout", "0.5",
            "-o", tmp_path / "plan.json", "--json")
    assert r.code == 0, r.err
    out = r.json()
    assert out["plan"]["objective"]["unit"] == unit and out["plan"]["cost_per_query"] > 0
    saved = json.loads((tmp_path / "plan.json").read_text())
    assert saved["objective"]["budget"] == pytest.approx(budget, rel=1e-5)
    # An impossible budget says what is achievable, in the same unit.
    r = cli("plan", profile, "--budget", f"{budget / 1e6:.6g}", "--unit", unit)
    assert r.code == ExitCode.INFEASIBLE and f"{unit}/query" in r.err


def test_flops_without_a_parameter_count_is_a_clear_error(cli, profile: Path, tmp_path: Path) -> None:
    lines = profile.read_text().splitlines()
    header = json.loads(lines[0])
    header["model"] = {"spec": "some-server-model", "path": "some-server-model"}
    bare = tmp_path / "bare.jsonl"
    bare.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    r = cli("plan", bare, "--budget", "1e12", "--unit", "flops")
    assert r.code == ExitCode.BAD_INPUT and "parameter count" in r.err
    # Units that need no parameter count still work on it.
    assert cli("plan", bare, "--budget", "1e9", "--unit", "tokens").code == 0
    # --params gives it: the plan records the count, and replaying the plan charges it.
    r = cli("plan", bare, "--budget", "1e12", "--unit", "flops", "--params", "some-server-model=1e9",
            "-o", tmp_path / "flops.json", "--json")
    assert r.code == 0, r.err
    assert json.loads((tmp_path / "flops.json").read_text())["model"]["parameters"] == 1e9
    sim = cli("simulate", bare, "--plan", tmp_path / "flops.json", "--json")
    assert sim.code == 0, sim.err
    assert 0 < sim.json()["plan"]["cost_per_query"] < 1.2e12
    # The plan replays with the count it was made with; another one, or one for another unit, is refused.
    again = cli("simulate", bare, "--plan", tmp_path / "flops.json", "--params", "5e9")
    assert again.code == ExitCode.BAD_INPUT and "made with 1e+09" in again.err
    r = cli("simulate", bare, "--rule", "fixed:2", "--unit", "tokens", "--params", "5e9")
    assert r.code == ExitCode.BAD_INPUT and "flops only" in r.err
    comp, prompt = _per_problem(bare)
    # A rule replayed in flops takes the count too: 2 × N × tokens.
    rule = cli("simulate", bare, "--rule", "fixed:6", "--unit", "flops", "--holdout", "0", "--params", "1e9", "--json")
    assert rule.code == 0, rule.err
    want = np.mean([2.0 * 1e9 * (comp[p] + prompt[p]) for p in comp])
    assert rule.json()["plan"]["cost_per_query"] == pytest.approx(want, rel=1e-9)
    # A count for a model the profile is not of is refused, naming it.
    r = cli("plan", bare, "--budget", "1e12", "--unit", "flops", "--params", "other=1e9")
    assert r.code == ExitCode.BAD_INPUT and "'other'" in r.err
    r = cli("plan", bare, "--budget", "1e9", "--unit", "tokens", "--params", "some-server-model=1e9")
    assert r.code == ExitCode.BAD_INPUT and "flops only" in r.err


def test_usd_plan_carries_its_prices_to_simulate(cli, profile: Path, tmp_path: Path) -> None:
    prices = ("--price-in", "0.5", "--price-out", "2")
    tokens = cli("simulate", profile, "--rule", "fixed:2", "--unit", "tokens", "--holdout", "0", "--json").json()
    r = cli("plan", profile, "--budget", "1", "--unit", "usd", *prices, "-o", tmp_path / "usd.json", "--json")
    assert r.code == 0, r.err
    saved = json.loads((tmp_path / "usd.json").read_text())
    assert (saved["objective"]["price_in"], saved["objective"]["price_out"]) == (0.5, 2.0)
    # Replaying the plan needs no prices on the command line: the plan's own are used.
    sim = cli("simulate", profile, "--plan", tmp_path / "usd.json", "--json")
    assert sim.code == 0, sim.err
    assert 0 < sim.json()["plan"]["cost_per_query"] < 1
    # And the usd cost lies between the token cost at the in-price and at the out-price (fixed:2).
    usd = cli("simulate", profile, "--rule", "fixed:2", "--unit", "usd", *prices, "--holdout", "0", "--json").json()
    assert usd["plan"]["cost_per_query"] <= tokens["plan"]["cost_per_query"] * 2 / 1e6 + 1e-12
    assert usd["plan"]["cost_per_query"] >= tokens["plan"]["cost_per_query"] * 0.5 / 1e6 - 1e-12

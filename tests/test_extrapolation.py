"""Plans that need more samples than were recorded: predicted by the fitted curves, checked
against the samples that were held back (OSCA records 300 per problem; we keep 10)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inferplan.importers.published import import_published

pytestmark = pytest.mark.data


def _subsample(src: Path, dst: Path, keep: int, configs: set[str] | None = None, seed: int = 0) -> Path:
    """``keep`` random samples per (problem, config) of ``src`` (OSCA's record order is not random)."""
    lines = src.read_text().splitlines()
    header = json.loads(lines[0])
    if configs is not None:
        header["configs"] = [c for c in header["configs"] if c["name"] in configs]
    groups: dict[tuple[str, str], list[dict]] = {}
    for line in lines[1:]:
        rec = json.loads(line)
        if configs is None or rec["config"] in configs:
            groups.setdefault((rec["problem"], rec["config"]), []).append(rec)
    rng = np.random.default_rng(seed)
    out = [json.dumps(header)]
    for recs in groups.values():
        pick = sorted(rng.choice(len(recs), min(keep, len(recs)), replace=False)) if keep else range(len(recs))
        out.extend(json.dumps({**recs[i], "index": j}) for j, i in enumerate(pick))
    dst.write_text("\n".join(out) + "\n")
    return dst


@pytest.fixture(scope="module")
def osca(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("osca")
    full = import_published("osca", shared_data / "osca" / "bigcodebench_hard.json", work / "osca.jsonl")
    one = {"Llama_1.4"}
    return {"full": full, "sub": _subsample(full, work / "sub.jsonl", 10),
            "one_full": _subsample(full, work / "one_full.jsonl", 0, one),
            "one_sub": _subsample(full, work / "one_sub.jsonl", 10, one, seed=1)}


def _plan_and_replay(cli, profile: Path, full: Path, tmp_path: Path) -> tuple[dict, dict]:
    plan_path = tmp_path / "plan.json"
    r = cli("plan", profile, "--budget", "64", "--unit", "samples", "--aggregate", "oracle", "-o", plan_path, "--json")
    assert r.code == 0, r.err
    # The same plan replayed on the same held-out problems with all 300 samples recorded.
    s = cli("simulate", full, "--plan", plan_path, "--json")
    assert s.code == 0, s.err
    return r.json(), s.json()["plan"]


def test_subsampled_osca_plan_predicts_the_full_replay(cli, osca, tmp_path: Path) -> None:
    out, truth = _plan_and_replay(cli, osca["sub"], osca["full"], tmp_path)
    pred = out["plan"]["prediction"]
    assert abs(pred["accuracy"] - truth["accuracy"]) <= 0.06
    assert pred["accuracy_ci"][0] <= truth["accuracy"] <= pred["accuracy_ci"][1]
    assert truth["samples_per_query"] <= 64


def test_budget_beyond_recorded_samples_is_extrapolated_and_marked(cli, osca, tmp_path: Path) -> None:
    out, truth = _plan_and_replay(cli, osca["one_sub"], osca["one_full"], tmp_path)
    saved = json.loads((tmp_path / "plan.json").read_text())
    n = saved["stopping"]["max_samples"]
    assert saved["stopping"]["name"] == "fixed" and n > 10  # more samples than the profile holds
    pred = saved["prediction"]
    assert pred["extrapolated"] is True and pred["recorded_samples"] == 10
    assert any("predicted by the fitted curve, beyond the 10 recorded samples" in x for x in saved["notes"])
    assert any(p["extrapolated"] for p in out["pareto"])
    # Held back samples: the interval covers what the 300 recorded give. From 10 samples of ONE
    # configuration, "unsolvable" and "hard" look alike, so the point prediction of a 25× step
    # can be ~10 points off (measured: +5.6); the interval is wide because of that.
    assert pred["accuracy_ci"][0] <= truth["accuracy"] <= pred["accuracy_ci"][1]
    assert abs(pred["accuracy"] - truth["accuracy"]) <= 0.12
    assert abs(pred["samples"] - truth["samples_per_query"]) <= 0.35 * truth["samples_per_query"]
    # The human output says so too.
    text = cli("plan", osca["one_sub"], "--budget", "64", "--unit", "samples", "--aggregate", "oracle")
    assert "extrapolated" in text.out and "beyond the 10 recorded samples" in text.out


def test_simulate_a_fixed_n_beyond_the_recorded_samples(cli, osca) -> None:
    args = ("--rule", "fixed:64", "--aggregate", "oracle", "--unit", "samples", "--json")
    r = cli("simulate", osca["one_sub"], *args)
    assert r.code == 0, r.err
    assert "predicted by the fitted curve, beyond the 10 recorded samples" in r.err
    truth = cli("simulate", osca["one_full"], *args).json()["plan"]
    got = r.json()["plan"]
    # One configuration, 10 samples → 64 (measured: 81.8% predicted, 68.2% recorded): the
    # point prediction is weak here and the interval, spanning the difficulty families, says so.
    assert got["accuracy_ci"][0] <= truth["accuracy"] <= got["accuracy_ci"][1]
    assert abs(got["accuracy"] - truth["accuracy"]) <= 0.15


def test_majority_vote_extrapolates_with_the_majority_curve(cli, shared_data: Path, tmp_path: Path) -> None:
    full = import_published("esc", shared_data / "esc" / "last_letters_gpt35.jsonl", tmp_path / "esc.jsonl")
    sub = _subsample(full, tmp_path / "esc10.jsonl", 10)
    args = ("--rule", "fixed:40", "--unit", "samples", "--holdout", "0.5", "--json")
    r = cli("simulate", sub, *args)
    assert r.code == 0 and "predicted by the fitted curve" in r.err
    truth = cli("simulate", full, *args).json()["plan"]
    assert abs(r.json()["plan"]["accuracy"] - truth["accuracy"]) <= 0.02
    assert r.json()["plan"]["samples_per_query"] == 40

"""`fit A B …` (issue 31): each model's maj@k curve against its cost per query, on one chart."""

from __future__ import annotations

import json

import numpy as np
import pytest

import inferplan as ip

ACTIVE = {"gpt-oss-20b": 3.6e9, "Phi-4-reasoning": 14.7e9, "NVIDIA-Nemotron-Nano-9B-v2": 9.0e9}

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def gpqa(shared_data, tmp_path_factory) -> list[str]:
    work = tmp_path_factory.mktemp("gpqa")
    paths = []
    for m in ACTIVE:
        out = work / f"{m}.jsonl"
        ip.import_profile("boinf", shared_data / "boinf" / f"gpqa_diamond_{m}.jsonl", out=out)
        paths.append(str(out))
    return paths


def test_each_curve_costs_what_the_replay_charges_fixed_k(gpqa) -> None:
    """At k samples a point costs what `simulate --rule fixed:k` charges a query, and its maj@k is
    the model's own fit's (observed at recorded k, extrapolated beyond)."""
    r = ip.fit_models(gpqa, unit="flops", parameters=ACTIVE, at=(160,))
    assert r.unit == "flops" and r.metric == "maj@k" and [c.model for c in r.curves] == list(ACTIVE)
    for path, c in zip(gpqa, r.curves):
        own = ip.fit(path, at=(160,)).configs[0]
        n = own.samples[1]  # 80 recorded per problem (Phi-4-reasoning: 160)
        for p in c.points:
            if p.k == n:  # every recorded sample: the replay's cost is exact, not a draw
                sim = ip.simulate(path, rule=f"fixed:{n}", unit="flops", parameters=ACTIVE[c.model], reps=2)
                assert p.cost == pytest.approx(sim.estimate.cost.point, rel=1e-9)
            assert p.observed == (p.k <= n)
            assert p.accuracy == (own.observed if p.observed else own.predicted)["maj@k"][p.k]
            assert p.interval[0] < p.accuracy < p.interval[1]
        assert n in [p.k for p in c.points] and c.points[-1].k == 160
        assert np.all(np.diff([p.cost for p in c.points]) > 0)
    cheap = {c.model: c.per_sample for c in r.curves}
    assert cheap["gpt-oss-20b"] < cheap["Phi-4-reasoning"]  # a quarter of the active parameters, fewer tokens


def test_cli_fit_across_models_table_chart_json_and_png(cli, gpqa, tmp_path) -> None:
    params = [x for m, n in ACTIVE.items() for x in ("--params", f"{m}={n:g}")]
    r = cli("fit", *gpqa, "--unit", "flops", *params, "--at", "160", "--plot", str(tmp_path / "m.png"),
            "-o", str(tmp_path / "m.json"))
    assert r.code == 0, r.err
    assert "Fit across 3 models" in r.out and "maj@k against flops/query" in r.out and "extrapolated" in r.out
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    d = json.loads((tmp_path / "m.json").read_text())
    assert d["format"] == "inferplan.fit-models/1" and len(d["models"]) == 3 and len(d["fits"]) == 3
    again = cli("fit", *gpqa, "--unit", "flops", *params, "--at", "160", "-o", str(tmp_path / "m.json"), "--json")
    assert again.code == 0 and json.loads(again.out)["models"] == d["models"]  # its own report is replaced


def test_cli_fit_across_models_one_line_errors(cli, gpqa, shared_data, tmp_path) -> None:
    r = cli("fit", gpqa[0], "--unit", "flops")
    assert r.code == 3 and "one profile's fit is per sample" in r.err and len(r.err.strip().splitlines()) == 1
    r = cli("fit", *gpqa[:2], "--unit", "tokens")
    assert r.code == 3 and "--same-token-cost" in r.err and len(r.err.strip().splitlines()) == 1
    other = tmp_path / "math.jsonl"
    ip.import_profile("boinf", shared_data / "boinf" / "math500_Qwen3-14B.jsonl", out=other)
    r = cli("fit", gpqa[0], str(other), "--unit", "samples", "--same-token-cost")
    assert r.code == 3 and "hold different problems" in r.err and len(r.err.strip().splitlines()) == 1
    notes = tmp_path / "notes.json"
    notes.write_text("{}")
    r = cli("fit", *gpqa[:2], "--unit", "samples", "--same-token-cost", "-o", str(notes))
    assert r.code == 7 and notes.read_text() == "{}"

"""`inferplan fit` end to end on real recorded sample sets (imported published data)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inferplan.profiles.header import ConfigSpec
from inferplan.profiles.store import ProfileWriter


@pytest.fixture(scope="module")
def aime_profile(imported):
    return imported("boinf", "boinf/aime2025_Qwen3-4B.jsonl")


@pytest.fixture(scope="module")
def osca_small(tmp_path_factory, shared_data):
    """The real OSCA counts of 3 configurations × 40 problems, 30 runs each (no answers)."""
    data = json.loads((shared_data / "osca" / "bigcodebench_hard.json").read_text())
    pids = data["testing_instances"][:40]
    rng = np.random.default_rng(0)
    configs = [ConfigSpec(data["settings"][j]["name"]) for j in (0, 4, 9)]
    out = tmp_path_factory.mktemp("fit") / "osca_small.jsonl"
    header = {"configs": [c.to_json() for c in configs], "problem_ids": pids}
    with ProfileWriter(out, header) as writer:
        for j, cfg in zip((0, 4, 9), configs):
            counts = rng.hypergeometric(np.array(data["test"][str(j)][:40]), 300 - np.array(data["test"][str(j)][:40]), 30)
            writer.write({"problem": pid, "config": cfg.name, "index": i, "answer": None, "correct": bool(i < c)}
                         for pid, c in zip(pids, counts) for i in range(30))
    return out


def test_fit_json_with_answers(cli, aime_profile, tmp_path) -> None:
    r = cli("fit", aime_profile, "--json", "--at", "16,100", "-o", tmp_path / "fit.json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["format"] == "inferplan.fit/1"
    assert json.loads((tmp_path / "fit.json").read_text()) == doc
    (cfg,) = doc["configs"]
    assert cfg["config"] == "default"
    obs, pred = cfg["observed"], cfg["predicted"]
    assert list(obs["pass@k"]) == ["1", "2", "4", "8", "16", "32", "64", "80"]
    assert obs["pass@k"]["80"] == pytest.approx(26 / 30)  # 26 of 30 problems solved at least once
    assert obs["maj@k"]["1"] == pytest.approx(obs["pass@k"]["1"])
    for metric in ("pass@k", "maj@k"):
        assert set(pred[metric]) == {"16", "100"}
        for k, (lo, hi) in pred["intervals"][metric].items():
            assert lo <= pred[metric][k] <= hi
        for k, (lo, hi) in obs["intervals"][metric].items():
            assert 0 <= lo <= obs[metric][k] <= hi <= 1
    assert pred["pass@k"]["100"] >= obs["pass@k"]["80"] - 0.05
    sel = doc["model_selection"]
    assert 0 < cfg["ceiling"]["maj@k"] <= 1 and set(cfg["family"].split(" + ")) <= set(sel["cv_error_points"])
    # The pass@k curve averages the families with the CV's stacked shares.
    assert set(sel["pass_curve_weights"]) == set(sel["cv_error_points"])
    assert sum(sel["pass_curve_weights"].values()) == pytest.approx(1.0)


def test_fit_without_answers_omits_maj(cli, osca_small) -> None:
    r = cli("fit", osca_small, "--json", "--at", "100,300")
    assert r.code == 0, r.err
    doc = r.json()
    assert [c["config"] for c in doc["configs"]] == ["Qwen_0.2", "Qwen_1.4", "Llama_1.4"]
    for cfg in doc["configs"]:
        assert "maj@k" not in cfg["observed"] and "maj@k" not in cfg["predicted"]
        assert cfg["predicted"]["pass@k"]["300"] >= cfg["predicted"]["pass@k"]["100"]
        assert cfg["predicted"]["pass@k"]["300"] <= cfg["ceiling"]["pass@k"] + 1e-9


def test_fit_text_and_plot(cli, aime_profile, tmp_path) -> None:
    png = tmp_path / "curves.png"
    r = cli("fit", aime_profile, "--plot", png)
    assert r.code == 0, r.err
    assert "pass@k" in r.out and "maj@k" in r.out and "ceiling" in r.out and "300*" in r.out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


@pytest.mark.parametrize("args, message", [
    (("missing.jsonl",), "no such profile"),
    (("{profile}", "--at", "ten"), "--at"),
    (("{profile}", "--at", "0,5"), "--at"),
    (("{profile}", "--level", "1.5"), "--level"),
])
def test_fit_bad_input(cli, aime_profile, args, message) -> None:
    r = cli("fit", *[a.format(profile=aime_profile) for a in args])
    assert r.code == 3
    assert message in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_fit_rejects_non_profile(cli, tmp_path) -> None:
    bad = tmp_path / "tasks.jsonl"
    bad.write_text('{"id": 1, "prompt": "2+2?", "answer": "4"}\n')
    r = cli("fit", bad)
    assert r.code == 3 and "profile" in r.err


def test_a_task_file_or_lm_eval_samples_given_as_a_profile_names_the_command_to_use(cli, tmp_path) -> None:
    """Issue 28: "no format field" left the user guessing; the error says what the file is and what to run."""
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "q1", "question": "2+2?", "answer": "4"}\n')
    samples = tmp_path / "samples_gsm8k_2025-01-01T00-00-00.jsonl"
    samples.write_text(json.dumps({"doc_id": 0, "doc": {"question": "2+2?"}, "target": "4", "arguments": [],
                                   "resps": [["4"]], "filtered_resps": ["4"], "filter": "strict-match"}) + "\n")
    other = tmp_path / "other.jsonl"
    other.write_text('{"name": "something else"}\n')
    for command in (("fit",), ("plan", "--budget", "4"), ("simulate",)):
        r = cli(command[0], tasks, *command[1:])
        assert r.code == 3 and len(r.err.strip().splitlines()) == 1, r.err
        assert "a task file" in r.err and f"inferplan profile --tasks {tasks}" in r.err, r.err
        r = cli(command[0], samples, *command[1:])
        assert r.code == 3 and len(r.err.strip().splitlines()) == 1, r.err
        assert "lm-evaluation-harness samples" in r.err and f"inferplan import lm-eval {samples}" in r.err, r.err
        r = cli(command[0], other, *command[1:])
        assert r.code == 3 and "not an inferplan profile" in r.err and "inferplan import" in r.err, r.err


def test_fit_empty_profile(cli, tmp_path) -> None:
    empty = tmp_path / "empty.jsonl"
    with ProfileWriter(empty, {"configs": [ConfigSpec("t0.7", 0.7).to_json()]}):
        pass
    r = cli("fit", empty)
    assert r.code == 3 and "no samples" in r.err

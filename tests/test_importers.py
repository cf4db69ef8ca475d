"""Importers of the published sample sets (real files in ../shared/data)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from inferplan.errors import ConflictError, InputError
from inferplan.importers.published import extract_last_letters, import_published, run_import
from inferplan.policy.vote import majority
from inferplan.profiles.store import load_profile, read_header


def _per_key(tab) -> Counter:
    return Counter(zip(tab.problem.tolist(), tab.config.tolist()))


def test_boinf_math500_shape_tokens_and_majority(shared_data, tmp_path):
    src = shared_data / "boinf" / "math500_gpt-oss-20b.jsonl"
    out = import_published("boinf", src, tmp_path / "p.jsonl")
    tab = load_profile(out)
    assert len(tab.problems) == 500 and [c.name for c in tab.configs] == ["default"]
    assert set(_per_key(tab).values()) == {80} and tab.n_samples == 40_000
    assert not np.isnan(tab.completion_tokens).any() and tab.completion_tokens.min() >= 0
    assert np.median(tab.completion_tokens) > 100
    # Majority over all 80 (random tie-break) reproduces the file's own majority_answer accuracy;
    # ties are the only way they may differ, by at most one problem each.
    rows = [json.loads(line) for line in src.open()]
    file_acc = np.mean([r["majority_answer"] == r["gold_answer"] for r in rows])
    rng = np.random.default_rng(0)
    ours, ties = [], 0
    for p in range(len(tab.problems)):
        sel = tab.problem == p
        names = tab.answer_names[p]
        answers = [names[a] if a >= 0 else None for a in tab.answer[sel]]
        counts = Counter(a for a in answers if a is not None).most_common(2)
        ties += len(counts) == 2 and counts[0][1] == counts[1][1]
        gold = read_header(out)["gold"][tab.problems[p]] if p == 0 else None
        winner = majority(answers, rng)
        ours.append(bool(tab.correct[sel][answers.index(winner)]) if winner is not None else False)
        if gold is not None:
            assert tab.correct[sel].sum() == sum(a == gold for a in answers)
    assert abs(np.mean(ours) - file_acc) <= ties / len(rows) + 1e-12
    assert file_acc == pytest.approx(0.952)


def test_osca_counts_split_and_configs(shared_data, tmp_path):
    src = shared_data / "osca" / "bigcodebench_hard.json"
    out = import_published("osca", src, tmp_path / "o.jsonl")
    tab = load_profile(out)
    raw = json.loads(src.read_text())
    assert len(tab.problems) == 148 and len(tab.configs) == 10
    assert set(_per_key(tab).values()) == {300}
    split = tab.split()
    assert split == {"train": raw["training_instances"], "test": raw["testing_instances"]}
    assert len(split["train"]) == 70 and len(split["test"]) == 78
    cfg = tab.configs[tab.config_index("Llama_1.4")]
    assert cfg.temperature == 1.4 and cfg.settings["model"] == "Llama"
    # Correct counts survive exactly, for every problem and configuration.
    pid = raw["testing_instances"][5]
    p, j = tab.problems.index(pid), tab.config_index("Qwen_0.8")
    assert tab.correct[(tab.problem == p) & (tab.config == j)].sum() == raw["test"]["2"][5]
    assert tab.correct.sum() == sum(sum(v) for part in ("train", "test") for v in raw[part].values())


def test_esc_extraction_and_self_consistency(shared_data, tmp_path):
    src = shared_data / "esc" / "last_letters_gpt35.jsonl"
    result = run_import("esc", src, tmp_path / "e.jsonl")
    tab = load_profile(result.path, with_text=True)
    assert len(tab.problems) == 500 and set(_per_key(tab).values()) == {40}
    assert [c.name for c in tab.configs] == ["t0.7"] and tab.configs[0].temperature == 0.7
    assert (tab.answer >= 0).mean() >= 0.98 and result.extracted == int((tab.answer >= 0).sum())
    assert all(t is not None for t in tab.texts) and sum(map(bool, tab.texts)) >= 0.98 * 20_000
    rng = np.random.default_rng(1)
    gold = read_header(result.path)["gold"]
    hits = []
    for p, pid in enumerate(tab.problems):
        names = tab.answer_names[p]
        hits.append(majority([names[a] for a in tab.answer[tab.problem == p] if a >= 0], rng) == gold[pid])
    sc = np.mean(hits)
    assert sc == pytest.approx(0.8314, abs=0.006)  # REFERENCE.md §3: SC@40 83.14%


def test_extract_last_letters():
    assert extract_last_letters("Concatenating them is 'yajo'. The answer is yajo.") == "yajo"
    assert extract_last_letters("The answer is 'AbC'.\nmore") == "abc"
    assert extract_last_letters("no conclusion here") is None


def test_rerun_is_idempotent_and_other_source_conflicts(shared_data, tmp_path):
    out = tmp_path / "a.jsonl"
    src = shared_data / "boinf" / "aime2025_Qwen3-4B.jsonl"
    first = run_import("boinf", src, out)
    size = out.stat().st_size
    again = run_import("boinf", src, out)
    assert again.records == first.records == 30 * 80 and out.stat().st_size == size
    other = shared_data / "boinf" / "aime2025_gpt-oss-20b.jsonl"
    with pytest.raises(ConflictError):
        run_import("boinf", other, out)
    assert run_import("boinf", other, out, force=True).records == 30 * 100


def test_bad_inputs(tmp_path, shared_data):
    with pytest.raises(InputError):
        run_import("nope", shared_data / "osca" / "bigcodebench_hard.json", tmp_path / "x.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": 1}\n')
    with pytest.raises(InputError):
        run_import("boinf", bad, tmp_path / "x.jsonl")
    with pytest.raises(InputError):
        run_import("esc", tmp_path / "missing.jsonl", tmp_path / "x.jsonl")


def test_import_cli(cli, shared_data, tmp_path):
    out = tmp_path / "e.jsonl"
    r = cli("import", "esc", shared_data / "esc" / "last_letters_gpt35.jsonl", "-o", out, "--json")
    assert r.code == 0, r.err
    assert r.json()["problems"] == 500 and r.json()["records"] == 20_000
    r = cli("import", "osca", shared_data / "esc" / "last_letters_gpt35.jsonl", "-o", tmp_path / "z.jsonl")
    assert r.code == 3 and "not an OSCA" in r.err and "Traceback" not in r.err

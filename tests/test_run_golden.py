"""`run -n N` goes through the one plan engine and still prints what the old fixed-N runner printed.

The golden files were written by the fixed-N runner this engine replaced (same
seeds, same prompts, ``--no-timing``); the output must stay byte-identical.

Sampled texts depend on llama.cpp's CPU kernels: AVX2 and AVX-512/AMX builds round
differently, and a sample drifts onto another token after a few steps. So the files
are kept per kernel family: ``run_n8.jsonl`` / ``run_table.txt`` were written on an AVX2
host (AMD EPYC) by the old runner; the ``.avx512-amx`` ones on an AVX-512 + AMX host
(Intel Xeon) by the engine as of the commit before they were added, whose output on
that host equalled the current engine's byte for byte (checked when they were added).
"""

from __future__ import annotations

from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


def kernel_family() -> str | None:
    """"avx2", "avx512-amx" or None (no golden output recorded for this CPU's kernels)."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    if "AMX_INT8 = 1" in info and "AVX512 = 1" in info:
        return "avx512-amx"
    if "AVX2 = 1" in info and "AVX512 = 1" not in info:
        return "avx2"
    return None


def golden(name: str) -> str:
    family = kernel_family()
    if family is None:
        pytest.skip("no golden output recorded for this CPU's llama.cpp kernels (sampled texts depend on them)")
    stem, dot, ext = name.partition(".")
    return (GOLDEN / (name if family == "avx2" else f"{stem}.{family}{dot}{ext}")).read_text()


@pytest.mark.slow
def test_fixed_n_run_matches_the_old_runner_byte_for_byte(cli) -> None:
    r = cli("run", "--input", GOLDEN / "run_queries.jsonl", "-n", "8", "--temperatures", "0.3,0.7,1.0",
            "--max-tokens", "48", "--json", "--show-samples", "--no-timing", "--seed", "3")
    assert r.code == 0, r.err
    assert r.out == golden("run_n8.jsonl")


@pytest.mark.slow
def test_raw_prompt_with_stop_and_extractor_matches_the_old_runner(cli) -> None:
    r = cli("run", "What is 6 times 7?", "-n", "8", "--raw", "--temperatures", "0.8", "--max-tokens", "24",
            "--stop", "\n\n", "--extract", "number", "--system", "ignored for raw", "--json", "--no-timing")
    assert r.code == 0, r.err
    assert r.out == (GOLDEN / "run_n8_raw.jsonl").read_text()


def test_a_fixed_plan_is_an_ordinary_plan() -> None:
    import inferplan as ip

    plan = ip.fixed_plan(6, temperatures=(0.3, 0.3, 1.0))
    assert plan.rule.spec.startswith("fixed:6") and plan.rule.min_samples == plan.rule.max_samples == 6
    # One configuration per listed temperature, equal shares: drawn in the listed order, cycled.
    assert [c.temperature for c in plan.configs.values()] == [0.3, 0.3, 1.0]
    assert pytest.approx(sum(plan.mix.values())) == 1.0


@pytest.mark.slow
def test_the_vote_tables_match_the_old_runner(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from inferplan.cli.render import common

    monkeypatch.setattr(common.out, "_width", 100)
    r = cli("run", "What is 17 + 25?", "What is 3 + 4?", "-n", "8", "--temperatures", "0.3,0.7,1.0",
            "--max-tokens", "48", "--seed", "3")
    assert r.code == 0, r.err
    assert re.sub(r"\d+\.\d s", "<t> s", r.out) == golden("run_table.txt")

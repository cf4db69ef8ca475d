"""`inferplan import boinf FILE… -o DIR` (issue 31): a benchmark's files of several models become one
profile per model, which `plan DIR/*.jsonl` takes together; files of other benchmarks, and files
inferplan did not write, are refused in one line before anything is written."""

from __future__ import annotations

from pathlib import Path

from inferplan.errors import ExitCode
from inferplan.profiles.store import load_profile

MODELS = ("Qwen3-14B", "gpt-oss-20b", "Qwen3-4B")


def _files(shared_data: Path, dataset: str, models=MODELS) -> list[Path]:
    return [shared_data / "boinf" / f"{dataset}_{m}.jsonl" for m in models]


def test_a_benchmarks_files_import_as_profiles_plan_takes_together(cli, shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "aime2025"
    r = cli("import", "boinf", *_files(shared_data, "aime2025"), "-o", out, "--json")
    assert r.code == 0, r.err
    written = [Path(p["path"]) for p in r.json()["profiles"]]
    assert [p.name for p in written] == [f.name for f in _files(shared_data, "aime2025")]
    tables = [load_profile(p) for p in written]
    assert all(t.problems == tables[0].problems for t in tables) and len(tables[0].problems) == 30
    # The one-file import writes the same profile (same records): several at once changes no content.
    one = tmp_path / "one.jsonl"
    assert cli("import", "boinf", _files(shared_data, "aime2025")[1], "-o", one).code == 0
    assert one.read_text().splitlines()[1:] == written[1].read_text().splitlines()[1:]
    # Rerunning is a no-op: the files stay byte for byte.
    before = [p.read_bytes() for p in written]
    assert cli("import", "boinf", *_files(shared_data, "aime2025"), "-o", out).code == 0
    assert [p.read_bytes() for p in written] == before
    params = [a for m, n in zip(MODELS, (14.8e9, 3.6e9, 4.0e9)) for a in ("--params", f"{m}={n}")]
    plan = cli("plan", *sorted(out.glob("*.jsonl")), "--unit", "flops", *params, "--budget", "2e14",
               "--policy", "choose", "-o", tmp_path / "plan.json")
    assert plan.code == 0, plan.err
    assert "Plan across 3 models" in plan.out


def test_files_of_another_benchmark_are_refused_before_anything_is_written(cli, shared_data: Path,
                                                                            tmp_path: Path) -> None:
    out = tmp_path / "mixed"
    r = cli("import", "boinf", _files(shared_data, "aime2024")[0], _files(shared_data, "aime2025")[1], "-o", out)
    assert r.code == ExitCode.BAD_INPUT
    assert "different gold answers" in r.err and len(r.err.strip().splitlines()) == 1
    r = cli("import", "boinf", _files(shared_data, "aime2024")[0], shared_data / "boinf" / "math500_Qwen3-14B.jsonl",
            "-o", out)
    assert r.code == ExitCode.BAD_INPUT and "different problems" in r.err
    r = cli("import", "boinf", *_files(shared_data, "aime2024")[:1] * 2, "-o", out)
    assert r.code == ExitCode.BAD_INPUT and "one file per model" in r.err
    assert not out.exists()


def test_a_file_inferplan_did_not_write_is_never_overwritten(cli, shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "dir"
    out.mkdir()
    files = _files(shared_data, "aime2025")
    theirs = out / files[2].name
    theirs.write_text("my notes\n")
    r = cli("import", "boinf", *files, "-o", out)
    assert r.code == ExitCode.CONFLICT and "not an inferplan profile" in r.err
    assert theirs.read_text() == "my notes\n"
    assert sorted(p.name for p in out.iterdir()) == [files[2].name]  # checked before the first was written
    assert cli("import", "boinf", *files, "-o", out, "--force").code == 0
    assert load_profile(theirs).problems == load_profile(out / files[0].name).problems
    # -o naming a file with several sources, and several files of another format: one line each.
    r = cli("import", "boinf", *files, "-o", theirs)
    assert r.code == ExitCode.CONFLICT and "names a folder" in r.err
    r = cli("import", "esc", *files[:2], "-o", tmp_path / "esc")
    assert r.code == ExitCode.BAD_INPUT and "boinf" in r.err


def test_osca_imports_one_profile_per_model_which_fit_and_plan_with_a_verifier_compare(cli, shared_data: Path,
                                                                                       tmp_path: Path) -> None:
    """OSCA's one file of two models' configurations imports into a folder as one profile per model
    (issue 31, Build 4); `fit` puts their pass@k side by side; `plan` across them by vote — over
    answers OSCA does not publish — refuses in one line instead of predicting 0%, and with a
    verifier (--aggregate oracle, --policy choose) picks one model and predicts what that model's own
    plan does; a mix in one vote under a verifier is refused."""
    src = shared_data / "osca" / "bigcodebench_hard.json"
    out = tmp_path / "bcb"
    out.mkdir()
    r = cli("import", "osca", src, "-o", out, "--json")
    assert r.code == 0, r.err
    written = [Path(p["path"]) for p in r.json()["profiles"]]
    assert [p.name for p in written] == ["bigcodebench_hard_Qwen.jsonl", "bigcodebench_hard_Llama.jsonl"]
    tables = [load_profile(p) for p in written]
    assert [[c.name for c in t.configs] for t in tables] == [[f"{m}_{t}" for t in ("0.2", "0.5", "0.8", "1.1", "1.4")]
                                                             for m in ("Qwen", "Llama")]
    assert tables[0].problems == tables[1].problems and len(tables[0].problems) == 148
    # The same counts as the one-profile import of the whole file, configuration by configuration.
    whole = load_profile(Path(cli("import", "osca", src, "-o", tmp_path / "all.jsonl", "--json").json()["path"]))
    for t in tables:
        for c, cfg in enumerate(t.configs):
            w = [x.name for x in whole.configs].index(cfg.name)
            assert t.correct[t.config == c].sum() == whole.correct[whole.config == w].sum() > 0
    fit = cli("fit", *written, "--unit", "samples", "--same-token-cost", "--json")
    assert fit.code == 0, fit.err
    assert fit.json()["metric"] == "pass@k" and [m["model"] for m in fit.json()["models"]] == ["Qwen", "Llama"]
    plan = cli("plan", *written, "--unit", "samples", "--same-token-cost", "--budget", "4")
    assert plan.code == ExitCode.BAD_INPUT and len(plan.err.strip().splitlines()) == 1
    assert "no extracted answers" in plan.err and "--aggregate oracle" in plan.err
    plan = cli("plan", *written, "--unit", "samples", "--same-token-cost", "--budget", "4", "--aggregate", "oracle",
               "--policy", "choose", "-o", tmp_path / "plan.json", "--json")
    assert plan.code == 0, plan.err
    r = plan.json()
    assert r["kind"] == "single" and r["plan"]["aggregation"]["kind"] == "oracle"
    assert any("with a verifier" in n for n in r["notes"]) and r["best_mix"] is None
    assert not any("costs least" in n for n in r["notes"])  # a sample of each costs the same: no guard toward one
    # The plan file, replayed by `simulate` on the chosen model's profile (the plan's own held-out
    # problems, its rule, configurations and verifier), gives what the plan predicted — well above one sample.
    chosen = next(p for p in written if p.stem.endswith("_" + r["model"]))
    assert all(c.startswith(r["model"] + "_") for c in r["plan"]["configs"])
    sim = cli("simulate", chosen, "--plan", tmp_path / "plan.json", "--json")
    assert sim.code == 0, sim.err
    replayed = sim.json()
    assert abs(replayed["plan"]["accuracy"] - r["heldout"]["accuracy"]) < 1e-9
    assert replayed["plan"]["accuracy"] > next(b for b in replayed["baselines"] if b["name"] == "fixed-1")["accuracy"] + 0.1
    refused = cli("plan", *written, "--unit", "samples", "--same-token-cost", "--budget", "4", "--aggregate",
                  "oracle", "--policy", "mix")
    assert refused.code == ExitCode.BAD_INPUT and "one vote" in refused.err
    # Into a folder holding a file inferplan did not write at one of the names: refused, nothing written.
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "bigcodebench_hard_Llama.jsonl").write_text("my notes\n")
    r = cli("import", "osca", src, "-o", theirs)
    assert r.code == ExitCode.CONFLICT and "not an inferplan profile" in r.err
    assert sorted(p.name for p in theirs.iterdir()) == ["bigcodebench_hard_Llama.jsonl"]


def test_a_verifier_cascade_across_osca_models_replays_as_its_closed_form(shared_data: Path, tmp_path: Path) -> None:
    """Under a verifier a cascade's first stage stands when one of its samples passes. With OSCA's
    counts (c of 300 runs pass) the chance that n draws without replacement all fail is
    C(300 − c, n) / C(300, n), so a two-stage cascade's accuracy on a problem is 1 − q₁q₂ and its
    escalation share q₁: the plan's held-out prediction matches that within replay noise."""
    from math import comb

    import inferplan as ip

    out = tmp_path / "bcb"
    out.mkdir()
    paths = [r.path for r in ip.import_profiles("osca", [shared_data / "osca" / "bigcodebench_hard.json"],
                                                out_dir=out)]
    r = ip.plan_models(paths, unit="samples", same_token_cost=True, budget=4, aggregate="oracle", policy="cascade")
    assert r.kind == "cascade" and "mixes in one vote are not searched" in " ".join(r.notes)
    first, last = r.cascade.cascade.stages
    assert first.verified and last.last and first.rule.name == last.rule.name == "fixed"

    tables = {p.stem.rsplit("_", 1)[1]: load_profile(p) for p in paths}

    def miss(stage, problem: str) -> float:
        t = tables[stage.model]
        config = [c.name for c in t.configs].index(stage.config)
        rows = (t.problem == t.problems.index(problem)) & (t.config == config)
        runs, passed, n = int(rows.sum()), int(t.correct[rows].sum()), stage.rule.max_samples
        return comb(runs - passed, n) / comb(runs, n)

    q = [(miss(first, p), miss(last, p)) for p in r.plan.heldout]
    assert abs(r.heldout.accuracy.point - (1 - sum(a * b for a, b in q) / len(q))) < 0.04
    assert abs(r.escalation - sum(a for a, _ in q) / len(q)) < 0.04

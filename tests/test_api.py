"""The public API, end to end on the embedded model: the snippet of the README and docs/api.md."""

from __future__ import annotations

from pathlib import Path

import pytest

import inferplan as ip


@pytest.mark.slow
def test_the_documented_snippet_runs_end_to_end(tmp_path: Path) -> None:
    prof = ip.profile("smollm2", tasks="builtin:arith", temperatures=(0.4, 1.0), samples=8, out=tmp_path / "p.jsonl")
    report = ip.fit(prof, at=(32, 100))
    result = ip.plan(prof, budget=150, unit="tokens", fit=report)
    answers = ip.run(result.plan, ["What is 23 + 19?"], model="smollm2")
    check = ip.evaluate(result.plan, model="smollm2")

    assert isinstance(prof, ip.Profile) and prof.run.written == 45 * 2 * 8
    assert {c.config for c in report.configs} == {"t0.4", "t1"} and 32 in report.configs[0].predicted["pass@k"]
    assert result.plan.prediction is not None and result.plan.profile_sha256 == prof.sha256
    assert len(answers) == 1 and answers[0].rule == result.plan.rule.spec and answers[0].samples >= 1
    assert check.realised.problems == len(result.plan.heldout)
    assert set(vars(check.checks)) == {"accuracy_in_predicted_interval", "cost_within_tolerance", "beats_fixed_n",
                                       "samples_as_promised", "completion_tokens_as_promised",
                                       "escalation_as_predicted"}
    assert check.model == "smollm2" and check.promised is not None
    # A rerun of the same profile call resumes: nothing new is sampled.
    again = ip.profile("smollm2", tasks="builtin:arith", temperatures=(0.4, 1.0), samples=8, out=tmp_path / "p.jsonl")
    assert again.run.written == 0 and again.run.already == 45 * 2 * 8


@pytest.mark.data
def test_profiles_open_lazily_and_paths_work_everywhere(imported) -> None:
    path = imported("esc", "esc/last_letters_gpt35.jsonl")
    prof = ip.open_profile(path)
    assert "table" not in vars(prof)  # the header only: samples load on first use
    assert prof.header.configs[0].name == "t0.7" and prof.header.template is None
    by_path = ip.simulate(path, rule="fixed:4")
    by_object = ip.simulate(prof, rule="fixed:4")
    assert by_path.estimate == by_object.estimate


@pytest.mark.data
def test_api_errors_name_parameters_and_the_cli_names_flags(cli, imported) -> None:
    path = imported("esc", "esc/last_letters_gpt35.jsonl")
    with pytest.raises(ip.InferplanError, match="^budget must be positive$"):
        ip.plan(path, budget=-1)
    r = cli("plan", path, "--budget", "-1")
    assert r.code == ip.ExitCode.BAD_INPUT and "--budget must be positive" in r.err
    with pytest.raises(ip.InferplanError, match="n must be at least 1"):
        ip.fixed_plan(0)
    r = cli("run", "2+2?", "-n", "0")
    assert r.code == ip.ExitCode.BAD_INPUT and "-n must be at least 1" in r.err


def test_every_exported_name_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    missing = [n for n in ip.__all__ if n != "__version__" and f"`{n}" not in doc]
    assert not missing, f"docs/api.md does not mention {missing}"

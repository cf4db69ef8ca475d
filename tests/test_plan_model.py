"""A plan runs on the model it was made for: run --plan, evaluate, serve and the API never
fall back silently to the embedded model, and say which model answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import inferplan as ip
from inferplan.backends.embedded import embedded_model_path
from inferplan.backends.gguf_info import file_sha256
from inferplan.errors import InputError, ModelError
from inferplan.planner.plan_file import PlanModel, load_plan
from inferplan.runner.plan_model import choose_model


@pytest.fixture(scope="module")
def fake_plan(tmp_path_factory) -> Path:
    """A plan made from a profile of the fake backend (no model loads to make it)."""
    from fakes import FakeBackend

    root = tmp_path_factory.mktemp("plan_model")
    tasks = root / "sums.jsonl"
    tasks.write_text("".join(json.dumps({"id": f"s{a}", "question": f"What is {a} + {a + 3}?",
                                         "answer": str(2 * a + 3)}) + "\n" for a in range(1, 9)))
    prof = ip.profile("fake", tasks=str(tasks), temperatures=(0.4, 1.0), samples=4, out=root / "p.jsonl",
                      backend=FakeBackend())
    path = root / "plan.json"
    ip.save_plan(ip.plan(prof, budget=3, unit="samples").plan, path)
    return path


def _with_model(plan: Path, model: dict | None, name: str) -> Path:
    data = json.loads(plan.read_text())
    if model is None:
        data.pop("model", None)
        data["profile"]["path"] = "/nowhere/profile.jsonl"
    else:
        data["model"] = model
    out = plan.with_name(name)
    out.write_text(json.dumps(data))
    return out


def test_the_plan_records_its_model(fake_plan: Path) -> None:
    made_for = load_plan(fake_plan).model
    assert made_for == PlanModel(spec="fake", sha256="0" * 64, name=None)


def test_a_plan_of_another_model_never_runs_the_embedded_one_silently(fake_plan: Path, cli) -> None:
    # A plan made on a Qwen GGUF that is no longer where it was: refused before anything loads.
    qwen = _with_model(fake_plan, {"spec": "/models/qwen2.5-coder-0.5b-q4_k_m.gguf", "sha256": "ab" * 32},
                       "qwen.json")
    r = cli("run", "--plan", qwen, "What is 2 + 3?")
    assert r.code == 4 and "qwen2.5-coder-0.5b-q4_k_m.gguf" in r.err and "not there" in r.err
    # The embedded model named instead: its sha256 is not the plan's.
    r = cli("run", "--plan", qwen, "--model", "smollm2", "What is 2 + 3?")
    assert r.code == 4 and "is not the model the plan was made for" in r.err and "--model-mismatch ok" in r.err
    assert len(r.err.strip().splitlines()) == 1
    r = cli("evaluate", "--plan", qwen, "--model", "smollm2")
    assert r.code == 4 and "is not the model" in r.err
    r = cli("serve", "--plan", qwen, "--port", "0")
    assert r.code == 4 and "not there" in r.err


@pytest.mark.slow
def test_a_mismatch_the_user_accepts_is_run_and_flagged(fake_plan: Path, cli) -> None:
    qwen = _with_model(fake_plan, {"spec": "/models/qwen.gguf", "sha256": "ab" * 32}, "qwen2.json")
    r = cli("run", "--plan", qwen, "--model", "smollm2", "--model-mismatch", "ok", "--json", "--max-samples", "2",
            "What is 2 + 3?")
    assert r.code == 0, r.err
    line = r.json_lines()[0]
    assert line["model"] == "smollm2" and "predictions do not apply" in line["model_mismatch"]
    assert "predictions do not apply" in r.err


@pytest.mark.slow
def test_the_plans_own_model_is_the_default_and_is_named(fake_plan: Path, cli) -> None:
    own = _with_model(fake_plan, {"spec": "smollm2", "sha256": file_sha256(embedded_model_path())}, "own.json")
    r = cli("run", "--plan", own, "--json", "--max-samples", "2", "What is 2 + 3?")
    assert r.code == 0, r.err
    assert r.json_lines()[0]["model"] == "smollm2" and "model_mismatch" not in r.json_lines()[0]
    # The same weights named by their path are the same model.
    r = cli("run", "--plan", own, "--model", embedded_model_path(), "--max-samples", "2", "What is 2 + 3?")
    assert r.code == 0, r.err
    assert embedded_model_path().name in r.out


def test_imported_and_older_plans_ask_for_a_model(fake_plan: Path, cli) -> None:
    published = _with_model(fake_plan, {"spec": None, "sha256": None, "name": "gpt-oss-20b"}, "boinf.json")
    r = cli("run", "--plan", published, "What is 2 + 3?")
    assert r.code == 3 and "published samples of gpt-oss-20b" in r.err and "--model" in r.err
    with pytest.raises(InputError, match="does not say which model"):
        choose_model(load_plan(_with_model(fake_plan, None, "old.json")), None)
    # Naming a model for a published-sample plan is allowed, with the warning carried.
    choice = choose_model(load_plan(published), "smollm2")
    assert choice.spec == "smollm2" and "published samples of gpt-oss-20b" in choice.warning


def test_an_open_backend_is_checked_too(fake_plan: Path, fake_backend) -> None:
    from fakes import FakeBackend

    results = ip.run(fake_plan, ["What is 2 + 3?"], model=fake_backend)
    assert results[0].model == "fake-model" and results[0].model_warning is None
    other = FakeBackend()
    object.__setattr__(other, "info", type(other.info)(name="fake", model="other", model_sha256="1" * 64))
    with pytest.raises(ModelError, match="is not the model the plan was made for"):
        ip.run(fake_plan, ["What is 2 + 3?"], model=other)
    assert ip.run(fake_plan, ["What is 2 + 3?"], model=other, model_mismatch="ok")[0].model_warning

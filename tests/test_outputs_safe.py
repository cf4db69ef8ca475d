"""Outputs never overwrite what inferplan did not write, bad paths are one-line output errors (exit 7),
`run -` reads JSONL, and small calibration sets get honest intervals and warnings (issue 14, part)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from inferplan.errors import ExitCode, InputError
from inferplan.profiles.header import ConfigSpec
from inferplan.profiles.store import ProfileWriter
from inferplan.runner.queries import queries_from_stdin_lines


@pytest.fixture
def small_profile(tmp_path: Path) -> Path:
    """12 problems × 8 samples, answers mostly wrong and split: maj@k near 0, few successes."""
    rng = np.random.default_rng(1)
    out = tmp_path / "small.jsonl"
    pids = [f"p{i}" for i in range(12)]
    with ProfileWriter(out, {"configs": [ConfigSpec("t1", 1.0).to_json()], "problem_ids": pids}) as w:
        for p in pids:
            right = p == "p0"
            w.write({"problem": p, "config": "t1", "index": i, "answer": str(rng.integers(0, 4)) if i or not right else "x",
                     "correct": right and i == 0, "completion_tokens": 10, "prompt_tokens": 5} for i in range(8))
    return out


def test_plan_and_fit_refuse_to_overwrite_foreign_files(cli, small_profile: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    r = cli("plan", small_profile, "--budget", "4", "--unit", "samples", "-o", notes)
    assert r.code == ExitCode.CONFLICT and "not an inferplan plan" in r.err and len(r.err.strip().splitlines()) == 1
    assert notes.read_text() == "my notes\n"
    foreign = tmp_path / "other.json"
    foreign.write_text('{"format": "somebody.else/1"}')
    r = cli("fit", small_profile, "-o", foreign)
    assert r.code == ExitCode.CONFLICT and foreign.read_text() == '{"format": "somebody.else/1"}'
    # Their own files are replaced; --force replaces anything.
    plan = tmp_path / "plan.json"
    for _ in range(2):
        assert cli("plan", small_profile, "--budget", "4", "--unit", "samples", "-o", plan).code == 0
    assert cli("plan", small_profile, "--budget", "4", "--unit", "samples", "-o", notes, "--force").code == 0
    assert json.loads(notes.read_text())["format"] == "inferplan.plan/1"


def test_plots_are_png_and_only_replace_our_own(cli, small_profile: Path, tmp_path: Path) -> None:
    r = cli("fit", small_profile, "--plot", tmp_path / "notes.txt")
    assert r.code == ExitCode.BAD_INPUT and ".png" in r.err and "internal error" not in r.err
    picture = tmp_path / "holiday.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n not ours")
    assert cli("fit", small_profile, "--plot", picture).code == ExitCode.CONFLICT
    assert picture.read_bytes().endswith(b"not ours")
    ours = tmp_path / "curves.png"
    assert cli("fit", small_profile, "--plot", ours).code == 0
    assert cli("fit", small_profile, "--plot", ours).code == 0  # ours: replaced without --force


def test_an_unwritable_output_path_is_one_output_error(cli, small_profile: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("")
    for args in (("plan", small_profile, "--budget", "4", "--unit", "samples", "-o", blocker / "plan.json"),
                 ("fit", small_profile, "-o", blocker / "fit.json")):
        r = cli(*args)
        assert r.code == ExitCode.CONFLICT, r.err  # issue 28: the documented output code, not 3
        assert str(blocker / "") in r.err and "internal error" not in r.err and len(r.err.strip().splitlines()) == 1


def test_intervals_stay_inside_0_1_and_few_successes_are_flagged(cli, small_profile: Path) -> None:
    r = cli("fit", small_profile, "--json", "--at", "32,300")
    assert r.code == 0, r.err
    doc = r.json()
    for cfg in doc["configs"]:
        for part in ("observed", "predicted"):
            for metric, by_k in cfg[part]["intervals"].items():
                for k, (low, high) in by_k.items():
                    assert 0.0 <= low <= high <= 1.0, (part, metric, k, low, high)
    assert any("rests on 1 correct sample" in n for n in doc["notes"])


def test_plan_warns_about_a_tiny_training_split(cli, small_profile: Path) -> None:
    r = cli("plan", small_profile, "--budget", "4", "--unit", "samples", "--json")
    assert r.code == 0, r.err
    assert any("only 6 training problems" in n for n in r.json()["plan"]["notes"])


def test_run_stdin_reads_jsonl_lines_as_queries() -> None:
    lines = io.StringIO('{"id": "q1", "prompt": "What is 2+2?"}\n\n{"id": "q2", "question": "And 3+5?"}\n')
    qs = queries_from_stdin_lines(lines)
    assert [(q.id, q.prompt) for q in qs] == [("q1", "What is 2+2?"), ("q2", "And 3+5?")]
    plain = queries_from_stdin_lines(io.StringIO("What is 2+2?\n{not json} is a prompt too\n"))
    assert [q.prompt for q in plain] == ["What is 2+2?", "{not json} is a prompt too"]
    with pytest.raises(InputError, match="stdin:2: a JSON object among plain-text prompts"):
        queries_from_stdin_lines(io.StringIO('What is 2+2?\n{"prompt": "3+5?"}\n'))


def test_run_stdin_names_the_malformed_json_line() -> None:
    """Issue 28: a broken JSON line among JSONL queries on stdin was reported as
    "stdin:1: a JSON object among plain-text prompts" — wrong line, wrong diagnosis."""
    good = '{"prompt": "What is 2+2?"}\n'
    with pytest.raises(InputError, match=r"^stdin:4: malformed JSON \(") as e:
        queries_from_stdin_lines(io.StringIO(good + good.replace("2+2", "3+3") + "\n" + '{"prompt": "oops"\n'))
    assert "plain-text" not in str(e.value)
    with pytest.raises(InputError, match=r"^stdin:1: malformed JSON"):  # the broken line first
        queries_from_stdin_lines(io.StringIO('{"prompt": oops}\n' + good))
    with pytest.raises(InputError, match=r"^stdin:3: a plain-text prompt among JSONL queries"):
        queries_from_stdin_lines(io.StringIO(good + "\n" + "What is 3+3?\n"))
    with pytest.raises(InputError, match=r"^stdin:3: duplicate id 1"):  # stdin lines, blank ones counted
        queries_from_stdin_lines(io.StringIO(good + "\n" + '{"id": 1, "prompt": "again"}\n'))


def test_a_second_writer_of_a_profile_is_refused_and_nothing_is_duplicated(tmp_path: Path) -> None:
    from inferplan.errors import ConflictError
    from inferplan.profiles.store import load_profile

    path = tmp_path / "p.jsonl"
    header = {"configs": [ConfigSpec("t1", 1.0).to_json()], "problem_ids": ["a"]}
    rec = {"problem": "a", "config": "t1", "index": 0, "answer": "1", "correct": True}
    with ProfileWriter(path, header) as first:
        with pytest.raises(ConflictError, match="being written by another inferplan"):
            ProfileWriter(path, header)
        first.write([rec])
    with ProfileWriter(path, header) as again:  # released: a rerun resumes
        again.write([rec, {**rec, "index": 1}])
    assert load_profile(path).n_samples == 2 and load_profile(path).duplicates == 0


def test_profile_show_warns_about_duplicate_records(cli, tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    header = {"format": "inferplan.profile/1", "configs": [{"name": "t1", "temperature": 1.0}], "problem_ids": ["a"]}
    rec = json.dumps({"problem": "a", "config": "t1", "index": 0, "answer": "1", "correct": True})
    path.write_text(json.dumps(header) + "\n" + rec + "\n" + rec + "\n")
    r = cli("profile", "show", path)
    assert r.code == 0 and "1 duplicate record" in r.err


def test_a_plan_missing_a_block_is_refused_not_defaulted(cli, small_profile: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    assert cli("plan", small_profile, "--budget", "4", "--unit", "samples", "-o", plan).code == 0
    doc = json.loads(plan.read_text())
    del doc["prompt"]  # the block that says how to ask: without it, run would pick another template
    plan.write_text(json.dumps(doc))
    r = cli("simulate", small_profile, "--plan", plan)
    assert r.code == ExitCode.BAD_INPUT and "no 'prompt' block" in r.err


def test_a_truncated_gguf_is_refused_by_models(cli, tmp_path: Path) -> None:
    from inferplan.backends.embedded import embedded_model_path

    head = tmp_path / "head.gguf"
    with open(embedded_model_path(), "rb") as f:
        head.write_bytes(f.read(20_000_000))  # the whole header, a fifth of the tensor data
    r = cli("models", "--model", head, "--no-hash")
    assert r.code == ExitCode.MODEL and "truncated" in r.err


def test_shell_completion_is_typers_own(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from inferplan.cli.main import main

    monkeypatch.setenv("_INFERPLAN_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "inferplan plan x --un")
    monkeypatch.setenv("COMP_CWORD", "3")
    with pytest.raises(SystemExit) as done:
        main(["plan", "x", "--un"])
    assert done.value.code == 0 and "--unit" in capsys.readouterr().out


def test_a_short_flag_means_one_thing_in_every_command() -> None:
    import click
    import typer.main

    from inferplan.cli.app import app

    meanings: dict[str, set[str]] = {}

    def walk(cmd: click.Command) -> None:
        for param in cmd.params:
            for opt in getattr(param, "opts", []) + getattr(param, "secondary_opts", []):
                if len(opt) == 2 and opt.startswith("-"):
                    long = sorted(o for o in param.opts if o.startswith("--")) or [param.name]
                    meanings.setdefault(opt, set()).add(long[0])
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    clashes = {flag: names for flag, names in meanings.items() if len(names) > 1}
    assert not clashes, clashes


@pytest.mark.parametrize("args", [
    ("run", "2+2?", "--temperatures", "abc"),
    ("profile", "-o", "{tmp}/p.jsonl", "--temperatures", "abc"),
])
def test_the_same_bad_value_is_the_same_exit_code_everywhere(cli, tmp_path: Path, args) -> None:
    r = cli(*(a.format(tmp=tmp_path) for a in args))
    assert r.code == ExitCode.BAD_INPUT and "--temperatures must be comma-separated numbers" in r.err


def test_profile_and_import_into_an_unwritable_path_are_output_errors(cli, shared_data: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("")
    r = cli("import", "esc", shared_data / "esc" / "last_letters_gpt35.jsonl", "-o", blocker / "esc.jsonl")
    assert r.code == ExitCode.CONFLICT and str(blocker) in r.err and "internal error" not in r.err


def test_profile_show_reports_samples_cut_off_at_the_cap(cli, tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    with ProfileWriter(path, {"configs": [ConfigSpec("t1", 1.0).to_json()], "problem_ids": ["a", "b"]}) as w:
        w.write({"problem": p, "config": "t1", "index": i, "answer": "7", "correct": False,
                 "finish": "length" if i < 3 else "stop", "completion_tokens": 200} for p in "ab" for i in range(4))
    r = cli("profile", "show", path)
    assert r.code == 0 and "cut off at the token cap" in r.err and "t1 75%" in r.err
    assert cli("profile", "show", path, "--json").json()["configs"][0]["truncated"] == 0.75


def test_outputs_get_the_umask_mode_and_replaced_ones_keep_theirs(cli, small_profile: Path, tmp_path: Path) -> None:
    """Issue 28: plan, fit and PNG files were made 0600 (mkstemp) while profiles were 0644."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        plan, report, plot = tmp_path / "plan.json", tmp_path / "fit.json", tmp_path / "curves.png"
        assert cli("plan", small_profile, "--budget", "4", "--unit", "samples", "-o", plan).code == 0
        assert cli("fit", small_profile, "-o", report, "--plot", plot).code == 0
        mode = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (plan, report, plot, small_profile)}
        assert mode == dict.fromkeys(mode, 0o644), {k: oct(v) for k, v in mode.items()}
        plan.chmod(0o640)
        assert cli("plan", small_profile, "--budget", "4", "--unit", "samples", "-o", plan).code == 0
        assert stat.S_IMODE(plan.stat().st_mode) == 0o640  # replaced: its mode kept
        os.umask(0o077)
        private = tmp_path / "private.json"
        assert cli("plan", small_profile, "--budget", "4", "--unit", "samples", "-o", private).code == 0
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_the_writer_lock_goes_when_the_run_ends_and_still_guards_while_it_runs(tmp_path: Path) -> None:
    """Issue 28: a .lock file stayed beside every profile. It is removed on release — only one
    inferplan made — and a second writer is still refused while the first holds it."""
    import os

    from inferplan._util.files import WriterLock
    from inferplan.errors import ConflictError

    out = tmp_path / "p.jsonl"
    header = {"configs": [ConfigSpec("t1", 1.0).to_json()], "problem_ids": ["a"]}
    with ProfileWriter(out, header):
        assert (tmp_path / "p.jsonl.lock").exists()
        with pytest.raises(ConflictError, match="being written by another inferplan"):
            ProfileWriter(out, header)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl"]
    with ProfileWriter(out, header):  # resumes, and cleans up after itself again
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl"]
    # A file of that name inferplan did not make is used as the lock but left where it was.
    theirs = tmp_path / "q.jsonl.lock"
    theirs.write_text("someone else's\n")
    WriterLock(tmp_path / "q.jsonl").release()
    assert theirs.read_text() == "someone else's\n"
    # A lock whose file its holder removed (between another's open and flock) is not taken as held.
    first = WriterLock(tmp_path / "r.jsonl")
    stale = os.open(first.lock, os.O_RDWR)
    first.release()
    assert not first.lock.exists()
    second = WriterLock(tmp_path / "r.jsonl")
    assert not second._names(stale) and second._names(second._fd)
    with pytest.raises(ConflictError):
        WriterLock(tmp_path / "r.jsonl")
    second.release()
    os.close(stale)
    assert not first.lock.exists()

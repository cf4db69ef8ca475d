"""Profiling is append-only and resumable: scheduling with a fake backend, and a REAL kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from fakes import FakeBackend
from inferplan.backends.base import BackendInfo
from inferplan.errors import ConflictError
from inferplan.profiles.store import iter_records, load_profile
from inferplan.profiling.live_sampler import sample_seed
from inferplan.profiling.profiler import ProfileOptions, run_profile
from kill9 import kill_once_written, lines_in


def _keys(path: Path) -> Counter:
    return Counter((r["problem"], r["config"], r["index"]) for r in iter_records(path))


def _tasks(tmp_path: Path, n: int = 5) -> Path:
    p = tmp_path / "t.jsonl"
    p.write_text("".join(json.dumps({"id": f"q{i}", "question": f"What is {i} + {i + 3}?", "answer": 2 * i + 3}) + "\n"
                         for i in range(n)))
    return p


def _opts(tmp_path: Path, **kw) -> ProfileOptions:
    base = dict(out=tmp_path / "p.jsonl", tasks=str(_tasks(tmp_path)), temperatures=(0.2, 1.0), samples=6,
                max_tokens=8, template="chat")
    return ProfileOptions(**{**base, **kw})


def test_one_request_per_task_with_all_its_samples(tmp_path):
    fake = FakeBackend()
    res = run_profile(_opts(tmp_path), backend=fake)
    assert res.written == 5 * 2 * 6 and res.already == 0
    assert len(fake.requests) == 5 and all(r.n == 12 for r in fake.requests)
    assert sorted(set(fake.requests[0].temperatures)) == [0.2, 1.0]
    assert set(_keys(res.path).values()) == {1} and len(_keys(res.path)) == 60
    tab = load_profile(res.path)
    # T=0.2 answers right ~90% of the time, T=1.0 ~50%: the grades follow the texts.
    assert tab.correct[tab.config == 0].mean() > tab.correct[tab.config == 1].mean()


def test_interrupted_run_resumes_without_duplicates_and_with_the_same_seeds(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run_profile(_opts(tmp_path), backend=FakeBackend(fail_after=23))
    partial = _keys(tmp_path / "p.jsonl")
    assert len(partial) == 23  # every graded sample was written before the interrupt
    fake = FakeBackend()
    res = run_profile(_opts(tmp_path), backend=fake)
    assert res.already == 23 and res.written == 60 - 23
    assert sum(r.n for r in fake.requests) == 37
    keys = _keys(res.path)
    assert len(keys) == 60 and set(keys.values()) == {1}
    for rec in iter_records(res.path):
        assert rec["seed"] == sample_seed(0, rec["problem"], rec["config"], rec["index"])
    again = run_profile(_opts(tmp_path), backend=FakeBackend())
    assert again.written == 0 and again.already == 60


def test_other_settings_are_refused_unless_forced(tmp_path):
    run_profile(_opts(tmp_path), backend=FakeBackend())
    for change in ({"max_tokens": 9}, {"temperatures": (0.5,)}, {"seed": 1}, {"limit": 3}, {"grader": "exact"}):
        with pytest.raises(ConflictError):
            run_profile(_opts(tmp_path, **change), backend=FakeBackend())
    res = run_profile(_opts(tmp_path, seed=1, force=True), backend=FakeBackend())
    assert res.already == 0 and len(_keys(res.path)) == 60
    # More samples of the same configuration extend the profile instead of conflicting.
    more = run_profile(_opts(tmp_path, seed=1, samples=8), backend=FakeBackend())
    assert more.already == 60 and more.written == 20


@pytest.mark.slow
def test_kill_9_then_rerun_gives_exactly_one_record_per_key(tmp_path):
    """Really SIGKILL a `python -m inferplan profile` subprocess mid-run, then rerun it."""
    out = tmp_path / "k.jsonl"
    cmd = [sys.executable, "-m", "inferplan", "profile", "--tasks", "builtin:arith:8", "--temperatures", "0.5,1.0",
           "--samples", "6", "--max-tokens", "12", "--threads", "1", "--parallel", "8", "-o", str(out)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    kill_once_written(cmd, out, 1 + 20, env, poll=0.05)
    killed_at = len(list(iter_records(out)))
    assert 20 <= killed_at < 8 * 2 * 6
    done = subprocess.run(cmd + ["--json"], capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["already"] == killed_at and result["already"] + result["written"] == 8 * 2 * 6
    raw = out.read_bytes()
    assert raw.endswith(b"\n")
    for line in raw.splitlines():
        json.loads(line)  # no broken line anywhere
    keys = _keys(out)
    assert len(keys) == 8 * 2 * 6 and set(keys.values()) == {1}


def test_speed_settings_do_not_block_a_resume(tmp_path):
    class Wider(FakeBackend):
        def __init__(self) -> None:
            super().__init__()
            self.info = BackendInfo(name="fake", model="fake-model", model_sha256="0" * 64, parallel_slots=8,
                                    settings={"threads": 7, "parallel": 8})

    with pytest.raises(KeyboardInterrupt):
        run_profile(_opts(tmp_path), backend=FakeBackend(fail_after=10))
    assert run_profile(_opts(tmp_path), backend=Wider()).already == 10
    other = FakeBackend()
    other.info = BackendInfo(name="fake", model="fake-model", model_sha256="1" * 64)
    with pytest.raises(ConflictError, match="model"):
        run_profile(_opts(tmp_path), backend=other)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_keeps_every_graded_sample(tmp_path):
    out = tmp_path / "c.jsonl"
    cmd = [sys.executable, "-m", "inferplan", "profile", "--tasks", "builtin:arith:6", "--samples", "30",
           "--threads", "1", "-o", str(out)]
    # A background child would inherit an ignored SIGINT; restore the default so Ctrl-C is real.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 600
    while lines_in(out) < 1 + 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    recs = list(iter_records(out))
    assert 20 <= len(recs) < 6 * 3 * 30 and out.read_bytes().endswith(b"\n")
    assert len({(r["problem"], r["config"], r["index"]) for r in recs}) == len(recs)


def test_progress_counts_to_the_planned_total_and_uniform_speaks_of_no_rounds(tmp_path, capsys):
    """Issue 28: a uniform --budget run showed 151/180 (the levels scheduled so far) when 240 samples
    were planned, and ended with "0 adaptive round(s)"."""
    from inferplan.cli.render.profile import render_profile_result

    totals = []
    res = run_profile(_opts(tmp_path, budget="1M"), backend=FakeBackend(), on_progress=lambda p: totals.append(p.total))
    assert res.written == 5 * 2 * 6 and set(totals) == {60}, sorted(set(totals))
    capsys.readouterr()
    render_profile_result(res, as_json=False)
    said = capsys.readouterr().out
    assert "stopped because every problem has --samples samples" in said and "round" not in said, said
    totals.clear()  # a continuation plans only what is not on disk
    more = run_profile(_opts(tmp_path, budget="1M", samples=8), backend=FakeBackend(),
                       on_progress=lambda p: totals.append(p.total))
    assert more.written == 20 and set(totals) == {20}
    totals.clear()
    adaptive = run_profile(_opts(tmp_path, out=tmp_path / "a.jsonl", budget="1M", strategy="adaptive"),
                           backend=FakeBackend(), on_progress=lambda p: totals.append(p.total))
    assert set(totals) == {60} and adaptive.budgeted.strategy == "adaptive"
    render_profile_result(adaptive, as_json=False)
    assert "adaptive round(s)" in capsys.readouterr().out

"""`inferplan profile` and `profile show` through the real CLI on the real embedded model."""

from __future__ import annotations

import json

import pytest

from inferplan.profiles.store import iter_records, read_header

SMALL = ("--tasks", "builtin:arith:4", "--temperatures", "0.3,1.0", "--samples", "3", "--max-tokens", "10",
         "--threads", "1", "--parallel", "8")


@pytest.mark.slow
def test_profile_writes_header_and_records_then_show_and_resume(cli, tmp_path):
    out = tmp_path / "p.jsonl"
    r = cli("profile", *SMALL, "-o", out, "--json")
    assert r.code == 0, r.err
    res = r.json()
    assert res["written"] == 4 * 2 * 3 and res["already"] == 0 and res["completion_tokens"] > 0
    h = read_header(out)
    assert h["format"] == "inferplan.profile/1"
    assert h["model"]["spec"] == "smollm2" and len(h["model"]["sha256"]) == 64
    assert h["backend"]["name"] == "llamacpp" and h["engine"]["threads"] == 1
    assert h["tasks"]["source"] == "builtin:arith:4" and len(h["tasks"]["sha256"]) == 64
    assert h["grader"]["name"] == "numeric" and h["prompt_template"]["name"] == "base"
    assert h["max_tokens"] == 10 and [c["name"] for c in h["configs"]] == ["t0.3", "t1"]
    assert h["machine"]["cores"] >= 1 and h["seed"] == 0
    recs = list(iter_records(out))
    assert len(recs) == 24
    for rec in recs:
        assert 1 <= rec["completion_tokens"] <= 10 and rec["finish"] in ("stop", "length")
        assert isinstance(rec["correct"], bool) and isinstance(rec["text"], str)
        # The grade is the numeric grader's verdict on the recorded text.
        from inferplan.grading.graders import grade_numeric

        g = grade_numeric(rec["text"], _gold(rec["problem"]))
        assert (g.answer, g.correct) == (rec["answer"], rec["correct"])

    show = cli("profile", "show", out, "--json")
    assert show.code == 0, show.err
    s = show.json()
    assert s["problems"] == 4 and s["samples"] == 24 and s["tokens_per_second"] > 0
    for c in s["configs"]:
        assert c["samples"] == 12 and c["min_per_problem"] == 3 and c["k"] == 3
        assert 0 <= c["pass1_low"] <= c["pass1"] <= c["pass1_high"] <= 1
        assert c["pass_k"] >= c["pass1"]
    table = cli("profile", "show", out)
    assert table.code == 0 and "pass@1" in table.out and "t0.3" in table.out

    again = cli("profile", *SMALL, "-o", out, "--json")
    assert again.code == 0 and again.json()["written"] == 0 and again.json()["already"] == 24
    conflict = cli("profile", *SMALL[:-4], "--max-tokens", "12", "--threads", "1", "--parallel", "8", "-o", out)
    assert conflict.code == 7 and "max_tokens" in conflict.err and "--force" in conflict.err


def _gold(pid: str) -> str:
    from inferplan.tasks.builtin import builtin_set

    return {t.id: t.answer for t in builtin_set("arith:4").tasks}[pid]


def test_usage_and_input_errors(cli, tmp_path):
    r = cli("profile", "--tasks", "builtin:arith:2")
    assert r.code == 2 and "--out" in r.err
    r = cli("profile", "--tasks", "builtin:nope", "-o", tmp_path / "x.jsonl")
    assert r.code == 3 and "unknown built-in" in r.err and "Traceback" not in r.err
    r = cli("profile", "--temperatures", "a,b", "-o", tmp_path / "x.jsonl")
    assert r.code == 3  # a bad value, as in `run` (it was a usage error here, 2, and an input error there)
    tasks = tmp_path / "code.jsonl"
    tasks.write_text(json.dumps({"id": "c", "prompt": "def f():\n", "test": "def check(c): pass", "entry_point": "f"}) + "\n")
    r = cli("profile", "--tasks", tasks, "-o", tmp_path / "x.jsonl")
    assert r.code == 3 and "--allow-code-execution" in r.err
    assert not (tmp_path / "x.jsonl").exists()
    r = cli("profile", "show", tmp_path / "missing.jsonl")
    assert r.code == 3 and "no such profile" in r.err

"""One exit code per kind of mistake, across commands (issue 14, point 4): a table of
commands × bad inputs, each ending in one line on stderr and its documented code."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferplan.errors import ExitCode
from inferplan.profiles.header import ConfigSpec
from inferplan.profiles.store import ProfileWriter

USAGE, BAD, MODEL, INFEASIBLE, CONFLICT = (ExitCode.USAGE, ExitCode.BAD_INPUT, ExitCode.MODEL,
                                            ExitCode.INFEASIBLE, ExitCode.CONFLICT)

CASES = [
    # (what, command line, expected exit code)
    ("fit: no such profile", ["fit", "missing.jsonl"], BAD),
    ("fit: a text file", ["fit", "notes.txt"], BAD),
    ("fit: --at 0", ["fit", "p.jsonl", "--at", "0"], BAD),
    ("fit: --plot to a .txt", ["fit", "p.jsonl", "--plot", "curves.txt"], BAD),
    ("fit: -o over a foreign file", ["fit", "p.jsonl", "-o", "foreign.json"], CONFLICT),
    ("plan: no such profile", ["plan", "missing.jsonl", "--budget", "4"], BAD),
    ("plan: negative budget", ["plan", "p.jsonl", "--budget", "-1"], BAD),
    ("plan: unknown unit (a parser choice)", ["plan", "p.jsonl", "--budget", "4", "--unit", "parsecs"], USAGE),
    ("plan: budget below one sample", ["plan", "p.jsonl", "--budget", "0.5", "--unit", "samples"], INFEASIBLE),
    ("plan: -o over a foreign file", ["plan", "p.jsonl", "--budget", "4", "--unit", "samples", "-o", "foreign.json"],
     CONFLICT),
    ("plan: -o is a directory", ["plan", "p.jsonl", "--budget", "4", "--unit", "samples", "-o", "."], CONFLICT),
    ("plan: -o under a file", ["plan", "p.jsonl", "--budget", "4", "--unit", "samples", "-o", "notes.txt/plan.json"],
     CONFLICT),
    # Issue 28: an output that cannot be written is an output error (7), found before any work.
    ("plan: -o in an unwritable folder", ["plan", "p.jsonl", "--budget", "4", "--unit", "samples", "-o",
                                          "/proc/plan.json"], CONFLICT),
    ("fit: -o in an unwritable folder", ["fit", "p.jsonl", "-o", "/proc/fit.json"], CONFLICT),
    ("fit: --plot in an unwritable folder", ["fit", "p.jsonl", "--plot", "/proc/curves.png"], CONFLICT),
    ("profile: -o in an unwritable folder", ["profile", "--tasks", "builtin:arith", "-o", "/proc/x.jsonl"], CONFLICT),
    ("profile: -o under a file", ["profile", "--tasks", "builtin:arith", "-o", "notes.txt/x.jsonl"], CONFLICT),
    ("profile: -o over a foreign file", ["profile", "--tasks", "builtin:arith", "-o", "notes.txt"], CONFLICT),
    ("simulate: unknown rule", ["simulate", "p.jsonl", "--rule", "nonsense:1"], BAD),
    ("simulate: threshold out of range", ["simulate", "p.jsonl", "--rule", "beta:2"], BAD),
    ("run: no such plan", ["run", "2+2?", "--plan", "missing.json"], BAD),
    ("run: a broken plan", ["run", "2+2?", "--plan", "broken.json"], BAD),
    ("run: -n 0", ["run", "2+2?", "-n", "0"], BAD),
    ("run: bad temperatures", ["run", "2+2?", "--temperatures", "abc"], BAD),
    ("evaluate: no such plan", ["evaluate", "--plan", "missing.json"], BAD),
    ("evaluate: a foreign JSON as plan", ["evaluate", "--plan", "foreign.json"], BAD),
    ("import: no such file", ["import", "esc", "missing.jsonl", "-o", "x.jsonl"], BAD),
    ("import: not a Best-of-∞ file", ["import", "boinf", "notes.txt", "-o", "y.jsonl"], BAD),
    ("profile show: no such profile", ["profile", "show", "missing.jsonl"], BAD),
    ("profile: no such task file", ["profile", "--tasks", "missing.jsonl", "-o", "new.jsonl"], BAD),
    ("profile: bad temperatures", ["profile", "--tasks", "builtin:arith", "-t", "abc", "-o", "new.jsonl"], BAD),
    ("models: not a GGUF", ["models", "--model", "notes.txt"], MODEL),
    ("models: no such file", ["models", "--model", "missing.gguf"], MODEL),
    ("run: not a GGUF", ["run", "2+2?", "--model", "notes.txt"], MODEL),
    ("unknown option", ["fit", "p.jsonl", "--no-such-flag"], USAGE),
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    with ProfileWriter(tmp_path / "p.jsonl", {"configs": [ConfigSpec("t0.7", 0.7).to_json()],
                                               "problem_ids": [f"q{i}" for i in range(12)]}) as w:
        for i in range(12):
            w.write([{"problem": f"q{i}", "config": "t0.7", "index": j, "answer": str((i + j) % 3),
                      "correct": (i + j) % 3 == 0, "completion_tokens": 20, "prompt_tokens": 5} for j in range(6)])
    (tmp_path / "notes.txt").write_text("my notes, not inferplan's\n")
    (tmp_path / "foreign.json").write_text('{"format": "somebody.else/1"}')
    (tmp_path / "broken.json").write_text('{"format": "inferplan.plan/1", "mix": ')
    return tmp_path


@pytest.mark.parametrize("what,args,code", CASES, ids=[c[0] for c in CASES])
def test_exit_code_table(cli, workdir: Path, what: str, args: list[str], code: ExitCode) -> None:
    before = {p.name: p.read_bytes() for p in workdir.iterdir() if p.is_file()}
    r = cli(*args)
    assert r.code == code, f"{what}: exit {r.code}, stderr {r.err!r}"
    lines = [line for line in r.err.strip().splitlines() if line.strip()]
    assert code == USAGE or len(lines) == 1, f"{what}: not one line: {r.err!r}"
    assert "internal error" not in r.err and "Traceback" not in r.err
    named = [a for a in args if a.startswith(("missing", "broken", "notes", "foreign"))]
    if code in (BAD, MODEL) and named:
        assert any(n.split("/")[0] in r.err for n in named), f"{what}: the path is not named: {r.err!r}"
    after = {p.name: p.read_bytes() for p in workdir.iterdir() if p.is_file() and p.name in before}
    assert after == before  # a refused command changes nothing that was there
    left = sorted(p.name for p in workdir.iterdir() if p.name not in before)
    assert not left, f"{what}: left behind {left}"  # nor leaves anything (a .lock, a .tmp, a folder)

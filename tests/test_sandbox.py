"""Hostile code completions are contained, graded wrong, and the run goes on."""

from __future__ import annotations

import subprocess
import time

import pytest

from inferplan.errors import InputError
from inferplan.grading.sandbox import SandboxLimits, build_program, network_isolation, run_program
from inferplan.tasks.task_grader import TaskGrader
from inferplan.tasks.taskset import Task, TaskSet

PROMPT = 'def add(a, b):\n    """Return a + b."""\n'
TESTS = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"
LIMITS = SandboxLimits(timeout=4.0, memory_mb=512)


def _task_set(*tasks: Task) -> TaskSet:
    return TaskSet(source="test", tasks=tasks, sha256="x", default_grader="code", default_template="raw")


def _task(i: int = 0) -> Task:
    return Task(id=f"add{i}", text=PROMPT, answer=None, grader="code", tests=TESTS, entry_point="add")


def _sandbox_processes() -> int:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return sum("_sandbox_child.py" in line for line in out.splitlines())


HOSTILE = {
    "loops forever": "    while True:\n        pass\n",
    "forks": "    import os\n    while True:\n        os.fork()\n",
    "forks via libc": "    import ctypes\n    libc = ctypes.CDLL(None)\n    while True:\n        libc.fork()\n",
    "eats memory": "    hog = []\n    while True:\n        hog.append(bytearray(50_000_000))\n",
    "calls os.system": "    import os\n    os.system('touch {marker}')\n    return a + b\n",
    "opens a socket": "    import socket\n    socket.create_connection(('93.184.216.34', 80), timeout=2)\n    return a + b\n",
    "exits early": "    import sys\n    sys.exit(0)\n",
    "floods stdout": "    while True:\n        print('x' * 100000)\n",
}


def test_hostile_completions_are_contained_and_the_run_goes_on(tmp_path):
    marker = tmp_path / "pwned"
    grader = TaskGrader(_task_set(_task()), allow_code_execution=True, limits=LIMITS)
    before = _sandbox_processes()
    for name, body in HOSTILE.items():
        start = time.monotonic()
        grade = grader.grade(_task(), body.format(marker=marker))
        assert grade.correct is False, name
        assert time.monotonic() - start < LIMITS.timeout + 10, f"{name} was not stopped in time"
    assert not marker.exists(), "os.system ran a shell command"
    assert _sandbox_processes() == before, "a sandboxed process survived"
    # …and the run goes on: an honest completion still passes.
    assert grader.grade(_task(), "    return a + b\n").correct


def test_statuses(tmp_path):
    assert run_program("assert 1 + 1 == 2", LIMITS).passed
    failed = run_program("assert 1 + 1 == 3", LIMITS)
    assert failed.status == "failed" and "AssertionError" in failed.detail
    assert run_program("while True: pass", SandboxLimits(timeout=1.5)).status == "timeout"
    # Throwaway cwd, clean environment.
    probe = run_program(
        "import os, sys\nassert 'inferplan-sandbox-' in os.getcwd()\n"
        f"assert 'SECRET_TOKEN' not in os.environ\nassert os.getcwd() != {str(tmp_path)!r}\n", LIMITS)
    assert probe.passed, probe.detail


def test_network_is_unreachable():
    res = run_program(
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\nexcept OSError:\n    pass\n"
        "else:\n    raise SystemExit('connected')\n", LIMITS)
    assert res.passed, res.detail
    assert network_isolation() in ("unshare", "socket-stub")


def test_chat_style_fenced_answer_is_used():
    answer = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nHope it helps."
    assert run_program(build_program(answer, PROMPT, TESTS, "add"), LIMITS).passed


def test_code_execution_needs_permission():
    with pytest.raises(InputError, match="--allow-code-execution"):
        TaskGrader(_task_set(_task()))


def test_an_accepted_code_sample_with_no_vote_key_is_a_right_answer() -> None:
    """Under a verifier the answer is the sample the tests accepted. A HumanEval completion often
    holds no number to read as a vote key (its extracted answer is None): `evaluate` counted such
    an accepted, right sample as a wrong answer (HumanEval/22, filter_integers, found live)."""
    from inferplan.runner.evaluate import answered_right
    from inferplan.runner.results import QueryResult
    from inferplan.tasks.taskset import load_tasks

    task = next(t for t in load_tasks("humaneval").tasks if t.id == "HumanEval/22")
    grader = TaskGrader(_task_set(task), allow_code_execution=True, limits=LIMITS)
    right = "    return [value for value in values if isinstance(value, int)]\n\n"
    wrong = "    return [value for value in values if isinstance(value, str)]\n\n"
    for text, expected in ((right, True), (wrong, False)):
        r = QueryResult(id=task.id, answer=None, votes={}, samples=1, completion_tokens=17, prompt_tokens=90,
                        seconds=0.1, stop_reason="accepted" if expected else "max-samples", answers=(None,),
                        finishes=("stop",), logprobs=(None,), texts=(text,))
        assert answered_right(task, r, grader) is expected

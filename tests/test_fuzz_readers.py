"""Fuzzing the readers (issue 14, point 9): task files, profiles, plans and the OpenAI
response parsing. Every input ends in a result or one :class:`InferplanError` (a
one-line message and a documented exit code), never another exception, and the file
read is never changed.

Inputs are arbitrary bytes, arbitrary JSON lines, and mutations of a valid file
(truncated, a byte replaced, a line dropped or duplicated, a value swapped for
another JSON type). Bounded: EXAMPLES per reader and kind, derandomised so CI is
repeatable.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import inferplan as ip
from inferplan.backends.openai.http import choice_logprobs, choice_text, finish_reason
from inferplan.errors import InferplanError
from inferplan.planner.plan_file import load_plan
from inferplan.profiles.store import load_profile
from inferplan.tasks.taskset import read_task_file

EXAMPLES = 300
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _reads_cleanly(reader, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        reader(path)
    except InferplanError as e:
        assert str(e) and "\n" not in str(e).strip(), f"not one line: {e!r}"
        assert int(e.exit_code) > 1
    assert path.read_bytes() == data  # reading never changes the input


def _mutations(valid: bytes):
    lines = valid.splitlines(keepends=True)
    return st.one_of(
        st.integers(0, len(valid)).map(lambda i: valid[:i]),
        st.tuples(st.integers(0, max(len(valid) - 1, 0)), st.integers(0, 255)).map(
            lambda t: valid[:t[0]] + bytes([t[1]]) + valid[t[0] + 1:]),
        st.integers(0, max(len(lines) - 1, 0)).map(lambda i: b"".join(lines[:i] + lines[i + 1:])),
        st.integers(0, max(len(lines) - 1, 0)).map(lambda i: b"".join(lines[:i + 1] + lines[i:])),
        st.tuples(st.integers(0, max(len(lines) - 1, 0)), json_values).map(
            lambda t: b"".join(lines[:t[0]] + [_swap_a_value(lines[t[0]], t[1])] + lines[t[0] + 1:])),
    )


def _swap_a_value(line: bytes, value: object) -> bytes:
    """The line with its first field's value replaced by ``value`` (a type the reader does not expect)."""
    try:
        row = json.loads(line)
    except ValueError:
        return line
    if isinstance(row, dict) and row:
        row[next(iter(row))] = value
    return (json.dumps(row) + "\n").encode()


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    from inferplan.profiles.header import ConfigSpec
    from inferplan.profiles.store import ProfileWriter

    work = tmp_path_factory.mktemp("valid")
    tasks = b'{"id": "a", "input": "What is 2 + 3?", "target": "5"}\n{"id": "b", "input": "7 - 4?", "target": "3"}\n'
    prof = work / "p.jsonl"
    with ProfileWriter(prof, {"configs": [ConfigSpec("t0.7", 0.7).to_json()], "problem_ids": ["a", "b"]}) as w:
        for pid in ("a", "b"):
            w.write([{"problem": pid, "config": "t0.7", "index": i, "answer": str(i % 2), "correct": i % 2 == 0,
                      "completion_tokens": 10 + i, "prompt_tokens": 5} for i in range(6)])
    plan = ip.fixed_plan(4)
    from inferplan.planner.plan_file import save_plan

    save_plan(plan, work / "plan.json")
    return {"tasks": tasks, "profile": prof.read_bytes(), "plan": (work / "plan.json").read_bytes()}


READERS = {"tasks": read_task_file, "profile": load_profile, "plan": load_plan}


@pytest.mark.parametrize("kind", sorted(READERS))
@FUZZ
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes(kind: str, data: bytes, tmp_path: Path) -> None:
    _reads_cleanly(READERS[kind], tmp_path / f"x.{kind}", data)


@pytest.mark.parametrize("kind", sorted(READERS))
@FUZZ
@given(rows=st.lists(json_values, max_size=5))
def test_arbitrary_json_lines(kind: str, rows: list, tmp_path: Path) -> None:
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    _reads_cleanly(READERS[kind], tmp_path / f"x.{kind}", data)


@pytest.mark.parametrize("kind", sorted(READERS))
@FUZZ
@given(data=st.data())
def test_mutated_valid_files(kind: str, data, valid_files: dict[str, bytes], tmp_path: Path) -> None:
    _reads_cleanly(READERS[kind], tmp_path / f"x.{kind}", data.draw(_mutations(valid_files[kind])))


@FUZZ
@given(choice=json_values)
def test_openai_choice_parsing(choice: object) -> None:
    """Whatever a server puts in a choice, parsing gives text, logprobs and a finish
    reason of the right types, or a BackendError."""
    try:
        text = choice_text(choice)
        lp, n, _ = choice_logprobs(choice)
        reason = finish_reason(choice)
    except InferplanError:
        return
    assert isinstance(text, str) and reason in ("stop", "length")
    assert lp is None or isinstance(lp, float)
    assert n is None or isinstance(n, int)

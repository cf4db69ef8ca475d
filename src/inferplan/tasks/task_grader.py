"""Grading a task set: which grader each task gets, and the permission code execution needs."""

from __future__ import annotations

from inferplan.errors import InputError, InvalidValue
from inferplan.grading.graders import Grade, auto_grader_name, check_grader_name, get_grader
from inferplan.grading.sandbox import SandboxLimits, build_program, network_isolation, run_program
from inferplan.tasks.taskset import Task, TaskSet

TRUNCATED = ("abstain", "grade")  # what a sample cut off at the token cap answers


def truncated_default(template: str) -> str:
    """``abstain`` for the free-form ``chat`` template, where a cut-off text ends mid-reasoning
    and its last number is a step, not the answer; ``grade`` for the short-answer templates."""
    return "abstain" if template == "chat" else "grade"


def abstains(finish: str | None, truncated: str) -> bool:
    """Whether a completion counts as an abstention (no vote, not correct) under the
    ``truncated`` policy: profiling, replay and ``run --plan`` all ask this one question."""
    return finish == "length" and truncated == "abstain"


class TaskGrader:
    """Grades completions of a task set.

    The grader of a task is ``override`` (``--grader``) if given, else the task's own
    ``grader`` field, else the set's default. Code graders run model output, so they
    are refused unless ``allow_code_execution`` — checked up front, before any
    sampling, so nobody learns it after an hour of profiling.
    """

    def __init__(self, tasks: TaskSet, override: str | None = None, *, allow_code_execution: bool = False,
                 limits: SandboxLimits = SandboxLimits(), truncated: str = "grade") -> None:
        if truncated not in TRUNCATED:
            raise InvalidValue("truncated", f"{{name}} must be one of {', '.join(TRUNCATED)}, not {truncated!r}")
        self.truncated = truncated
        self.override = None if override is None else check_grader_name(override)
        self.default = check_grader_name(tasks.default_grader)
        self.limits = limits
        self.names = {t.id: self.name_for(t) for t in tasks.tasks}
        code = [tid for tid, name in self.names.items() if name == "code"]
        if code and not allow_code_execution:
            raise InputError(f"{len(code)} task(s) are graded by running model-written code; "
                             "pass --allow-code-execution to allow it (sandboxed, see docs)")
        for t in tasks.tasks:
            name = self.names[t.id]
            if name == "code" and t.tests is None:
                raise InputError(f"task {t.id}: the code grader needs the task's tests (test field)")
            if name != "code" and t.answer is None:
                raise InputError(f"task {t.id}: grader {name} needs an answer")
        self._fns = {}

    def name_for(self, task: Task) -> str:
        name = self.override or task.grader or self.default
        if name == "auto":  # tests and no answer → code; else by the answer's shape
            return "code" if task.answer is None and task.tests is not None else auto_grader_name(task.answer)
        return name

    def describe(self) -> dict:
        """The ``grader`` entry of a profile header."""
        names = sorted(set(self.names.values()))
        out: dict = {"name": names[0] if len(names) == 1 else "mixed", "per_task": len(names) > 1,
                     "truncated": self.truncated}
        if "code" in names:
            out["sandbox"] = {"network": network_isolation(), "timeout": self.limits.timeout,
                              "memory_mb": self.limits.memory_mb}
        if len(names) > 1:
            out["names"] = names
        return out

    def grade(self, task: Task, text: str, finish: str | None = None) -> Grade:
        """Grade one completion of ``task``; ``finish`` is "length" when the token cap cut it."""
        if abstains(finish, self.truncated):
            return Grade(None, False)  # counted as an abstention: no vote, not correct
        name = self.names[task.id]
        if name == "code":
            program = build_program(text, task.text or "", task.tests or "", task.entry_point)
            return Grade(None, run_program(program, self.limits).passed)
        fn = self._fns.get(name)
        if fn is None:
            fn = self._fns[name] = get_grader(name)
        return fn(text, task.answer)

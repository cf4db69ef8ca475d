"""How a profile asked its questions, carried into a plan so ``run`` asks the same way.

A plan's predictions hold only for prompts rendered exactly as they were
profiled (template, few-shot examples, stop strings) and answers read by the same
grader. The profile header names the template and the task source; the shots
live in the task set, so they are resolved here once, at plan time, and stored in
the plan — ``run --plan`` then needs nothing but the plan file.
"""

from __future__ import annotations

from inferplan.errors import InferplanError
from inferplan.tasks import templates as prompts
from inferplan.grading.graders import get_grader
from inferplan.tasks.taskset import Task, TaskSet, load_tasks


def prompt_spec(header: dict) -> dict:
    """The ``prompt`` block of a plan, from a profile header (empty for imported profiles)."""
    template = (header.get("prompt_template") or {}).get("name")
    if template is None:  # imported sample sets: nobody can re-ask those questions here
        return {}
    tasks = header.get("tasks") or {}
    shots: list[list[str]] = []
    source = tasks.get("source")
    if source and (header.get("prompt_template") or {}).get("shots"):
        try:
            taskset = load_tasks(source, limit=tasks.get("limit"), shuffle=bool(tasks.get("shuffle")),
                                 seed=int(header.get("seed") or 0))
            shots = [[q, a] for q, a in taskset.shots]
        except InferplanError:
            shots = []  # the task file moved: render without examples (noted in the plan)
    grader = (header.get("grader") or {}).get("name", "auto")
    return {
        "template": template, "shots": shots, "grader": grader,
        "max_tokens": header.get("max_tokens"), "tasks": source,
    }


def render_text(text: str, spec: dict) -> prompts.RenderedPrompt:
    """Render one question the way the plan's profile did."""
    template = spec.get("template") or "chat"
    shots = tuple((str(q), str(a)) for q, a in spec.get("shots") or ())
    taskset = TaskSet(source="plan", tasks=(), sha256="", shots=shots)
    return prompts.render(Task(id="query", text=text, answer=None), template, taskset)


def answer_reader(spec: dict):
    """text → vote key, read the way the profile's grader read answers.

    A grader's answer key never depends on the gold answer (only its verdict
    does), so a placeholder gold gives the same key as grading did.
    """
    name = spec.get("grader") or "auto"
    if name in ("mixed", "code"):  # no single answer format: read answers generically
        from inferplan.grading.extract import extract_auto

        return extract_auto
    grade = get_grader(name, "0")
    return lambda text: grade(text, "0").answer

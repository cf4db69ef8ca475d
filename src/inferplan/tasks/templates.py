"""Prompt templates: a task → what the backend is asked (prompt or chat messages, stops).

- ``chat`` — the question as the user's message (rendered with the model's chat
  template by the backend); for instruct models.
- ``chat-short`` — like ``chat`` plus an instruction to answer with the final answer
  only, the set's few-shot examples as earlier turns, and generation stopped at the
  first line break; short completions make profiling cheap.
- ``base`` — a plain "Question: … / Answer:" completion prompt, preceded by the set's
  few-shot examples when it has any; for base (non-instruct) models.
- ``raw`` — the task text verbatim (code completion, hand-written prompts).

Tasks that carry ``messages`` are always sent as chat messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from inferplan.errors import InputError
from inferplan.tasks.taskset import Task, TaskSet

TEMPLATES = ("chat", "chat-short", "base", "raw")
SHORT_INSTRUCTION = "Answer with only the final answer."
_CODE_STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\nassert ")


@dataclass(frozen=True)
class RenderedPrompt:
    """What one task sends to the backend."""

    prompt: str | None
    messages: tuple[dict, ...] | None
    stop: tuple[str, ...]


def check_template(name: str) -> str:
    if name not in TEMPLATES:
        raise InputError(f"unknown prompt template {name!r}; choose one of {', '.join(TEMPLATES)}")
    return name


def describe(name: str, tasks: TaskSet) -> dict:
    """The template as recorded in a profile header (name + its literal text)."""
    text = {
        "chat": "user: {question}",
        "chat-short": "[shots as user/assistant turns] user: {question} " + SHORT_INSTRUCTION + "  [stop at newline]",
        "base": "Question: {question}\\nAnswer:  [stop at blank line / next question]",
        "raw": "{prompt}",
    }[check_template(name)]
    return {"name": name, "text": text, "shots": len(tasks.shots) if name in ("base", "chat-short") else 0}


def render(task: Task, name: str, shots: tuple[tuple[str, str], ...] = ()) -> RenderedPrompt:
    """The prompt or messages for ``task`` under template ``name``, after the few-shot ``shots``."""
    if task.messages is not None:
        return RenderedPrompt(None, task.messages, ())
    text = task.text or ""
    if name == "chat":
        return RenderedPrompt(None, ({"role": "user", "content": text},), ())
    if name == "chat-short":
        # The set's examples as earlier turns show the model the expected one-line answer.
        turns: list[dict] = []
        for q, a in shots:
            turns += [{"role": "user", "content": f"{q} {SHORT_INSTRUCTION}"}, {"role": "assistant", "content": a}]
        turns.append({"role": "user", "content": f"{text} {SHORT_INSTRUCTION}"})
        return RenderedPrompt(None, tuple(turns), ("\n",))
    if name == "base":
        examples = "".join(f"Question: {q}\nAnswer: {a}\n\n" for q, a in shots)
        return RenderedPrompt(f"{examples}Question: {text}\nAnswer:", None, ("\n\n", "\nQuestion:"))
    if name == "raw":
        return RenderedPrompt(text, None, _CODE_STOPS if task.tests is not None else ())
    raise InputError(f"unknown prompt template {name!r}; choose one of {', '.join(TEMPLATES)}")

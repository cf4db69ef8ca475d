"""How questions are asked and answers read: one :class:`PromptSpec` for every run.

A plan's predictions hold only for prompts rendered exactly as they were
profiled (template, few-shot examples, stop strings) and answers read the way the
profile's grader read them. ``from_header`` resolves the shots from the task set
once, at plan time, and the plan stores the spec — ``run --plan`` then needs
nothing but the plan file. A fixed-N ``run`` uses the same spec with its own
template (chat or raw), stop strings and extractor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

from inferplan.errors import InferplanError, InputError
from inferplan.grading.graders import answer_reader
from inferplan.tasks import templates
from inferplan.tasks.task_grader import TRUNCATED, abstains
from inferplan.tasks.taskset import Task, load_tasks


@dataclass(frozen=True)
class PromptSpec:
    """Template, few-shot examples and answer reader of one kind of question."""

    template: str = "chat"
    shots: tuple[tuple[str, str], ...] = ()
    grader: str = "auto"  # a grader name, or "extract:NAME" for a plain extractor
    max_tokens: int | None = None  # the profile's token cap
    tasks: str | None = None  # the task source the shots came from
    stop: tuple[str, ...] = ()  # extra stop strings, after the template's own
    system: str | None = None  # system message for chat prompts
    truncated: str = "grade"  # a completion cut at the token cap: "abstain" (no vote) or "grade" as any other

    def __post_init__(self) -> None:
        templates.check_template(self.template)
        if self.truncated not in TRUNCATED:
            raise InputError(f"prompt: truncated must be one of {', '.join(TRUNCATED)}, not {self.truncated!r}")
        _ = self.reader  # an unknown grader or extractor fails here, not at the first answer

    @cached_property
    def reader(self) -> Callable[[str], str | None]:
        return answer_reader(self.grader)

    def render(self, question: str) -> templates.RenderedPrompt:
        """What the backend is asked for ``question``."""
        # A code profile's tasks carried tests, and the raw template stops code tasks where a
        # function ends (``templates._CODE_STOPS``): ask a query the same way.
        tests = "" if self.grader == "code" else None
        rendered = templates.render(Task(id="query", text=question, answer=None, tests=tests), self.template,
                                    self.shots)
        return self.with_system(rendered.prompt, rendered.messages, rendered.stop)

    def render_messages(self, messages: tuple[dict, ...]) -> templates.RenderedPrompt:
        """Chat turns given as they are (plus the system message)."""
        if not messages:
            raise InputError("empty messages")
        return self.with_system(None, tuple(messages), ())

    def with_system(self, prompt: str | None, messages: tuple[dict, ...] | None,
                    stop: tuple[str, ...]) -> templates.RenderedPrompt:
        if self.system and messages is not None and messages[0].get("role") != "system":
            messages = ({"role": "system", "content": self.system},) + tuple(messages)
        return templates.RenderedPrompt(prompt, messages, tuple(stop) + self.stop)

    def read_answer(self, text: str, finish: str | None = None) -> str | None:
        """The vote key of a completion (None = abstain), read as the profile's grader read it:
        a completion the token cap cut (``finish`` "length") abstains when the profile's did."""
        if abstains(finish, self.truncated):
            return None
        return self.reader(text)

    def to_json(self) -> dict:
        out = {"template": self.template, "shots": [list(s) for s in self.shots], "grader": self.grader,
               "max_tokens": self.max_tokens, "tasks": self.tasks}
        if self.stop:
            out["stop"] = list(self.stop)
        if self.system:
            out["system"] = self.system
        if self.truncated != "grade":
            out["truncated"] = self.truncated
        return out

    @classmethod
    def from_json(cls, d: dict) -> PromptSpec:
        return cls(template=str(d.get("template") or "chat"),
                   shots=tuple((str(q), str(a)) for q, a in d.get("shots") or ()),
                   grader=str(d.get("grader") or "auto"), max_tokens=d.get("max_tokens"), tasks=d.get("tasks"),
                   stop=tuple(str(s) for s in d.get("stop") or ()), system=d.get("system"),
                   truncated="abstain" if d.get("truncated") == "abstain" else "grade")


def from_header(header) -> PromptSpec | None:
    """The spec a profile asked its questions with (None for imported sample sets).

    ``header`` is a :class:`~inferplan.profiles.header.ProfileHeader`.
    """
    if header.template is None:  # imported sample sets: nobody can re-ask those questions here
        return None
    shots: tuple[tuple[str, str], ...] = ()
    source = header.tasks.get("source")
    if source and header.template_shots:
        try:
            taskset = load_tasks(source, limit=header.tasks.get("limit"), shuffle=bool(header.tasks.get("shuffle")),
                                 seed=header.seed)
            shots = tuple((q, a) for q, a in taskset.shots)
        except InferplanError:
            shots = ()  # the task file moved: render without examples (noted in the plan)
    return PromptSpec(template=header.template, shots=shots, grader=header.grader_name,
                      max_tokens=header.max_tokens, tasks=source, truncated=header.truncated)

"""Forced answers: what closes a sample's thinking and asks for its answer (issue 30).

When a sample spends its thinking budget, or at an answer-now probe, the engine appends
the model's end-of-thinking marker — where its chat template has one (``</think>`` in
Qwen3- and DeepSeek-R1-style templates) — and then an answer prompt, and lets the model
answer greedily in a few tokens (s1's "budget forcing"; Fractured Sampling cuts a trace
the same way at several depths). The default answer prompt is the one measured in the
issue on the realistic model ("Therefore, the final answer is": at 256 of 320 tokens it
recovered the capped samples and beat the full traces at 0.92x their tokens).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from inferplan.errors import InputError, InvalidValue

ANSWER_PROMPT = "\n\nTherefore, the final answer is"
THINK_END = "</think>"
ANSWER_TOKENS = 32  # room for the answer itself; it ends at its first line break


def force_text(chat_template: str | None, answer_prompt: str | None = None) -> str:
    """The text a forced answer begins with: the end-of-thinking marker when the template
    opens a thinking block, then the answer prompt (``ANSWER_PROMPT`` unless given)."""
    prompt = ANSWER_PROMPT if answer_prompt is None else answer_prompt
    if chat_template and "<think>" in chat_template:
        return f"\n{THINK_END}\n\n{prompt.lstrip()}"
    return prompt


def probe_depths_for(max_tokens: int, count: int = 4) -> tuple[int, ...]:
    """``count`` answer-now probe depths spread over ``max_tokens`` (1/8, 1/4, 1/2, 3/4 for 4)."""
    shares = {1: (0.5,), 2: (0.25, 0.5), 3: (0.25, 0.5, 0.75), 4: (0.125, 0.25, 0.5, 0.75)}.get(count)
    if shares is None:
        shares = tuple((i + 1) / (count + 1) for i in range(count))
    return tuple(sorted({max(1, int(max_tokens * f)) for f in shares}))


def refuse_probes(request, backend: str) -> None:
    """One line for a backend that forces answers at the cap but cannot probe on the side."""
    if request.probe_depths:
        raise InputError(f"answer-now probes (probe_depths) are not available on the {backend} backend; "
                         "use the llama.cpp backend (a GGUF model), or force answers at max_tokens only")


# The first line break after some answer text: a letter, a digit or any non-ASCII character, so
# "is:\n\n18" reads on past the colon. Text for the servers' and transformers' continuations,
# UTF-8 bytes for the llama.cpp engine, which grows an answer a token's bytes at a time.
_END_TEXT = re.compile("[0-9A-Za-z\u0080-\U0010ffff][^\n]*\n")
_END_BYTES = re.compile(rb"[0-9A-Za-z\x80-\xff][^\n]*\n")


def answer_end(text: str | bytes) -> int | None:
    """Where a forced answer's text ends: the index of its first line break after some answer
    text (None: not yet). Every backend ends a forced answer by this one rule."""
    found = (_END_BYTES if isinstance(text, (bytes, bytearray)) else _END_TEXT).search(text)
    return found.end() - 1 if found else None


def finish_forced(completion, answer, seconds: float):
    """``completion`` (finished "length") finished instead by its forced ``answer`` (a
    ForcedAnswer), which took ``seconds`` more: its text and tokens follow the thinking."""
    return replace(completion, text=completion.text + answer.text, finish="forced", forced=answer,
                   completion_tokens=completion.completion_tokens + answer.tokens,
                   seconds=completion.seconds + seconds)


def check_forcing(request) -> None:
    """Refuse probe depths or answer budgets a request cannot use (one line, exit 2)."""
    if request.answer_tokens < 1:
        raise InvalidValue("answer_tokens", f"{{name}} must be at least 1, got {request.answer_tokens}")
    bad = [d for d in request.probe_depths if not 0 < d < request.max_tokens]
    if bad:
        raise InvalidValue("probe_depths", f"{{name}} must lie between 1 and max_tokens − 1 "
                           f"({request.max_tokens - 1}), got {', '.join(map(str, bad))}")
    if request.probe_depths and not request.forces:
        raise InvalidValue("probe_depths", "{name} need a forced answer prompt (force_answer)")


@dataclass(frozen=True)
class Forcing:
    """How samples are made to answer: the forced text, the answer's token budget, and the
    answer-now probe depths (a profile's; a plan's has none). Recorded in profile headers
    (``forcing``) and plan files (``thinking``)."""

    text: str
    answer_tokens: int = ANSWER_TOKENS
    probe_depths: tuple[int, ...] = ()

    def apply(self, request):
        """``request`` forcing its answer at its cap, and probing at ``probe_depths``."""
        return replace(request, force_answer=self.text, answer_tokens=self.answer_tokens,
                       probe_depths=self.probe_depths)

    def to_json(self) -> dict:
        out = {"text": self.text, "answer_tokens": self.answer_tokens}
        if self.probe_depths:
            out["probe_depths"] = list(self.probe_depths)
        return out

    @classmethod
    def from_json(cls, d: object, where: str = "forcing") -> Forcing | None:
        if d is None:
            return None
        try:
            return cls(str(d["text"]), int(d.get("answer_tokens", ANSWER_TOKENS)),
                       tuple(int(x) for x in d.get("probe_depths") or ()))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(f"{where}: needs text, answer_tokens and probe_depths (a list of token counts)") from None


def profile_forcing(header) -> Forcing | None:
    """How a profile forced its answers (its header's ``forcing``), without the probes: what a
    plan with a thinking budget asks of every sample."""
    forcing = Forcing.from_json(header.raw.get("forcing"), "profile header: forcing")
    return None if forcing is None else replace(forcing, probe_depths=())

"""The narrow Backend protocol every inference engine implements.

A backend turns :class:`SampleRequest` s into :class:`Completion` s and yields them
as they finish, so a caller can apply a stopping rule after each one and cancel
the rest. Capabilities are declared as data in :class:`BackendInfo`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol, Sequence, runtime_checkable

from inferplan.backends.confidence import Confidence


@dataclass(frozen=True)
class BackendInfo:
    """What a backend is and can do; recorded in profile headers."""

    name: str  # "llamacpp", "transformers", "openai"
    model: str  # model id or path as given
    model_sha256: str | None = None
    device: str = "cpu"
    supports_shared_prefix: bool = True  # prompt evaluated once for N samples
    parallel_slots: int = 1  # samples decoded concurrently
    parameters: int | None = None  # model parameter count, for FLOPs
    settings: dict = field(default_factory=dict)  # threads, ctx, … (JSON-able)


@dataclass(frozen=True)
class SampleRequest:
    """N samples of one prompt; per-sample temperatures and seeds.

    Exactly one of ``prompt`` (raw text, no template) or ``messages`` (chat
    messages, rendered with the model's chat template) is set.
    """

    prompt: str | None = None
    messages: tuple[dict, ...] | None = None
    n: int = 1
    temperatures: tuple[float, ...] = (0.7,)  # cycled over the n samples
    seeds: tuple[int, ...] = (0,)  # one per sample; cycled+offset if shorter
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    top_k: int = 0  # 0 = off
    top_p: float = 1.0
    min_p: float = 0.0
    first_index: int = 0  # index of the first sample (for resumed work)
    # Online low-confidence termination: a sample whose mean token logprob over the last
    # confidence.WINDOW tokens falls under this stops with finish "lowconf" (llama.cpp engine).
    conf_floor: float | None = None
    # Thinking budgets (issue 30). ``force_answer``: text appended when a sample spends
    # max_tokens without ending (its end-of-thinking marker and an answer prompt); the model
    # then answers greedily in at most ``answer_tokens`` tokens and the sample finishes
    # "forced" instead of "length". ``probe_depths``: token counts at which the same forced
    # answer is also asked on the side and the thinking goes on (answer-now probes).
    force_answer: str | None = None
    answer_tokens: int = 32
    probe_depths: tuple[int, ...] = ()

    @property
    def forces(self) -> bool:
        """Whether this request asks for forced answers (at its cap, or as probes)."""
        return bool(self.force_answer)

    def temperature(self, i: int) -> float:
        return self.temperatures[i % len(self.temperatures)]

    def seed(self, i: int) -> int:
        if i < len(self.seeds):
            return self.seeds[i]
        return self.seeds[i % len(self.seeds)] + 1_000_003 * (i // len(self.seeds))


@dataclass(frozen=True)
class ForcedAnswer:
    """The answer a sample gave when made to answer after ``depth`` thinking tokens."""

    depth: int  # thinking tokens before the answer prompt
    text: str  # the answer prompt and what the model wrote after it
    tokens: int  # tokens it took: the answer prompt's plus the answer's
    ended: bool  # the answer ended by itself (a line break or end of text), not at answer_tokens


@dataclass(frozen=True)
class Completion:
    """One finished sample."""

    request: int  # position of its request in submission order (stream-wide)
    index: int  # sample index within the request (first_index + i)
    text: str
    completion_tokens: int
    prompt_tokens: int
    logprob: float | None  # sum of token logprobs (None if unavailable)
    finish: str  # "stop" (EOS or stop string), "length", "forced", "lowconf" (under conf_floor), "cancelled"
    seconds: float  # wall time from the sample's start to its end
    temperature: float
    seed: int
    confidence: Confidence | None = None  # windowed token-logprob confidence, where logprobs are known
    # finish "forced": the answer forced at max_tokens (``text`` ends with its text; its tokens
    # are in completion_tokens). ``probes``: the answers forced on the side at probe depths.
    forced: ForcedAnswer | None = None
    probes: tuple[ForcedAnswer, ...] = ()

    @property
    def answer_text(self) -> str:
        """What the answer is read from: a forced answer's own text (the thinking before it was
        cut mid-way; its last number is a step, not the answer), else the whole text."""
        return self.forced.text if self.forced else self.text

    @property
    def thinking_tokens(self) -> int:
        """Tokens before any forced answer (all of them when none was forced)."""
        return self.completion_tokens - (self.forced.tokens if self.forced else 0)


@runtime_checkable
class SampleStream(Protocol):
    """Completions of submitted requests, in the order they finish.

    Iteration ends when nothing submitted is pending. ``submit`` may be called
    while iterating (adaptive rounds) and returns the new requests' numbers;
    ``cancel`` drops a request's pending and in-flight samples (and anything the
    backend cached only for it, such as its prompt's KV).

    ``tick``, when a caller sets it, is called from the iterating thread while no
    completion is ready — between decode steps, or while waiting on a server — so
    that work arriving from elsewhere (a server's new requests, a client who left)
    can be submitted or cancelled without waiting for the next completion.
    """

    tick: Callable[[], None] | None

    def __iter__(self) -> Iterator[Completion]: ...

    def submit(self, requests: Sequence[SampleRequest]) -> list[int]: ...

    def cancel(self, request: int) -> None: ...


@runtime_checkable
class Backend(Protocol):
    """An inference engine: llama.cpp, transformers or an OpenAI-compatible server."""

    info: BackendInfo

    def sample(self, requests: Sequence[SampleRequest]) -> SampleStream: ...

    def close(self) -> None: ...

    # Optional: ``prepare(requests=(), tokens=0)`` sizes what the backend allocates for this
    # work before the first stream (llama.cpp's --ctx auto); drivers call it through
    # ``inferplan.backends.prepare``, which skips backends without it.

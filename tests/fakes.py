"""The one fake backend of the test suite: for unit tests of the profiler, planner and run engine.

It answers "What is A + B?" prompts (chat messages or raw text) right with a
seed-determined chance that falls with temperature, so outcomes are reproducible.
Never a stand-in for the real engine: every real path is tested on llama.cpp.
"""

from __future__ import annotations

import re

import numpy as np

from inferplan.backends.base import BackendInfo, Completion, SampleRequest


def _operands(req: SampleRequest) -> tuple[int, int]:
    text = req.messages[-1]["content"] if req.messages is not None else req.prompt
    a, b = re.findall(r"What is (\d+) \+ (\d+)\?", text)[-1]
    return int(a), int(b)


class FakeStream:
    """Yields each request's samples; answers right with a seed-determined chance."""

    def __init__(self, requests, fail_after: int | None = None) -> None:
        self.requests = list(requests)
        self.fail_after = fail_after
        self.cancelled: set[int] = set()

    def submit(self, requests):
        start = len(self.requests)
        self.requests.extend(requests)
        return list(range(start, len(self.requests)))

    def cancel(self, request: int) -> None:
        self.cancelled.add(request)

    def __iter__(self):
        emitted = 0
        r = 0
        while r < len(self.requests):  # requests submitted while iterating are served too
            req = self.requests[r]
            if r in self.cancelled:
                r += 1
                continue
            a, b = _operands(req)
            for i in range(req.n):
                if r in self.cancelled:  # the consumer stopped this request mid-way
                    break
                if self.fail_after is not None and emitted >= self.fail_after:
                    raise KeyboardInterrupt
                rng = np.random.default_rng(req.seed(i))
                right = rng.random() > req.temperature(i) / 2
                answer = a + b if right else a + b + 1
                emitted += 1
                yield Completion(request=r, index=req.first_index + i, text=f"The answer is {answer}.",
                                 completion_tokens=5, prompt_tokens=20, logprob=-1.0, finish="stop",
                                 seconds=0.01, temperature=req.temperature(i), seed=req.seed(i))
            r += 1


class FakeBackend:
    """A backend whose streams are :class:`FakeStream`; ``requests`` records what was asked."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.info = BackendInfo(name="fake", model="fake-model", model_sha256="0" * 64, parallel_slots=4)
        self.fail_after = fail_after
        self.requests: list[SampleRequest] = []

    def sample(self, requests):
        self.requests.extend(requests)
        return FakeStream(requests, self.fail_after)

    def close(self) -> None:
        pass

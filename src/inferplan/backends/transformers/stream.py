"""The SampleStream of the transformers backend: waves of one prompt at one temperature.

Generation is synchronous, so the stream is a work queue: each request is split
into waves (samples grouped by temperature, at most ``backend.wave`` each), and
iterating runs the next wave and yields its completions. ``cancel`` drops a
request's waves that have not started; ``submit`` may add waves while iterating.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from typing import Iterator, Sequence

from inferplan.backends.base import Completion, SampleRequest
from inferplan.backends.transformers.forcing import forced_answer
from inferplan.errors import InputError
from inferplan.policy.forcing import check_forcing, finish_forced, refuse_probes


def plan_waves(request: SampleRequest, wave: int) -> list[tuple[float, list[int]]]:
    """(temperature, sample offsets) groups of at most ``wave`` samples, in first-seen order."""
    by_temperature: dict[float, list[int]] = {}
    for i in range(request.n):
        by_temperature.setdefault(request.temperature(i), []).append(i)
    return [(t, offsets[k:k + wave]) for t, offsets in by_temperature.items() for k in range(0, len(offsets), wave)]


class TransformersStream:
    """Completions wave by wave; see ``base.SampleStream``."""

    def __init__(self, backend, requests: Sequence[SampleRequest]) -> None:
        self._b = backend
        self._requests: list[SampleRequest] = []
        self._ids: list[list[int]] = []
        self._cancelled: list[bool] = []
        self._work: deque[tuple[int, float, list[int]]] = deque()
        self._greedy: dict[int, Completion] = {}  # request → its one greedy sample (T=0 is deterministic)
        self.tick = None  # see base.SampleStream
        self.submit(requests)

    def submit(self, requests: Sequence[SampleRequest]) -> list[int]:
        """Queue more requests; returns their stream-wide numbers."""
        numbers = []
        for request in requests:
            if request.n < 0 or request.max_tokens < 1 or any(t < 0 for t in request.temperatures):
                raise InputError("a request needs n >= 0, max_tokens >= 1 and temperatures >= 0")
            refuse_probes(request, "transformers")
            if request.forces:
                check_forcing(request)
            number = len(self._requests)
            self._requests.append(request)
            self._ids.append(self._b.prompt_ids(request))
            self._cancelled.append(False)
            for temperature, offsets in plan_waves(request, self._b.wave):
                self._work.append((number, temperature, offsets))
            numbers.append(number)
        return numbers

    def cancel(self, request: int) -> None:
        """Drop the request's waves not yet run; nothing more of it is yielded."""
        self._cancelled[request] = True
        self._work = deque(w for w in self._work if w[0] != request)

    def __iter__(self) -> Iterator[Completion]:
        while self._work:
            if self.tick is not None:  # generation is synchronous: between waves is the only time
                self.tick()
                if not self._work:
                    return
            number, temperature, offsets = self._work.popleft()
            request = self._requests[number]
            if temperature <= 0 and number in self._greedy:
                completions = [replace(self._greedy[number], index=request.first_index + offset,
                                       seed=request.seed(offset)) for offset in offsets]
            else:
                completions = self._wave(number, temperature, offsets)
                if temperature <= 0:
                    self._greedy[number] = completions[0]
            for completion in completions:
                if self._cancelled[number]:  # cancelled by the caller while we were yielding
                    break
                yield completion

    def _wave(self, number: int, temperature: float, offsets: list[int]) -> list[Completion]:
        """One wave's completions; a sample at max_tokens of a forcing request answers on from its ids."""
        request = self._requests[number]
        rows, seconds = self._b.generate(self._ids[number], request, len(offsets), temperature,
                                         request.seed(offsets[0]))
        out, answered = [], {}
        for offset, row in zip(offsets, rows):
            text, tokens, logprob, finish, ids = row
            completion = Completion(
                request=number, index=request.first_index + offset, text=text, completion_tokens=tokens,
                prompt_tokens=len(self._ids[number]), logprob=logprob, finish=finish,
                seconds=seconds, temperature=temperature, seed=request.seed(offset),
            )
            if finish == "length" and request.forces:
                if id(row) not in answered:  # greedy rows are one row repeated: answer it once
                    answered[id(row)] = forced_answer(self._b, self._ids[number] + ids, tokens, request)
                completion = finish_forced(completion, *answered[id(row)])
            out.append(completion)
        return out

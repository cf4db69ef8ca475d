"""The SampleStream of the OpenAI-compatible backend: HTTP jobs on an asyncio loop.

Each submitted request becomes one or more *jobs* (one HTTP call each). Jobs run as
asyncio tasks on the backend's loop thread, at most ``parallel`` at a time (a
semaphore), and put their completions on a thread-safe queue that the caller's
iteration drains in finish order. ``cancel`` cancels the request's tasks, which
closes their connections, so in-flight samples stop costing anything client-side
(vLLM also aborts a request whose client went away).
"""

from __future__ import annotations

import asyncio
import queue
import time
from concurrent.futures import Future
from typing import Iterator, Sequence

from inferplan.backends.base import Completion, SampleRequest
from inferplan.backends.openai.budget import Knob, knob_for, read_budgeted
from inferplan.backends.openai.forcing import check_forcing_on, force_answers
from inferplan.backends.openai.http import choice_logprobs, choice_text, finish_reason, reply_parts, token_count
from inferplan.errors import BackendError, InputError

MAX_N = 64  # largest n sent in one request; bigger groups are split


def plan_jobs(request: SampleRequest, n_supported: bool) -> list[tuple[list[int], float, int]]:
    """Split a request's samples into jobs: (sample offsets, temperature, first seed).

    With ``n`` honoured, consecutive samples that share a temperature and have
    consecutive seeds go into one job (the server seeds child k with seed + k);
    otherwise every sample is its own job, carrying its own seed.
    """
    jobs: list[tuple[list[int], float, int]] = []
    for i in range(request.n):
        t, s = request.temperature(i), request.seed(i)
        if n_supported and jobs:
            offsets, jt, js = jobs[-1]
            if jt == t and js + len(offsets) == s and len(offsets) < MAX_N:
                offsets.append(i)
                continue
        jobs.append(([i], t, s))
    return jobs


class OpenAIStream:
    """Completions in the order the server returns them; see ``base.SampleStream``."""

    def __init__(self, backend, requests: Sequence[SampleRequest], results: queue.Queue | None = None,
                 tag: object = None) -> None:
        """``results``/``tag``: put ``(tag, item)`` on a queue shared with other streams (several servers)."""
        self._b = backend
        self._queue: queue.Queue = queue.Queue() if results is None else results
        self._tag, self._shared = tag, results is not None
        self._remaining: list[int] = []  # per request: samples not yet yielded
        self._cancelled: list[bool] = []
        self._futures: list[list[Future]] = []
        self.tick = None  # see base.SampleStream
        self.submit(requests)

    # -- public ----------------------------------------------------------------------

    def submit(self, requests: Sequence[SampleRequest]) -> list[int]:
        """Queue more requests (also while iterating); returns their stream-wide numbers."""
        numbers = []
        for request in requests:
            if (request.prompt is None) == (request.messages is None):
                raise InputError("a request needs exactly one of prompt or messages")
            if request.n < 0 or request.max_tokens < 1 or any(t < 0 for t in request.temperatures):
                raise InputError("a request needs n >= 0, max_tokens >= 1 and temperatures >= 0")
            check_forcing_on(self._b, request)
            knob = knob_for(self._b, request)  # the server cuts the thinking itself: one request a sample
            number = len(self._remaining)
            self._remaining.append(request.n)
            self._cancelled.append(False)
            futures = []
            for offsets, temperature, seed in plan_jobs(request, self._b.n_supported and knob is None):
                coro = self._job(number, request, offsets, temperature, seed, knob)
                futures.append(asyncio.run_coroutine_threadsafe(coro, self._b._loop))
            self._futures.append(futures)
            numbers.append(number)
        return numbers

    def cancel(self, request: int) -> None:
        """Drop a request's queued and in-flight samples; none of them will be yielded."""
        if self._cancelled[request]:
            return
        self._cancelled[request] = True
        self._remaining[request] = 0
        for f in self._futures[request]:
            f.cancel()  # thread-safe: cancels the asyncio task, which closes its connection

    @property
    def outstanding(self) -> int:
        """Samples submitted and not yet yielded (or cancelled)."""
        return sum(self._remaining)

    def accept(self, item: Completion | BaseException) -> Completion | None:
        """One item off the queue: the completion to yield, None for a cancelled one; errors raise."""
        if isinstance(item, BaseException):
            raise item
        if self._cancelled[item.request]:
            return None
        self._remaining[item.request] -= 1
        return item

    def cancel_all(self) -> None:
        for number, left in enumerate(self._remaining):
            if left:
                self.cancel(number)

    def __iter__(self) -> Iterator[Completion]:
        try:
            while self.outstanding > 0:
                try:  # a timeout keeps Ctrl-C (and the tick) responsive while waiting on the server
                    item = self._queue.get(timeout=0.2 if self.tick is None else 0.02)
                except queue.Empty:
                    if self.tick is not None:
                        self.tick()
                    continue
                completion = self.accept(item)
                if completion is not None:
                    yield completion
        finally:
            self.cancel_all()  # error, Ctrl-C or the caller stopped early: stop paying for the rest

    # -- one HTTP job ----------------------------------------------------------------

    async def _job(self, number: int, request: SampleRequest, offsets: list[int], temperature: float, seed: int,
                   knob: Knob | None) -> None:
        b = self._b
        endpoint = "/chat/completions" if request.messages is not None else "/completions"
        try:
            body = b.body(request, endpoint, len(offsets), temperature, seed)
            body.update(knob.fields(request) if knob is not None else {})
            async with b.semaphore:
                if self._cancelled[number]:
                    return
                start = time.monotonic()
                reply = await b.post(endpoint, body)
                seconds = time.monotonic() - start
            if knob is not None:  # one sample, its thinking cut by the server
                sample = {"request": number, "index": request.first_index + offsets[0], "seconds": seconds,
                          "temperature": temperature, "seed": seed}
                completions = [read_budgeted(b, knob, request, reply, sample)]
            else:  # samples at max_tokens answer by a continuation
                completions = await force_answers(b, request,
                                                  self._completions(number, request, offsets, temperature, seed,
                                                                    reply, seconds))
            for completion in completions:
                self._put(completion)
        except asyncio.CancelledError:
            return  # cancelled by cancel(): nothing to report
        except BaseException as e:  # surfaced in the caller's thread by __iter__
            self._put(e)

    def _put(self, item: Completion | BaseException) -> None:
        self._queue.put((self._tag, item) if self._shared else item)

    def _completions(self, number: int, request: SampleRequest, offsets: list[int], temperature: float,
                     seed: int, reply: dict, seconds: float) -> list[Completion]:
        choices, usage = reply_parts(reply, self._b.base_url)
        if len(choices) < len(offsets):
            raise BackendError(f"server at {self._b.base_url} returned {len(choices)} choices for n={len(offsets)}")
        prompt_tokens = token_count(usage.get("prompt_tokens"), self._b.base_url) or 0
        total = token_count(usage.get("completion_tokens"), self._b.base_url)
        out = []
        for k, (offset, choice) in enumerate(zip(offsets, choices)):
            logprob, counted, confidence = choice_logprobs(choice)
            if len(offsets) == 1 and total is not None:
                tokens = int(total)
            elif counted is not None:
                tokens = counted
            else:  # usage is summed over the n choices: share it out (an estimate)
                tokens = round(int(total or 0) / len(offsets))
            out.append(Completion(
                request=number, index=request.first_index + offset, text=choice_text(choice),
                completion_tokens=tokens, prompt_tokens=prompt_tokens, logprob=logprob,
                finish=finish_reason(choice), seconds=seconds, temperature=temperature, seed=seed + k,
                confidence=confidence,
            ))
        return out

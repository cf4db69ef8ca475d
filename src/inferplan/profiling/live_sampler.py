"""Samples from a backend, graded and appended to a profile file.

The live half of ``inferplan profile``: each task becomes ONE request carrying all its
wanted samples (per-sample temperatures and seeds), so the backend evaluates its prompt
once and problems share the decode batch. Records are appended and flushed in small
batches; seeds derive from (seed, task, config, index) alone, so a resumed sample is the
sample the first run would have drawn.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from typing import Callable

from inferplan.backends.base import ForcedAnswer, SampleRequest
from inferplan.policy.forcing import Forcing
from inferplan.profiles.header import ConfigSpec
from inferplan.tasks import templates as prompts

FLUSH_SECONDS = 1.0  # flush at least this often, and every `parallel` records


@dataclass(frozen=True)
class Progress:
    """Reported after every graded sample."""

    done: int  # samples finished in this run
    total: int  # samples this run plans to draw at most (those of the whole run, not of its round so far)
    completion_tokens: int
    elapsed: float
    accuracy: dict[str, tuple[int, int]]  # config → (correct, graded) in this run


def sample_seed(seed: int, task: str, config: str, index: int) -> int:
    """A 31-bit seed determined by (seed, task, config, index) only."""
    digest = hashlib.blake2b(f"{seed}|{task}|{config}|{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


def asked(task, template, taskset, max_tokens: int, forcing: Forcing | None = None) -> SampleRequest:
    """One sample of ``task`` as the profile asks it (the prompt, its stop strings, the cap, and
    any forced answer and probes)."""
    rp = prompts.render(task, template, taskset.shots)
    request = SampleRequest(prompt=rp.prompt, messages=rp.messages, stop=rp.stop, max_tokens=max_tokens)
    return forcing.apply(request) if forcing else request


class LiveSampler:
    """Samples from the backend, graded and appended to the profile: the ``Sampler`` of
    ``profiling.adaptive`` for a live run, and the whole of a plain uniform one.

    Each task becomes ONE request carrying all its wanted samples, so the backend
    evaluates its prompt once and problems share the decode batch. When ``over()``
    turns true (a budget is spent) the requests still in flight are cancelled.
    """

    def __init__(self, backend, writer, taskset, template, grader, configs, opts, max_tokens, on_progress,
                 forcing: Forcing | None = None):
        self.backend, self.writer, self.taskset, self.template = backend, writer, taskset, template
        self.grader, self.configs, self.opts, self.max_tokens = grader, configs, opts, max_tokens
        self.on_progress = on_progress
        self.forcing = forcing
        self.run_id = int(time.time() * 1000)
        self.start = time.monotonic()
        self.done = self.tokens = self.scheduled = 0
        self.planned = 0  # the most this run will draw, when known before it starts (see profiler._sample)
        self.acc = {c.name: [0, 0] for c in configs}
        self.slots = max(1, getattr(backend.info, "parallel_slots", 1))  # the decode batch width

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.start

    def __call__(self, wanted: list[tuple[int, int, int, str]], over: Callable[[], bool] = lambda: False,
                 more: Callable[[int], list[tuple[int, int, int, str]]] | None = None):
        """Draw ``wanted``; while fewer samples than the batch width are in flight, ask ``more(free)``
        for further ones and submit them to the same stream, so the batch never runs part-empty."""
        requests, plan = self._requests(wanted)
        if requests:
            yield from self._stream(requests, plan, over, more)

    def _requests(self, wanted: list[tuple[int, int, int, str]]) -> tuple[list[SampleRequest], list]:
        """One request per task for its wanted samples not yet on disk, and what each sample is."""
        by_task: dict[int, list[tuple[ConfigSpec, int, str]]] = {}
        for p, c, i, alloc in wanted:
            if (self.taskset.tasks[p].id, self.configs[c].name, i) not in self.writer.done:
                by_task.setdefault(p, []).append((self.configs[c], i, alloc))
        requests, plan = [], []
        for p, missing in by_task.items():
            task = self.taskset.tasks[p]
            requests.append(replace(
                asked(task, self.template, self.taskset, self.max_tokens, self.forcing), n=len(missing),
                temperatures=tuple(c.temperature for c, _, _ in missing),
                seeds=tuple(sample_seed(self.opts.seed, task.id, c.name, i) for c, i, _ in missing),
            ))
            plan.append((task, missing))
        self.scheduled += sum(len(m) for _, m in plan)
        return requests, plan

    def _stream(self, requests, plan, over, more):
        stream = self.backend.sample(requests)
        owner = dict(enumerate(plan))  # stream request number → (task, its samples)
        in_flight = sum(r.n for r in requests)
        buffer: list[dict] = []
        last_flush = time.monotonic()
        try:
            for comp in stream:
                task, missing = owner[comp.request]
                config, index, alloc = missing[comp.index]
                rec = self._record(task, config, index, alloc, comp)
                in_flight -= 1
                buffer.append(rec)
                now = time.monotonic()
                if len(buffer) >= self.slots or now - last_flush >= FLUSH_SECONDS:
                    self.writer.write(buffer)
                    buffer, last_flush = [], now
                if self.on_progress is not None:
                    self.on_progress(Progress(self.done, max(self.planned, self.scheduled, self.done), self.tokens, now - self.start,
                                              {k: (v[0], v[1]) for k, v in self.acc.items()}))
                yield rec
                if over():
                    for r in owner:
                        stream.cancel(r)  # a budget is spent: drop what is in flight
                elif more is not None and in_flight < self.slots:
                    extra, extra_plan = self._requests(more(self.slots - in_flight))
                    if extra:
                        owner.update(zip(stream.submit(extra), extra_plan))
                        in_flight += sum(r.n for r in extra)
        finally:
            self.writer.write(buffer)  # keep every graded sample, also on Ctrl-C

    def _record(self, task, config, index, alloc, comp) -> dict:
        grade = self.grader.grade(task, comp.answer_text, comp.finish)
        rec = {
            "problem": task.id, "config": config.name, "index": index, "seed": comp.seed,
            "answer": grade.answer, "correct": grade.correct,
            "completion_tokens": comp.completion_tokens, "prompt_tokens": comp.prompt_tokens,
            "seconds": round(comp.seconds, 4), "logprob": comp.logprob, "finish": comp.finish,
            "run": self.run_id, "t": round(time.monotonic() - self.start, 3),
        }
        if alloc != "uniform" or self.opts.budget is not None:
            rec["alloc"] = alloc  # how a budgeted profile chose this sample
        if comp.confidence is not None:  # windowed logprob confidence (backends/confidence.py)
            conf = comp.confidence
            rec.update(conf_low=round(conf.lowest, 5), conf_low_at=conf.lowest_at, conf_tail=round(conf.tail, 5),
                       conf_lows=[[n, round(v, 4)] for n, v in conf.lows])
        if comp.forced is not None:
            rec.update(thinking_tokens=comp.thinking_tokens, forced=self._forced(task, comp.forced))
        if comp.probes:
            rec["probes"] = [self._forced(task, p) for p in comp.probes]
        if self.opts.keep_text:
            rec["text"] = comp.text
        self.done += 1
        self.tokens += comp.completion_tokens + sum(p.tokens for p in comp.probes)
        self.acc[config.name][0] += grade.correct
        self.acc[config.name][1] += 1
        return rec

    def _forced(self, task, answer: ForcedAnswer) -> list:
        """A forced answer as recorded: [depth, answer, correct, tokens, ended(, text)]."""
        grade = self.grader.grade(task, answer.text, "forced")
        out = [answer.depth, grade.answer, grade.correct, answer.tokens, answer.ended]
        return out + [answer.text] if self.opts.keep_text else out

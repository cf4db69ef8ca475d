"""Run queries on a backend: N samples each, extract answers, majority vote.

``run_queries`` submits every query at once, so the backend shares its batch
across them (many problems decode together), and yields one frozen
:class:`QueryResult` per query in input order as soon as that query is complete.
Planned runs (adaptive stopping, temperature mixes) build on the same pieces.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from inferplan.backends.base import Backend, Completion, SampleRequest
from inferplan.errors import InputError
from inferplan.policy.vote import majority, vote_counts
from inferplan.grading.extract import get_extractor


@dataclass(frozen=True)
class Query:
    """One question: exactly one of ``prompt`` (text) or ``messages`` (chat turns)."""

    id: str | int
    prompt: str | None = None
    messages: tuple[dict, ...] | None = None


@dataclass(frozen=True)
class RunSettings:
    """How to sample and aggregate (fixed N)."""

    n: int = 8
    temperatures: tuple[float, ...] = (0.7,)  # cycled over the samples
    max_tokens: int = 256
    seed: int = 0
    system: str | None = None  # system message for chat prompts
    raw: bool = False  # send prompts as raw text, without the chat template
    extract: str = "auto"
    stop: tuple[str, ...] = ()
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0


@dataclass(frozen=True)
class QueryResult:
    """The outcome of one query."""

    id: str | int
    answer: str | None  # majority answer (None if every sample abstained)
    votes: dict[str, int]  # answer → count, most common first
    samples: int
    completion_tokens: int  # summed over samples
    prompt_tokens: int  # prompt length (evaluated once, shared by the samples)
    seconds: float  # wall time from the query's first sample start to its last finish
    stop_reason: str  # "fixed": all N samples drawn
    answers: tuple[str | None, ...]  # extracted answer per sample, by sample index
    finishes: tuple[str, ...]  # "stop" / "length" per sample
    logprobs: tuple[float | None, ...]
    texts: tuple[str, ...]


def validate_settings(settings: RunSettings) -> None:
    """InputError (one line) for values no run can use."""
    if settings.n < 1:
        raise InputError(f"-n must be at least 1, got {settings.n}")
    if not settings.temperatures:
        raise InputError("--temperatures needs at least one value")
    bad = [t for t in settings.temperatures if not t >= 0]
    if bad:
        raise InputError(f"temperatures must be >= 0, got {bad[0]}")
    if settings.max_tokens < 1:
        raise InputError(f"--max-tokens must be at least 1, got {settings.max_tokens}")
    if not 0 < settings.top_p <= 1:
        raise InputError(f"--top-p must be in (0, 1], got {settings.top_p}")
    get_extractor(settings.extract)


def build_request(query: Query, position: int, settings: RunSettings) -> SampleRequest:
    """The backend request for a query: chat messages (with the system message) or raw text."""
    if query.messages is not None:
        messages = tuple(query.messages)
        if not messages:
            raise InputError(f"query {query.id}: empty messages")
        if settings.system and messages[0].get("role") != "system":
            messages = ({"role": "system", "content": settings.system},) + messages
        prompt = None
    else:
        if query.prompt is None or not query.prompt.strip():
            raise InputError(f"query {query.id}: empty prompt")
        if settings.raw:
            prompt, messages = query.prompt, None
        else:
            system = ({"role": "system", "content": settings.system},) if settings.system else ()
            prompt, messages = None, system + ({"role": "user", "content": query.prompt},)
    # Distinct, reproducible seeds per (run seed, query position, sample).
    seeds = np.random.SeedSequence([settings.seed, position]).generate_state(settings.n)
    return SampleRequest(
        prompt=prompt, messages=messages, n=settings.n, temperatures=tuple(settings.temperatures),
        seeds=tuple(int(s) for s in seeds), max_tokens=settings.max_tokens, stop=tuple(settings.stop),
        top_k=settings.top_k, top_p=settings.top_p, min_p=settings.min_p,
    )


def run_queries(queries: Sequence[Query], backend: Backend, settings: RunSettings) -> Iterator[QueryResult]:
    """Validate, then return an iterator of results in input order (sampling starts on first use)."""
    validate_settings(settings)
    if not queries:
        raise InputError("no prompts to run")
    requests = [build_request(q, i, settings) for i, q in enumerate(queries)]
    return _run(queries, requests, backend, settings)


def _run(queries: Sequence[Query], requests: list[SampleRequest], backend: Backend,
         settings: RunSettings) -> Iterator[QueryResult]:
    extract = get_extractor(settings.extract)
    stream = backend.sample(requests)
    done: dict[int, list[tuple[Completion, float]]] = defaultdict(list)
    next_out = 0
    for c in stream:
        done[c.request].append((c, time.monotonic()))
        while next_out < len(queries) and len(done.get(next_out, ())) == settings.n:
            yield _result(queries[next_out], next_out, done.pop(next_out), extract, settings)
            next_out += 1


def _result(query: Query, position: int, items: list[tuple[Completion, float]], extract,
            settings: RunSettings) -> QueryResult:
    items.sort(key=lambda it: it[0].index)
    comps = [c for c, _ in items]
    answers = tuple(extract(c.text) for c in comps)
    rng = np.random.default_rng([settings.seed, position])  # reproducible tie-breaks
    start = min(end - c.seconds for c, end in items)
    return QueryResult(
        id=query.id, answer=majority(answers, rng), votes=vote_counts(answers), samples=len(comps),
        completion_tokens=sum(c.completion_tokens for c in comps),
        prompt_tokens=comps[0].prompt_tokens if comps else 0,
        seconds=max(end for _, end in items) - start, stop_reason="fixed", answers=answers,
        finishes=tuple(c.finish for c in comps), logprobs=tuple(c.logprob for c in comps),
        texts=tuple(c.text for c in comps),
    )

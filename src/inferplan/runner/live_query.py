"""One query under a plan: its rounds, the rule fed in sample order, stop, cancel, result.

:class:`PlanCore` holds what every query of one plan shares (the effective rule
and caps, the prompt spec, the temperature schedule) and drives a query's
:class:`LiveQuery` on a backend stream: the first round is the fewest samples
that could satisfy the stopping rule (ConSol's optimistic lookahead); when a
round is in, the rule sees the answers in sample order — exactly as
``plan``/``simulate`` replayed them — and the query either stops (cancelling
what is still in flight) or asks for the next round. A "parallel:K" plan (a
latency plan) instead launches all K at once and shows the rule each answer as
its sample finishes, stopping (and cancelling the rest) the moment the rule
holds. The drivers decide when queries arrive: a fixed list
(:mod:`inferplan.runner.plan_runner`) or requests from many clients
(:mod:`inferplan.runner.service`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from inferplan.backends.base import Completion, SampleRequest
from inferplan.errors import InputError, InvalidValue
from inferplan.planner.plan_file import Plan
from inferplan.policy.stopping import RuleState, StoppingRule
from inferplan.policy.termination import crossing, floor_of
from inferplan.policy.vote import vote_counts
from inferplan.replay.traces import schedule
from inferplan.runner.fixed import FIXED
from inferplan.runner.queries import Query
from inferplan.runner.results import QueryResult
from inferplan.tasks.prompt_spec import PromptSpec

DEFAULT_MAX_TOKENS = 256

# verify(position, text) → accepted; needed by oracle (first-pass) plans.
Verifier = Callable[[int, str], bool]


@dataclass(frozen=True)
class PlanOverrides:
    """Limits on top of a plan (they can only tighten it), the seed and a system message."""

    max_samples: int | None = None
    max_tokens: int | None = None
    seed: int = 0
    system: str | None = None


@dataclass
class LiveQuery:
    """Mutable bookkeeping of one query while it runs."""

    position: int  # the query's number in its run (the verifier's index of it)
    query: Query
    base: SampleRequest  # the rendered prompt and caps; rounds copy it
    entropy: tuple[int, ...]  # seeds its samples and its tie-breaks
    state: RuleState
    seeds: np.ndarray  # one sampling seed per sample index
    drawn: int = 0  # samples requested so far
    requests: list[int] = field(default_factory=list)  # its stream request numbers
    got: dict[int, Completion] = field(default_factory=dict)  # sample index → completion
    fed: int = 0  # samples the rule has seen, in index order
    answers: list[str | None] = field(default_factory=list)
    accepted: int | None = None  # first sample a verifier accepted (oracle)
    stopped: bool = False
    wasted: int = 0
    start: float = float("inf")  # when its first sample started decoding
    floor: float | None = None  # low-confidence floor, once the warm-up samples are in
    end: float = 0.0


def effective_rule(plan: Plan, overrides: PlanOverrides) -> StoppingRule:
    rule = plan.rule
    if overrides.max_samples is not None:
        if overrides.max_samples < 1:
            raise InvalidValue("max_samples", f"{{name}} must be at least 1, got {overrides.max_samples}")
        cap = min(rule.max_samples, overrides.max_samples)
        rule = replace(rule, max_samples=cap, min_samples=min(rule.min_samples, cap))
    return rule


def effective_max_tokens(plan: Plan, overrides: PlanOverrides) -> int:
    planned = plan.max_tokens or (plan.prompt and plan.prompt.max_tokens) or DEFAULT_MAX_TOKENS
    if overrides.max_tokens is not None:
        if overrides.max_tokens < 1:
            raise InvalidValue("max_tokens", f"{{name}} must be at least 1, got {overrides.max_tokens}")
        return min(int(planned), overrides.max_tokens)
    return int(planned)


class PlanCore:
    """What the queries of one plan share, and the steps that move one query along.

    ``owner`` maps every stream request number to its query; the driver records
    the first round's number with :meth:`own`, later rounds are recorded here.
    """

    def __init__(self, plan: Plan, overrides: PlanOverrides = PlanOverrides(),
                 verify: Verifier | None = None) -> None:
        if plan.aggregation.first_pass and verify is None:
            raise InputError("this plan returns the first sample a verifier accepts (oracle aggregation); "
                             "run it with `inferplan evaluate` on graded tasks")
        unknown = [n for n in plan.mix if n not in plan.configs]
        if unknown or not plan.mix:
            raise InputError(f"plan has no settings for configuration(s) {unknown or 'any'}")
        self.plan, self.verify, self.overrides = plan, verify, overrides
        self.rule = effective_rule(plan, overrides)
        self.max_tokens = effective_max_tokens(plan, overrides)
        spec = plan.prompt or PromptSpec()  # imported sample sets: ask in chat, read numbers
        self.spec = replace(spec, system=overrides.system) if overrides.system else spec
        self.names = list(plan.mix)
        # A "parallel:K" plan launches K samples at once and feeds the rule as they finish.
        self.launch = None if plan.parallel is None else min(plan.parallel, overrides.max_samples or plan.parallel)
        self.draws = max(self.rule.max_samples, self.launch or 0)
        self.order = schedule(np.array([plan.mix[n] for n in self.names]), self.draws)
        self.term = plan.terminate if self.launch is None else None
        self.owner: dict[int, LiveQuery] = {}
        # A budget over many queries (serve --total-budget): the next round's size, 0 when none may start.
        self.limit: Callable[[LiveQuery, int], int] | None = None

    def base_request(self, query: Query, *, as_profiled: bool = True, max_tokens: int | None = None,
                     stop: tuple[str, ...] = ()) -> SampleRequest:
        """The query's prompt: rendered as the profile asked its questions, or sent as given.

        ``max_tokens`` and ``stop`` can only tighten the plan's caps.
        """
        if query.messages is not None:
            rendered = self.spec.render_messages(query.messages)
        elif query.prompt is None or not query.prompt.strip():
            raise InputError(f"query {query.id}: empty prompt")
        elif as_profiled:
            rendered = self.spec.render(query.prompt)
        else:  # raw text to continue (a completions endpoint), with the plan's stop strings, its template's too
            own = tuple(s for s in self.spec.render(query.prompt).stop if s not in self.spec.stop)
            rendered = self.spec.with_system(query.prompt, None, own)
        cap = self.max_tokens if max_tokens is None else min(self.max_tokens, max_tokens)
        request = SampleRequest(prompt=rendered.prompt, messages=rendered.messages, max_tokens=cap,
                                stop=tuple(rendered.stop) + tuple(stop))
        # A thinking budget: at the cap the sample is made to answer, as it was in replay.
        return self.plan.thinking.apply(request) if self.plan.thinking else request

    def new_query(self, position: int, query: Query, base: SampleRequest,
                  entropy: tuple[int, ...] | None = None) -> LiveQuery:
        """A query not yet started. Its samples and tie-breaks are seeded by ``entropy``,
        by default the run's seed and the query's position."""
        entropy = (self.overrides.seed, position) if entropy is None else tuple(entropy)
        seeds = np.random.SeedSequence(list(entropy)).generate_state(self.draws)
        return LiveQuery(position, query, base, entropy, self.rule.start(), seeds)

    def first_round(self, q: LiveQuery) -> SampleRequest | None:
        """The query's first samples (None: a budget over many queries has no room for them yet)."""
        k = self._next_size(q)
        return self._round(q, k) if k > 0 else None

    def own(self, q: LiveQuery, number: int) -> None:
        q.requests.append(number)
        self.owner[number] = q

    def _round(self, q: LiveQuery, k: int) -> SampleRequest:
        """The next ``k`` samples of query ``q``, with their planned configurations and seeds."""
        idx = range(q.drawn, q.drawn + k)
        configs = [self.plan.configs[self.names[self.order[i]]] for i in idx]
        # A request has one top-p/top-k/min-p: a round takes its first config's (profiled
        # configs differ in temperature only, which is per sample).
        first = configs[0]
        q.drawn += k
        return replace(
            q.base, n=k, first_index=idx[0], temperatures=tuple(float(c.temperature or 0.0) for c in configs),
            seeds=tuple(int(q.seeds[i]) for i in idx), top_p=first.top_p, top_k=first.top_k, min_p=first.min_p,
            conf_floor=q.floor,
        )

    def _next_size(self, q: LiveQuery) -> int:
        if self.launch is not None:  # one round of all K; nothing after it
            return self.launch - q.drawn
        need = max(self.rule.min_samples - q.state.n, q.state.lookahead(), 1)
        if self.term is not None and q.drawn < self.term.warmup:  # the floor needs the whole warm-up first
            need = min(need, self.term.warmup - q.drawn)
        k = min(need, self.rule.max_samples - q.drawn)
        return k if self.limit is None else self.limit(q, k)

    def receive(self, c: Completion, stream) -> LiveQuery | None:
        """Take one completion: feed its query's rule and stop it or submit its next round.

        Returns the query, or None when it had already stopped (the sample is waste).
        """
        q = self.owner.get(c.request)
        if q is None:  # a query its driver has already let go of
            return None
        if q.stopped:
            q.wasted += c.completion_tokens
            return None
        # In a parallel round the rule reads samples in the order they finish, as replayed.
        q.got[len(q.got) if self.launch is not None else c.index] = c
        q.end = time.monotonic()
        q.start = min(q.start, q.end - c.seconds)
        self._feed(q, stream)
        return q

    def _feed(self, q: LiveQuery, stream) -> None:
        """Show the rule the answers now complete in sample order; stop or ask for more."""
        while q.fed in q.got and not q.stopped:
            c = q.got[q.fed]
            answer = None if self._cut(q, c) else self.spec.read_answer(c.answer_text, c.finish)
            q.answers.append(answer)
            q.state.add(answer, c.confidence.lowest if c.confidence is not None and answer is not None else None)
            if self.verify is not None and q.accepted is None and self.verify(q.position, c.text):
                q.accepted = q.fed
            q.fed += 1
            if self.term is not None and q.fed == self.term.warmup:
                q.floor = floor_of([q.got[i].confidence.lowest if q.got[i].confidence else None
                                    for i in range(q.fed)], self.term.keep)
            first_pass = self.plan.aggregation.first_pass and q.accepted is not None
            if q.state.done or first_pass:
                self.stop(q, stream)
        if not q.stopped and q.fed == q.drawn:
            k = self._next_size(q)
            if k <= 0:
                self.stop(q, stream)
                return
            self.own(q, stream.submit([self._round(q, k)])[0])

    def _cut(self, q: LiveQuery, c: Completion) -> bool:
        """Whether the low-confidence floor cut this sample: the engine stopped it, or (a
        backend that cannot stop one early) its confidence lows show it fell under the floor."""
        if c.finish == "lowconf":
            return True
        return (q.floor is not None and q.fed >= self.term.warmup and c.confidence is not None
                and crossing(c.confidence.lows, q.floor) is not None)

    def stop(self, q: LiveQuery, stream) -> None:
        """Stop a query: cancel its samples in flight (a finished rule, or a caller who left)."""
        q.stopped = True
        # Cancel even when nothing is in flight: it also tells the backend that the
        # query's cached prompt will not be needed again.
        for number in q.requests:
            stream.cancel(number)
        q.wasted += sum(c.completion_tokens for i, c in q.got.items() if i >= q.fed)

    def result(self, q: LiveQuery) -> QueryResult:
        used = [q.got[i] for i in range(q.fed)]
        answers = tuple(q.answers)
        rng = np.random.default_rng(list(q.entropy))
        agg = self.plan.aggregation
        answer = agg.answer(
            answers, mean_logprobs=[c.logprob / max(c.completion_tokens, 1) if c.logprob is not None else None
                                    for c in used],
            confidences=[c.confidence.lowest if c.confidence is not None else None for c in used],
            accepted=q.accepted, rng=rng)
        if answer is None and q.accepted is not None:  # accepted, but no vote key (code): the sample is the answer
            answer = used[q.accepted].text
        fixed = self.plan.objective == FIXED
        if fixed:
            reason = "fixed"
        elif agg.first_pass:
            reason = "accepted" if q.accepted is not None else "max-samples"
        else:
            reason = "rule" if bool(self.rule.satisfied(q.state.tally)) and q.fed >= self.rule.min_samples \
                else "max-samples"
        return QueryResult(
            id=q.query.id, answer=answer, votes=vote_counts(answers), samples=len(used),
            completion_tokens=sum(c.completion_tokens for c in used),
            prompt_tokens=used[0].prompt_tokens if used else 0,
            seconds=round(max(q.end - q.start, 0.0), 4) if used else 0.0, stop_reason=reason, answers=answers,
            finishes=tuple(c.finish for c in used), logprobs=tuple(c.logprob for c in used),
            texts=tuple(c.text for c in used), rule=None if fixed else self.rule.spec, statistic=q.state.statistic,
            thinking_tokens=tuple(c.thinking_tokens for c in used) if self.plan.thinking else (),
            answer_texts=tuple(c.answer_text for c in used) if self.plan.thinking else (),
            wasted_tokens=q.wasted, configs=tuple(self.names[self.order[i]] for i in range(len(used))),
            sample_tokens=tuple(c.completion_tokens for c in used),
        )

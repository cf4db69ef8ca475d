"""The outcome of one query, fixed-N or planned: what ``run`` returns and renders."""

from __future__ import annotations

from dataclasses import dataclass


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
    stop_reason: str  # "fixed" (all N drawn), "rule", "accepted" (oracle) or "max-samples"
    answers: tuple[str | None, ...]  # extracted answer per sample, by sample index
    finishes: tuple[str, ...]  # "stop" / "length" per sample
    logprobs: tuple[float | None, ...]
    texts: tuple[str, ...]
    rule: str | None = None  # the plan's stopping rule; None for a fixed-N run
    statistic: float = float("nan")  # the rule's statistic when the query stopped
    wasted_tokens: int = 0  # tokens of samples finished after the rule had fired
    configs: tuple[str, ...] = ()  # configuration of each consumed sample
    sample_tokens: tuple[int, ...] = ()  # completion tokens of each consumed sample
    model: str | None = None  # the model that answered (set by the API)
    model_warning: str | None = None  # set when that model is not the one the plan was made for
    stages: tuple[StageResult, ...] = ()  # a cascade: what each stage that ran did (the last one answered)
    # A plan with a thinking budget: each sample's thinking tokens, and the text its answer was
    # read from (a forced answer's own; finishes say "forced").
    thinking_tokens: tuple[int, ...] = ()
    answer_texts: tuple[str, ...] = ()
    pool: tuple[StageResult, ...] = ()  # a mix in one vote: each model's own samples and spend (all voted)

    def thinking(self) -> dict | None:
        """A thinking budget's part of the answer (run --json and serve show it alike): each
        sample's thinking tokens and finish, and how many samples were made to answer."""
        if not self.thinking_tokens:
            return None
        return {"thinking_tokens": list(self.thinking_tokens), "finishes": list(self.finishes),
                "forced": sum(f == "forced" for f in self.finishes)}


@dataclass(frozen=True)
class StageResult:
    """One cascade stage's (or mix member's) part of a query: its model, what it spent, and whether
    its answer stood (a mix member's samples always count in the one vote)."""

    model: str
    answer: str | None
    votes: dict[str, int]
    samples: int
    completion_tokens: int  # every token it generated (samples cancelled by its rule too)
    prompt_tokens: int
    seconds: float
    stood: bool  # its answer is the query's (the last stage's always is)
    wasted_tokens: int = 0  # of completion_tokens, those of samples finished after its rule had fired

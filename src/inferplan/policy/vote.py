"""Majority vote over extracted answers with seeded random tie-breaking."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

import numpy as np


def vote_counts(answers: Iterable[str | None]) -> dict[str, int]:
    """Counts of each non-empty answer, most common first (abstentions dropped)."""
    counts = Counter(a for a in answers if a is not None)
    return dict(counts.most_common())


def majority(answers: Iterable[str | None], rng: np.random.Generator) -> str | None:
    """The plurality answer; ties broken uniformly at random; None if all abstain."""
    counts = vote_counts(answers)
    if not counts:
        return None
    top = max(counts.values())
    leaders = sorted(a for a, c in counts.items() if c == top)
    return leaders[int(rng.integers(len(leaders)))] if len(leaders) > 1 else leaders[0]

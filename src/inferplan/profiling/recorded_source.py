"""A sample source that serves a recorded profile's samples instead of running a model.

Each (problem, configuration)'s recorded samples are put in one seeded random order,
and the i-th sample asked for is the i-th of that order. A uniform and an adaptive
profile of equal cost can so be drawn from the same published set (a Best-of-∞ file
of 80 samples per problem) many times over, without a model, and scored against
everything the set holds. Asking past what was recorded yields nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from inferplan.profiles.store import iter_records, read_header


class RecordedSource:
    """The ``Sampler`` of ``profiling.adaptive`` over a recorded profile's samples."""

    def __init__(self, path: Path | str, seed: int) -> None:
        self.header = read_header(path)
        self.problems = tuple(str(p) for p in self.header.get("problem_ids") or ())
        self.configs = tuple(c["name"] for c in self.header["configs"])
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for rec in iter_records(path):
            groups[(str(rec["problem"]), str(rec["config"]))].append(rec)
        if not self.problems:
            self.problems = tuple(dict.fromkeys(p for p, _ in groups))
        rng = np.random.default_rng(seed)
        self._order = {}
        for key in sorted(groups):
            recs = sorted(groups[key], key=lambda r: int(r["index"]))
            self._order[key] = [recs[i] for i in rng.permutation(len(recs))]

    def __call__(self, wanted: list[tuple[int, int, int, str]], over: Callable[[], bool],
                 more: Callable[[int], list] | None = None) -> Iterator[dict]:
        """The wanted samples one at a time (nothing is in flight, so ``more`` is never asked)."""
        for p, c, i, alloc in wanted:
            if over():
                return
            order = self._order.get((self.problems[p], self.configs[c]), ())
            if i < len(order):
                yield {**order[i], "index": i, "alloc": alloc}

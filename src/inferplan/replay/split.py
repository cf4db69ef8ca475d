"""Train/held-out split of a profile's problems.

Choosing among many candidate plans on the same problems we report on
overfits ("Preserving Statistical Validity in Adaptive Data Analysis"), so the
planner searches on a training split and predicts on the rest. A profile that
carries its own split (OSCA's) is used as published.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.errors import InputError, InvalidValue
from inferplan.profiles.store import SampleTable


@dataclass(frozen=True)
class Split:
    """Problem indices (into ``table.problems``) for planning and for reporting."""

    train: np.ndarray
    test: np.ndarray
    source: str  # "profile", "seeded", "none" (in-sample: train = test)

    @property
    def in_sample(self) -> bool:
        return self.source == "none"


def split_problems(table: SampleTable, holdout: float, seed: int, *, use_profile: bool = True) -> Split:
    """The profile's own split if it has one, else a seeded random ``holdout`` fraction.

    ``holdout = 0`` plans and reports on the same problems (flagged in-sample).
    """
    present = np.unique(table.problem)
    if len(present) == 0:
        raise InputError("profile has no samples")
    if not 0 <= holdout < 1:
        raise InvalidValue("holdout", f"{{name}} must be in [0, 1) (got {holdout})")
    own = table.split() if use_profile else None
    if own and holdout > 0:
        ids = {p: i for i, p in enumerate(table.problems)}
        try:
            train = np.array(sorted(ids[str(p)] for p in own["train"] if str(p) in ids))
            test = np.array(sorted(ids[str(p)] for p in own["test"] if str(p) in ids))
        except (KeyError, TypeError):
            raise InputError("profile header has a malformed \"split\"") from None
        if len(train) and len(test):
            return Split(train, test, "profile")
    if holdout == 0:
        return Split(present, present, "none")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(present)
    n_test = int(round(holdout * len(present)))
    if n_test < 1 or n_test >= len(present):
        raise InvalidValue("holdout", f"{{name}} {holdout} leaves no training or no held-out problems ({len(present)} problems)")
    return Split(np.sort(perm[n_test:]), np.sort(perm[:n_test]), "seeded")

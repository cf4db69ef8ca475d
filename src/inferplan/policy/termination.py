"""Online low-confidence termination (DeepConf-online, Fu et al. 2025).

Each query's first ``warmup`` samples run to the end. Their lowest window confidences
set a floor: the (1 − keep) quantile, so ``keep`` is the share of warm-up chains that
would have stayed above it (DeepConf-high keeps 90%, DeepConf-low 10%). Every later
sample of the query stops the moment its window mean logprob falls under the floor
(finish "lowconf"); it costs the tokens it generated and casts no vote. Replay
reproduces it from the lows each recorded sample carries (``Confidence.lows``): a
sample crosses a floor at its first recorded low under it.

Written ``W:η`` (``4:0.9``), in plan files as {"warmup": W, "keep": η}.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from inferplan.errors import InvalidValue


@dataclass(frozen=True)
class Termination:
    warmup: int  # samples per query that always run to the end and set the floor
    keep: float  # share of warm-up chains above the floor

    @classmethod
    def parse(cls, text: str) -> Termination:
        try:
            w, k = text.split(":")
            term = cls(int(w), float(k))
        except ValueError:
            raise InvalidValue("terminate", f"{{name}} is WARMUP:KEEP, e.g. 4:0.9, got {text!r}") from None
        if term.warmup < 1 or not 0.0 < term.keep <= 1.0:
            raise InvalidValue("terminate", f"{{name}} needs WARMUP ≥ 1 and 0 < KEEP ≤ 1, got {text!r}")
        return term

    @property
    def spec(self) -> str:
        return f"{self.warmup}:{self.keep:g}"

    def to_json(self) -> dict:
        return {"warmup": self.warmup, "keep": self.keep}

    @classmethod
    def from_json(cls, d: object) -> Termination | None:
        if d is None:
            return None
        if not isinstance(d, dict):
            raise InvalidValue("terminate", "{name} in a plan must be {\"warmup\": W, \"keep\": η}")
        return cls.parse(f"{d.get('warmup')}:{d.get('keep')}")


def floor_of(lowest: Sequence[float | None] | np.ndarray, keep: float) -> float | np.ndarray:
    """The floor from warm-up chains' lowest window means along the last axis (nan/None:
    unknown, skipped); −inf (never cut) where none is known. One query's list gives a float;
    replay passes a (rows, warmup) array and gets each row's floor."""
    values = np.asarray(lowest, dtype=np.float64)  # None becomes nan
    with warnings.catch_warnings():  # all unknown: nan, read as never cut
        warnings.simplefilter("ignore", RuntimeWarning)
        floor = np.nan_to_num(np.nanquantile(values, 1.0 - keep, axis=-1), nan=-np.inf)
    return float(floor) if floor.ndim == 0 else floor


def crossing(lows: Sequence[tuple[int, float]] | None, floor: float) -> int | None:
    """Tokens generated when a sample with these lows first fell under ``floor`` (None: never)."""
    for n, v in lows or ():
        if v < floor:
            return n
    return None

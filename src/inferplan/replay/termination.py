"""Replay of online low-confidence termination (``policy/termination.py``).

Each recorded sample carries the successive lows of its window mean logprob; padded into
arrays they let one vectorised pass find, for every replayed draw, whether and where a
floor set by its row's warm-up draws would have cut it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from inferplan.errors import InputError
from inferplan.policy.termination import Termination, floor_of
from inferplan.profiles.store import SampleTable


def padded_lows(table: SampleTable, keep: np.ndarray, idx: tuple, shape: tuple) -> tuple:
    """The recorded lows of the kept samples as padded (P, C, N, R) arrays; (None, None) if unrecorded."""
    if table.conf_lows is None:
        return None, None
    lows = [table.conf_lows[k] or () for k in np.flatnonzero(keep)]
    R = max(1, max(map(len, lows), default=1))
    flat_n, flat_v = np.zeros((len(lows), R), np.int64), np.full((len(lows), R), np.inf)
    for i, row in enumerate(lows):
        if row:
            flat_n[i, :len(row)], flat_v[i, :len(row)] = zip(*row)
    lows_n, lows_v = np.zeros(shape + (R,), np.int64), np.full(shape + (R,), np.inf)
    lows_n[idx], lows_v[idx] = flat_n, flat_v
    return lows_n, lows_v


def terminated(d, term: Termination):
    """The draws (``engine.Draws``) as online termination leaves them: each row's first ``term.warmup`` draws set
    its floor; a later draw whose lows fall under it is cut there (no vote, its tokens so far)."""
    if d.lows_v is None:
        raise InputError("the profile records no confidence lows (profile again with this inferplan); "
                         "termination cannot be replayed")
    W = term.warmup
    floor = floor_of(np.where(d.valid[:, :W], d.conf[:, :W], np.nan), term.keep)  # the runner's, per row
    below = d.lows_v < floor[:, None, None]
    cut = below.any(axis=2) & (np.arange(d.valid.shape[1]) >= W)[None, :] & d.valid
    at = np.take_along_axis(d.lows_n, below.argmax(axis=2)[..., None], axis=2)[..., 0]
    scale = np.where(cut, at / np.where(cut, np.maximum(d.tokens, 1), 1.0), 1.0)
    return replace(d, answer=np.where(cut, -1, d.answer), correct=d.correct & ~cut, cost=d.cost * scale,
                   tokens=np.where(cut, at, d.tokens), conf=np.where(cut, np.nan, d.conf))

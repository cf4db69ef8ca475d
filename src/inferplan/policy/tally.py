"""The sufficient statistics every stopping rule reads (:class:`Tally`), and their projections.

One tally serves the runner (scalars, one sample at a time) and replay (arrays of
every prefix); ``project`` and ``extend_streak`` imagine samples not drawn yet, for
ConSol's lookahead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from inferplan.policy.rule_math import xlogx


@dataclass(frozen=True)
class Tally:
    """Sufficient statistics of an answer sequence; fields are scalars or arrays.

    n: samples drawn (abstentions included); k: samples with an answer;
    v1, v2: counts of the leader and the runner-up; m: distinct answers;
    s: Σ c·ln c over answer counts (for entropy); run: length of the streak of
    identical answers ending at the latest sample; last_lead: the latest sample
    agrees with the leader; sig: index into ``signatures``, the sorted count vectors
    (the rules that read every answer's count, ``bayes``, use them); wlead, wtotal: the
    largest confidence-weighted answer total and the sum of all answered weights (each
    sample weighs exp(its lowest window mean logprob), 1 where unknown; ``wshare`` reads them).
    """

    n: Any
    k: Any
    v1: Any
    v2: Any
    m: Any
    s: Any
    run: Any
    last_lead: Any
    sig: Any = 0
    signatures: tuple[tuple[int, ...], ...] = ((),)
    wlead: Any = 0.0
    wtotal: Any = 0.0

    def project(self, extra: int) -> Tally:
        """The tally after ``extra`` more samples that all agree with the leader
        (weighted like the samples so far, on average)."""
        new_v1 = self.v1 + extra
        with np.errstate(divide="ignore", invalid="ignore"):
            s = self.s - xlogx(self.v1) + xlogx(new_v1)
            w = np.where(np.asarray(self.k) > 0, np.asarray(self.wtotal) / np.maximum(self.k, 1), 1.0)
        return Tally(
            n=self.n + extra, k=self.k + extra, v1=new_v1, v2=self.v2,
            m=np.maximum(self.m, 1), s=s,
            run=np.where(self.last_lead, self.run + extra, extra), last_lead=np.ones_like(np.asarray(self.last_lead), dtype=bool),
            sig=self.sig, signatures=tuple((sg[0] + extra,) + sg[1:] if sg else (extra,) for sg in self.signatures),
            wlead=self.wlead + extra * w, wtotal=self.wtotal + extra * w,
        )

    def extend_streak(self, extra: int) -> Tally:
        """The tally after ``extra`` more samples that repeat the latest answer.

        Exact in what streak rules read (n, k, run); the leader/runner-up counts are
        those of :meth:`project` when the latest answer leads, and are otherwise kept
        (a streak rule does not read them).
        """
        if bool(np.all(self.last_lead)) or not bool(np.any(self.run)):
            return self.project(extra)
        return replace(self, n=self.n + extra, k=self.k + extra, run=self.run + extra)

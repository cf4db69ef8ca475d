"""Model averaging of the difficulty model with and without a never-solved mass.

Whether problems that were never solved in the sample are unsolvable (π0 > 0) or just
hard is the single biggest question for extrapolation, and a few samples per problem
cannot settle it. Rather than betting on one answer, predictions average the two
fitted models with Akaike weights. The goal is prediction, not finding the true
model, and BIC's log(P) penalty grows with the number of problems while the counts
of a few samples barely tell the two models apart, so on large problem sets BIC gave
π0 too little weight: on the three 500-problem MATH files (8 of 80 samples → pass@80,
20 subsamples) Akaike weights cut this model's error from 0.89 / 0.51 / 0.55 to
0.39 / 0.29 / 0.54 points. With many configurations of the same problems the shared never-solved
model usually wins outright; with one configuration and few samples the average
hedges, which measured better than either model alone and better than choosing one
by CV.
"""

from __future__ import annotations

import numpy as np

from inferplan.fitting.curves.base import CurveEstimator, as_rng
from inferplan.fitting.curves.difficulty import BetaBinomialDifficulty


class AveragedDifficulty(CurveEstimator):
    """Akaike-weighted average of ``BetaBinomialDifficulty`` with and without π0.

    Learned: ``never_``, ``plain_`` (the two fitted models), ``weight_never_``.
    Same prediction API as :class:`BetaBinomialDifficulty`.
    """

    def __init__(self, n_starts: int = 2, warm_start: bool = False,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.n_starts = n_starts
        self.warm_start = warm_start
        self.random_state = random_state

    def fit(self, N: np.ndarray, C: np.ndarray) -> AveragedDifficulty:
        N = np.asarray(N)
        N2 = N if N.ndim == 2 else N[:, None]
        if not (self.warm_start and hasattr(self, "never_")):
            self.never_ = BetaBinomialDifficulty(never_solved=True, n_starts=self.n_starts, random_state=self.random_state)
            self.plain_ = BetaBinomialDifficulty(never_solved=False, n_starts=self.n_starts, random_state=self.random_state)
        for m in (self.never_, self.plain_):
            m.set_params(warm_start=self.warm_start)
            m.fit(N, C)
        Q = N2.shape[1]
        aic_never = -2 * self.never_.log_likelihood_ + 2 * (2 * Q + 1)
        aic_plain = -2 * self.plain_.log_likelihood_ + 2 * (2 * Q)
        self.weight_never_ = float(1.0 / (1.0 + np.exp(np.clip((aic_never - aic_plain) / 2, -700, 700))))
        self.solvable_ = self.weight_never_ * self.never_.solvable_ + (1 - self.weight_never_)
        return self

    @property
    def members_(self) -> tuple[BetaBinomialDifficulty, BetaBinomialDifficulty]:
        """The averaged models; an interval that spans their predictions carries the
        uncertainty about π0 that the Akaike weights hide."""
        self._check_fitted()
        return self.never_, self.plain_

    def _mix(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.weight_never_ * a + (1 - self.weight_never_) * b

    def problem_pass_at_k(self, k, config: int = 0) -> np.ndarray:
        self._check_fitted()
        return self._mix(self.never_.problem_pass_at_k(k, config), self.plain_.problem_pass_at_k(k, config))

    def predict_pass_at_k(self, k, config: int = 0) -> np.ndarray:
        return self.problem_pass_at_k(k, config).mean(0)

    def posterior_pass_at_k(self, N, C, k, config: int = 0) -> np.ndarray:
        self._check_fitted()
        return self._mix(self.never_.posterior_pass_at_k(N, C, k, config), self.plain_.posterior_pass_at_k(N, C, k, config))

    def population_pass_at_k(self, k, config: int = 0) -> np.ndarray:
        self._check_fitted()
        return self._mix(self.never_.population_pass_at_k(k, config), self.plain_.population_pass_at_k(k, config))

    def ceiling(self, config: int = 0) -> float:
        self._check_fitted()
        return float(self.solvable_.mean())

    def sample_p(self, rng=None, size: int | None = None) -> np.ndarray:
        """Posterior draws of per-problem p: each draw comes from one model, chosen by weight."""
        self._check_fitted()
        rng = as_rng(rng)
        if size is None:
            return (self.never_ if rng.random() < self.weight_never_ else self.plain_).sample_p(rng)
        a, b = self.never_.sample_p(rng, size), self.plain_.sample_p(rng, size)
        pick = rng.random(int(size)) < self.weight_never_
        return np.where(pick[:, None, None], a, b)

    def params(self, config: int = 0) -> dict:
        self._check_fitted()
        out = {"weight_never": self.weight_never_}
        out.update({f"never.{k}": v for k, v in self.never_.params(config).items()})
        out.update({f"plain.{k}": v for k, v in self.plain_.params(config).items() if k != "pi0"})
        return out

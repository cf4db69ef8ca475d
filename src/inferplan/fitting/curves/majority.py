"""Majority vote beyond the recorded n: Dirichlet-smoothed answer distributions.

maj@k does not rise to 1: as k grows it tends to the fraction of problems whose
correct answer is the *mode* of the model's answer distribution (Best-of-∞), and it
can fall on problems where a wrong answer is the mode. Per problem we take the
posterior Dirichlet(counts + prior) over the answers seen, plus a bucket for "no
answer" and an "unseen" bucket (new, distinct answers that never win a plurality),
and simulate k votes by Monte Carlo (answers beyond the ``max_answers`` most
frequent of a problem join the non-voting mass). The reported MC standard error is ``mc_se_``.
"""

from __future__ import annotations

import numpy as np

from inferplan.fitting.curves.base import CurveEstimator, as_k, as_rng


class MajorityCurve(CurveEstimator):
    """Saturating maj@k model; learned ``alpha_`` (P, A+2) Dirichlet parameters, ``ceiling_``."""

    def __init__(self, prior: float = 0.5, unseen: float = 0.3, n_draws: int = 64, max_answers: int = 8,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.prior = prior
        self.max_answers = max_answers
        self.unseen = unseen
        self.n_draws = n_draws
        self.random_state = random_state

    def fit(self, answer_counts: np.ndarray, answer_correct: np.ndarray, n: np.ndarray) -> "MajorityCurve":
        counts = np.asarray(answer_counts, dtype=np.float64)
        correct = np.asarray(answer_correct, dtype=bool)
        n = np.asarray(n, dtype=np.float64)
        # Keep each problem's most frequent answers; rarer ones become non-voting mass
        # (they cannot win a plurality at the large k this model is for), which keeps
        # the simulation small.
        order = np.argsort(-counts, axis=1, kind="stable")[:, : int(self.max_answers)]
        counts = np.take_along_axis(counts, order, 1)
        correct = np.take_along_axis(correct, order, 1)
        seen = counts > 0
        alpha = np.where(seen, counts + self.prior, 0.0)
        abstain = np.maximum(n - counts.sum(1), 0.0) + (self.prior if self.prior > 0 else 0.0)
        self.alpha_ = np.column_stack([alpha, abstain, np.full(n.size, self.unseen)])
        self.correct_ = np.column_stack([correct & seen, np.zeros((n.size, 2), dtype=bool)])
        self.voting_ = np.column_stack([seen, np.zeros((n.size, 2), dtype=bool)])
        rng = as_rng(self.random_state)
        self.pi_ = self._draw_pi(rng)
        # Ceiling: chance that the correct answer is the mode of the true distribution.
        mode = self._winner(self.pi_, rng)
        self.problem_ceiling_ = np.take_along_axis(self.correct_[:, None, :], mode[..., None], 2)[..., 0].mean(1)
        self.ceiling_ = float(self.problem_ceiling_.mean())
        self._rng = rng
        return self

    def _draw_pi(self, rng: np.random.Generator) -> np.ndarray:
        """(P, D, A+2) Dirichlet draws via normalised gammas (zero-weight columns stay 0)."""
        g = rng.standard_gamma(np.broadcast_to(self.alpha_[:, None, :], (self.alpha_.shape[0], int(self.n_draws), self.alpha_.shape[1])))
        return g / g.sum(-1, keepdims=True)

    def _winner(self, votes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Index of the plurality voting answer; uniform tie-break by sub-unit noise."""
        score = np.where(self.voting_[:, None, :], votes, -np.inf)
        if np.issubdtype(votes.dtype, np.integer):
            score = score + rng.random(score.shape) * 0.5
        return score.argmax(-1)

    def problem_maj_at_k(self, k: int | np.ndarray) -> np.ndarray:
        """(P, len(k)) Monte Carlo maj@k per problem under its posterior answer distribution."""
        self._check_fitted()
        out = []
        for kk in as_k(k).astype(np.int64):
            votes = self._rng.multinomial(int(kk), self.pi_)
            win = self._winner(votes, self._rng)
            ok = np.take_along_axis(self.correct_[:, None, :], win[..., None], 2)[..., 0]
            anyvote = (votes * self.voting_[:, None, :]).sum(-1) > 0
            out.append((ok & anyvote).mean(1))
        return np.column_stack(out)

    def predict_maj_at_k(self, k: int | np.ndarray) -> np.ndarray:
        """Expected maj@k of the fitted problems."""
        return self.problem_maj_at_k(k).mean(0)

    @property
    def mc_se_(self) -> float:
        """Upper bound on the Monte Carlo standard error of a predicted maj@k."""
        return float(0.5 / np.sqrt(self.n_draws * self.alpha_.shape[0]))

    def params(self) -> dict:
        return {"prior": self.prior, "unseen": self.unseen, "ceiling": self.ceiling_, "draws": self.n_draws}

"""Curve families for extrapolating accuracy beyond the recorded number of samples.

- :class:`BetaBinomialDifficulty` — per-problem difficulty (preferred for pass@k);
- :class:`PowerLawCurve` — the exponentiated power law of Large Language Monkeys;
- :class:`MajorityCurve` — saturating maj@k from Dirichlet-smoothed answer distributions.
"""

from inferplan.planner.curves.base import CurveEstimator
from inferplan.planner.curves.difficulty import BetaBinomialDifficulty, log_betabinom
from inferplan.planner.curves.majority import MajorityCurve
from inferplan.planner.curves.powerlaw import PowerLawCurve

__all__ = ["CurveEstimator", "BetaBinomialDifficulty", "PowerLawCurve", "MajorityCurve", "log_betabinom"]

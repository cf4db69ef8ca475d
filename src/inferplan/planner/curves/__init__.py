"""Curve families for extrapolating accuracy beyond the recorded number of samples.

- :class:`BetaBinomialDifficulty` — per-problem difficulty (preferred for pass@k);
- :class:`AveragedDifficulty` — Akaike-weighted average of it with and without π0 (default);
- :class:`PowerLawCurve` — the exponentiated power law of Large Language Monkeys;
- :class:`MajorityCurve` — saturating maj@k from Dirichlet-smoothed answer distributions.
"""

from inferplan.planner.curves.averaged import AveragedDifficulty
from inferplan.planner.curves.base import CurveEstimator
from inferplan.planner.curves.difficulty import BetaBinomialDifficulty, log_betabinom
from inferplan.planner.curves.majority import MajorityCurve
from inferplan.planner.curves.powerlaw import PowerLawCurve

__all__ = ["AveragedDifficulty", "CurveEstimator", "BetaBinomialDifficulty", "PowerLawCurve", "MajorityCurve", "log_betabinom"]

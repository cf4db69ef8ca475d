"""Curve families for extrapolating accuracy beyond the recorded number of samples.

- :class:`BetaBinomialDifficulty` — per-problem difficulty (preferred for pass@k);
- :class:`AveragedDifficulty` — Akaike-weighted average of it with and without π0 (default);
- :class:`PowerLawCurve` — the exponentiated power law of Large Language Monkeys;
- :class:`MajorityCurve` — maj@k, exact at k ≤ n, beyond from a fitted answer model (difficulty prior for the correct answer, Pitman–Yor for the wrong ones).
"""

from inferplan.fitting.curves.averaged import AveragedDifficulty
from inferplan.fitting.curves.base import CurveEstimator
from inferplan.fitting.curves.difficulty import BetaBinomialDifficulty, log_betabinom
from inferplan.fitting.curves.majority import MajorityCurve
from inferplan.fitting.curves.powerlaw import PowerLawCurve

__all__ = ["AveragedDifficulty", "CurveEstimator", "BetaBinomialDifficulty", "PowerLawCurve", "MajorityCurve", "log_betabinom"]

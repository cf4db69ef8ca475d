"""`profile show` numbers: the one pass@k and Jeffreys interval (``inferplan.stats``), against closed forms."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
from scipy.stats import beta

from inferplan.profiling.summary import summarize
from inferplan.stats.estimators import pass_at_k
from inferplan.stats.intervals import beta_interval


def jeffreys(mean: float, n_eff: int) -> tuple[float, float]:
    low, high = beta_interval(mean * n_eff, n_eff, 0.95)
    return float(low), float(high)


def test_pass_at_k_matches_the_binomial_formula():
    n = np.array([16, 16, 10, 5])
    c = np.array([0, 3, 10, 4])
    for k in (1, 2, 5):
        want = [1 - comb(ni - ci, k) / comb(ni, k) for ni, ci in zip(n, c)]
        assert pass_at_k(n, c, k) == pytest.approx(want)
    assert pass_at_k(n, c, 1) == pytest.approx(c / n)
    # A mix draws a different k of each configuration: k broadcasts against n.
    ks = np.array([0, 2, 5, 5])
    want = [1 - comb(ni - ci, ki) / comb(ni, ki) for ni, ci, ki in zip(n, c, ks)]
    assert pass_at_k(n, c, ks) == pytest.approx(want)


def test_jeffreys_interval():
    low, high = jeffreys(0.3, 40)
    assert (low, high) == pytest.approx((beta.ppf(0.025, 12.5, 28.5), beta.ppf(0.975, 12.5, 28.5)))
    assert jeffreys(0.0, 10)[0] == 0.0 and jeffreys(1.0, 10)[1] == 1.0
    assert jeffreys(0.5, 400)[1] - jeffreys(0.5, 400)[0] < jeffreys(0.5, 40)[1] - jeffreys(0.5, 40)[0]


def test_summary_of_an_imported_profile(imported):
    s = summarize(imported("osca", "osca/bigcodebench_hard.json"))
    assert s.problems == 148 and s.samples == 444_000 and s.split == {"train": 70, "test": 78}
    assert [c.k for c in s.configs] == [300] * 10 and s.tokens_per_second is None
    c = s.configs[0]
    assert c.pass1_low < c.pass1 < c.pass1_high and c.pass_k > c.pass1

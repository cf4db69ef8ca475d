"""How the CLI prints a share with its interval."""

from __future__ import annotations

from inferplan.cli.render.common import fmt_interval


def test_a_share_rounding_below_zero_prints_as_zero_not_minus_zero() -> None:
    """A model that never passes has pass@k 0 up to float error (−1e-17 from the estimator's
    subtraction); `fit A B` printed it as "-0.0%" (HumanEval, SmolLM2-135M at k = 4)."""
    assert fmt_interval(-1e-17, 0.0, 0.047) == "0.0% [0.0, 4.7]"
    assert fmt_interval(-1e-12, -1e-12, 0.5, pct=False) == "0.000 [0.000, 0.500]"
    assert fmt_interval(0.634, 0.581, 0.68) == "63.4% [58.1, 68.0]"

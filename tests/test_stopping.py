"""Stopping rules: closed-form values, guards, lookahead, and online ≡ replay."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from inferplan.errors import InputError
from inferplan.policy.rule_math import bayes_factor, mode_probability
from inferplan.policy.stopping import RULES, Tally, make_rule, parse_rule
from inferplan.replay.tally import tally_prefixes


def tally(v1: int, v2: int = 0, m: int | None = None) -> Tally:
    n = v1 + v2
    return Tally(n=n, k=n, v1=v1, v2=v2, m=m if m is not None else (v1 > 0) + (v2 > 0), s=0.0, run=1, last_lead=True)


@pytest.mark.parametrize("v1,v2,expected", [(5, 0, 0.984), (4, 0, 0.969), (9, 1, 0.994)])
def test_beta_closed_form(v1: int, v2: int, expected: float) -> None:
    assert float(make_rule("beta").statistic(tally(v1, v2))) == pytest.approx(expected, abs=5e-4)


def test_beta_votes_needed_at_095() -> None:
    rule = make_rule("beta", (0.95,), max_samples=100)
    needed = []
    for v2 in range(6):
        v1 = v2
        while not rule.satisfied(tally(v1, v2)):
            v1 += 1
        needed.append(v1)
    assert needed == [4, 6, 8, 9, 11, 12]


def _mode_probability_by_definition(counts: list[int], unseen: float) -> float:
    """P(first modal Dirichlet component is the largest), integrated by adaptive quadrature."""
    a = np.array(sorted(counts, reverse=True), dtype=float) + 1.0
    rest = np.append(a[1:], 1.0 + unseen)

    def f(x: float) -> float:
        return math.exp((a[0] - 1) * math.log(x) - x - special.gammaln(a[0])) * float(np.prod(special.gammainc(rest, x)))

    return integrate.quad(f, 0, np.inf, limit=400, epsabs=1e-12, epsrel=1e-10)[0]


def test_bayes_factor_is_best_of_infinity_definition() -> None:
    """400 random count vectors: (m + 1)·P/(1 − P) with every answer and the unseen bucket."""
    rng = np.random.default_rng(7)
    for _ in range(400):
        m = int(rng.integers(1, 7))
        counts = sorted((int(c) for c in rng.integers(1, 30, size=m)), reverse=True)
        p = _mode_probability_by_definition(counts, 0.3)
        assert mode_probability(tuple(counts), 0.3) == pytest.approx(p, abs=1e-6)
        if p < 0.999:  # beyond, 1/(1 − P) magnifies the integral's last digits (and B ≤ 1000 in practice)
            assert bayes_factor(tuple(counts), 0.3) == pytest.approx((m + 1) * p / (1 - p), rel=1e-5)


def test_bayes_factor_minimal_case_and_monte_carlo() -> None:
    # The audit's case: counts 3, 1, 1 give 7.86 < 10 in Best-of-∞'s code, so the rule continues.
    assert bayes_factor((3, 1, 1), 0.3) == pytest.approx(7.861, abs=1e-3)
    state = make_rule("bayes", (10,)).start()
    for answer in "ABAAC":
        state.add(answer)
    assert state.statistic == pytest.approx(7.861, abs=1e-3) and not state.done
    # Independent check by sampling the Dirichlet itself.
    draws = np.random.default_rng(0).dirichlet([4, 2, 2, 1.3], size=400_000)
    assert mode_probability((3, 1, 1), 0.3) == pytest.approx((draws.argmax(1) == 0).mean(), abs=3e-3)
    # One answer seen competes with the unseen bucket only (no phantom runner-up).
    draws = np.random.default_rng(1).dirichlet([5, 1.3], size=200_000)
    assert mode_probability((4,), 0.3) == pytest.approx((draws[:, 0] > draws[:, 1]).mean(), abs=3e-3)


def test_guards_and_fixed() -> None:
    r = make_rule("beta", (0.5,), min_samples=3, max_samples=5)
    assert not r.done(tally(2)) and r.done(tally(3))  # min guard holds a unanimous pair
    assert r.done(Tally(n=5, k=5, v1=2, v2=2, m=3, s=0.0, run=1, last_lead=False))  # max guard
    f = make_rule("fixed", (4,))
    assert (f.min_samples, f.max_samples) == (4, 4)


def test_esc_stops_only_at_window_ends() -> None:
    st = make_rule("esc", (3,), max_samples=40).start()
    for a in "aaab":
        st.add(a)
    assert not st.done
    for a in "bb":
        st.add(a)
    assert st.done and st.n == 6


def test_lookahead_is_the_fewest_samples_that_could_stop() -> None:
    st = make_rule("beta", (0.95,), max_samples=40).start()
    for a in "aab":
        st.add(a)
    assert st.lookahead() == 4  # 6 votes for "a" against 1 → 3 + 4 samples
    esc = make_rule("esc", (5,), max_samples=40).start()
    for a in "aaa":
        esc.add(a)
    assert esc.lookahead() == 2
    capped = make_rule("beta", (0.99,), max_samples=5).start()
    capped.add("a")
    assert capped.lookahead() == 4  # cannot stop earlier than the max guard


def test_parse_rule_syntax_and_errors() -> None:
    r = parse_rule("beta:0.9,min=2,max=30")
    assert (r.name, r.params, r.min_samples, r.max_samples) == ("beta", (0.9,), 2, 30)
    assert parse_rule("esc", max_samples=12).max_samples == 12
    assert parse_rule(r.spec) == r  # the spec round-trips
    for bad in ("nope:1", "beta:x", "beta:1.5", "esc:2,foo=3", "beta:0.9,max=0"):
        with pytest.raises(InputError):
            parse_rule(bad)


@pytest.mark.parametrize("name", RULES)
def test_online_and_replay_agree(name: str) -> None:
    """The runner's one-at-a-time state and the vectorised replay stop at the same sample."""
    rng = np.random.default_rng(7)
    rows, length = 300, 30
    # Mixtures from near-unanimous to scattered, with some abstentions (−1).
    probs = rng.dirichlet(np.full(5, 0.4), size=rows)
    ans = np.array([rng.choice(5, size=length, p=p) for p in probs])
    ans[rng.random(ans.shape) < 0.05] = -1
    t, _, _ = tally_prefixes(ans, np.zeros((rows, 5), bool), np.random.default_rng(0))
    rule = make_rule(name, max_samples=length)
    done = np.asarray(rule.done(t))
    stop_replay = np.argmax(done, axis=1)
    for i in range(rows):
        st = rule.start()
        for j, a in enumerate(ans[i]):
            st.add(None if a < 0 else str(a))
            assert st.done == bool(done[i, j]), (name, i, j)
            if st.done:
                assert j == stop_replay[i]
                break


def test_esc_lookahead_is_minimal() -> None:
    # After AAAABBB, esc:5 checks the window 6–10 next: three more B's already fill it.
    rule = parse_rule("esc:5", max_samples=40)
    for seq, want in (("AAAABBB", 3), ("AAAAAB", 4), ("AAA", 2), ("AAAAB", 5)):
        state = rule.start()
        for a in seq:
            state.add(a)
        assert state.lookahead() == want, seq
        # And it is sufficient: that many copies of the latest answer do stop the rule.
        for _ in range(want):
            state.add(seq[-1])
        assert state.done, seq


def _consol_decision(name: str, first: int, second: int, params: tuple[float, ...]) -> tuple[float, bool]:
    """ConSol's test (``confidence_models.py``) from its definition: (log ratio, stop)."""
    if name == "sprt":
        alpha, p1, beta = params
        log_lr = first * math.log(p1 / 0.5) + second * math.log((1 - p1) / 0.5)
    else:
        alpha, c, beta = params
        norm = 1 - special.betainc(c, c, 0.5)
        log_h1 = (special.betaln(first + c, second + c) + math.log(1 - special.betainc(first + c, second + c, 0.5))
                  - special.betaln(c, c) - math.log(norm))
        log_lr = log_h1 - (first + second) * math.log(0.5)
    return log_lr, log_lr >= math.log((1 - beta) / alpha) or log_lr <= math.log(beta / (1 - alpha))


@pytest.mark.parametrize("name,params", [("sprt", (0.05, 0.5001, 1 - 0.05 - 0.000024)),
                                         ("msprt", (0.05, 1e6, 1 - 0.05 - 0.00006)),
                                         ("msprt", (0.05, 1.0, 0.3)), ("sprt", (0.1, 0.8, 0.2))])
def test_consol_parameterisations_match_its_definition(name: str, params: tuple[float, ...]) -> None:
    rule = make_rule(name, params, max_samples=256)
    for second in range(0, 25):
        for first in range(max(second, 1), 60):
            want_stat, want_stop = _consol_decision(name, first, second, params)
            got = tally(first, second)
            assert float(rule.statistic(got)) == pytest.approx(want_stat, rel=1e-6, abs=1e-12)
            assert bool(rule.satisfied(got)) == want_stop, (first, second)


def test_consol_sprt_is_lead_by_three() -> None:
    rule = make_rule("sprt", (0.05, 0.5001, 1 - 0.05 - 0.000024), max_samples=256)
    needed = []
    for v2 in range(6):
        v1 = max(v2, 1)
        while not rule.satisfied(tally(v1, v2)):
            v1 += 1
        needed.append(v1)
    assert needed == [3, 4, 5, 6, 7, 8]


def test_consol_defaults_are_in_the_planner_grid() -> None:
    from inferplan.planner.candidates import CONSOL_MSPRT, CONSOL_SPRT, RULE_GRID

    assert CONSOL_SPRT in RULE_GRID["sprt"] and CONSOL_MSPRT in RULE_GRID["msprt"]


def test_the_confidence_weighted_stop_online_and_in_replay_agree() -> None:
    """wshare with real weights: the runner's state fed (answer, confidence) stops where replay does."""
    rng = np.random.default_rng(11)
    rows, length = 200, 20
    probs = rng.dirichlet(np.full(4, 0.5), size=rows)
    ans = np.array([rng.choice(4, size=length, p=p) for p in probs])
    ans[rng.random(ans.shape) < 0.05] = -1
    conf = -rng.exponential(1.0, ans.shape)
    conf[rng.random(ans.shape) < 0.05] = np.nan  # unknown: weight 1
    t, _, _ = tally_prefixes(ans, np.zeros((rows, 4), bool), np.random.default_rng(0), conf)
    rule = make_rule("wshare", (0.8,), max_samples=length)
    done = np.asarray(rule.done(t))
    for i in range(rows):
        st = rule.start()
        for j, a in enumerate(ans[i]):
            st.add(None if a < 0 else str(a), None if np.isnan(conf[i, j]) else float(conf[i, j]))
            assert st.done == bool(done[i, j]), (i, j)
            if st.done:
                break
    # By hand: answers a, a, b with weights e^-0.1, e^-0.1, e^-3 → share 2e^-0.1 / (2e^-0.1 + e^-3).
    st = rule.start()
    for a, c in (("a", -0.1), ("a", -0.1), ("b", -3.0)):
        st.add(a, c)
    share = 2 * math.exp(-0.1) / (2 * math.exp(-0.1) + math.exp(-3.0))
    assert st.statistic == pytest.approx(share) and st.done

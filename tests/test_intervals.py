"""Intervals: Jeffreys posteriors, seeded bootstraps over problems, and coverage at 30 problems."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import betaln
from scipy.stats import beta as beta_dist

from inferplan.stats.estimators import maj_at_k, pass_at_k
from inferplan.stats.intervals import beta_interval, bootstrap_diff, bootstrap_mean, bootstrap_stat


def test_jeffreys_interval() -> None:
    low, high = beta_interval(np.array([0, 7, 20]), np.array([20, 20, 20]), level=0.9)
    assert low[0] == 0.0 and high[2] == 1.0
    assert low[1] == pytest.approx(beta_dist.ppf(0.05, 7.5, 13.5))
    assert high[1] == pytest.approx(beta_dist.ppf(0.95, 7.5, 13.5))
    assert low[1] < 7 / 20 < high[1]


def test_bootstrap_seeded_and_paired() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((30, 3))
    assert np.array_equal(np.stack(bootstrap_mean(a, random_state=5)), np.stack(bootstrap_mean(a, random_state=5)))
    low, high = bootstrap_mean(a)
    assert np.all(low < a.mean(0)) and np.all(a.mean(0) < high)
    # Paired differences: a constant shift has a (near) zero-width interval.
    diff, dlo, dhi = bootstrap_diff(a[:, 0] + 0.1, a[:, 0])
    assert diff == pytest.approx(0.1) and dlo == pytest.approx(0.1) and dhi == pytest.approx(0.1)
    lo, hi = bootstrap_stat(lambda idx: a[idx].mean(0), 30, n_boot=100)
    assert lo.shape == (3,) and np.all(lo < hi)


def _true_maj(probs: np.ndarray, k: int) -> np.ndarray:
    """Exact maj@k per problem for k draws WITH replacement from ``probs`` (P, m); answer 0
    is the correct one; uniform tie-break. Enumerates all vote vectors summing to k."""
    from scipy.special import gammaln

    m = probs.shape[1]
    combos = np.array([c for c in itertools.product(range(k + 1), repeat=m) if sum(c) == k])
    top = combos.max(1)
    share = (combos[:, 0] == top) / (combos == top[:, None]).sum(1)
    logcoef = gammaln(k + 1) - gammaln(combos + 1).sum(1)
    with np.errstate(divide="ignore"):
        logp = combos @ np.log(probs).T  # (combos, P)
    return (np.exp(logcoef[:, None] + logp) * share[:, None]).sum(0)


def test_bootstrap_intervals_cover_at_30_problems() -> None:
    """Nominal 90% intervals of observed pass@k and maj@k contain the truth ≥ 85% of the time.

    Estimand: the expected curve of the 30 problems' true rates — mean_i 1 − (1 − p_i)^k and
    mean_i maj@k under problem i's true answer distribution (4 answers, one correct). The
    problem bootstrap also covers between-problem variation, so it is conservative for
    this estimand; for the population curve (a fresh problem set) it is checked as well.
    """
    rng = np.random.default_rng(2024)
    reps, P, n, ks = 200, 30, 16, (1, 4, 16)
    hit_pass = np.zeros(len(ks))
    hit_maj = np.zeros(len(ks))
    hit_pop = np.zeros(len(ks))
    # Superpopulation estimand (a new set of problems from the same source), closed form.
    pop_truth = np.array([1 - np.exp(betaln(0.7, 0.7 + k) - betaln(0.7, 0.7)) for k in ks])
    for r in range(reps):
        p_right = rng.beta(0.7, 0.7, size=P)
        wrong = rng.dirichlet([1.0, 1.0, 1.0], size=P) * (1 - p_right)[:, None]
        probs = np.column_stack([p_right, wrong])  # answer 0 is the correct one
        draws = np.stack([rng.multinomial(n, pr) for pr in probs])
        c = draws[:, 0]
        mask = np.zeros_like(draws, dtype=bool)
        mask[:, 0] = True
        per_pass = np.column_stack([pass_at_k(np.full(P, n), c, k) for k in ks])
        per_maj = np.column_stack([maj_at_k(draws, mask, k) for k in (1, 3, 8)])
        lo, hi = bootstrap_mean(per_pass, 0.9, 1000, r)
        truth = np.array([(1 - (1 - p_right) ** k).mean() for k in ks])
        hit_pass += (lo <= truth) & (truth <= hi)
        hit_pop += (lo <= pop_truth) & (pop_truth <= hi)
        lo, hi = bootstrap_mean(per_maj, 0.9, 1000, r)
        truth = np.array([_true_maj(probs, k).mean() for k in (1, 3, 8)])
        hit_maj += (lo <= truth) & (truth <= hi)
    cover_pass, cover_maj, cover_pop = hit_pass / reps, hit_maj / reps, hit_pop / reps
    print(f"coverage pass@{ks}: {cover_pass}, maj@(1, 3, 8): {cover_maj}, population pass@k: {cover_pop}")
    assert np.all(cover_pop >= 0.85), cover_pop  # the harder estimand
    assert np.all(cover_pass >= 0.85), cover_pass
    assert np.all(cover_maj >= 0.85), cover_maj


def _width(interval) -> float:
    return float(interval[1]) - float(interval[0])


def test_no_interval_collapses_on_a_five_problem_all_correct_profile(tmp_path, fake_backend) -> None:
    """fit, plan, simulate and evaluate on 5 problems that all succeed: no "100% [100, 100]" anywhere."""
    import json

    import inferplan as ip

    tasks = tmp_path / "sums.jsonl"
    tasks.write_text("".join(json.dumps({"id": f"s{a}", "question": f"What is {a} + {a + 3}?", "answer": str(2 * a + 3)})
                             + "\n" for a in range(1, 6)))
    prof = ip.profile("fake", tasks=str(tasks), temperatures=(0.0,), samples=4,
                      out=tmp_path / "p.jsonl", backend=fake_backend)  # temperature 0: the fake is always right
    assert prof.table.correct.all() and len(prof.table.problems) == 5
    report = ip.fit(prof, at=(8, 32))
    for config in report.configs:
        for by_k in (*config.observed_intervals.values(), *config.predicted_intervals.values()):
            assert all(_width(iv) > 0.01 for iv in by_k.values()), by_k
    result = ip.plan(prof, budget=4, unit="samples")
    assert result.plan.prediction.accuracy.point == 1.0 and _width(result.plan.prediction.accuracy.interval) > 0.1
    sim = ip.simulate(prof, plan=result.plan)
    assert _width(sim.estimate.accuracy.interval) > 0.1
    assert all(_width(b.accuracy.interval) > 0.1 for b in sim.baselines)
    check = ip.evaluate(result.plan, model=fake_backend)
    assert check.realised.accuracy.point == 1.0 and _width(check.realised.accuracy.interval) > 0.1


@pytest.mark.parametrize("problems", [5, 10, 20, 40])
def test_replayed_accuracy_intervals_cover_at_their_nominal_rate(problems: int) -> None:
    """Simulated profiles: each problem's success rate drawn from a spread of difficulties (many easy,
    so that small sets often succeed throughout), its replayed accuracy a 0/1 outcome; the 95%
    interval of the mean covers the population's mean at least at its nominal rate, never with
    zero width — the plain percentile bootstrap does not (it collapses on all-correct sets)."""
    from inferplan.replay.traces import Outcome, estimate

    rng = np.random.default_rng(problems)
    truth = 0.9  # Beta(4.5, 0.5): mean 0.9, many problems almost always right
    covered = plain = 0
    trials = 400
    for t in range(trials):
        p = rng.beta(4.5, 0.5, size=problems)
        y = (rng.random(problems) < p).astype(float)
        e = estimate(Outcome(y, np.ones(problems), np.ones(problems)), boot=400, seed=t)
        assert _width(e.accuracy.interval) > 0
        covered += e.accuracy.interval[0] <= truth <= e.accuracy.interval[1]
        lo, hi = bootstrap_mean(y, 0.95, 400, t)
        plain += lo <= truth <= hi
    assert covered / trials >= 0.93, covered / trials
    assert plain / trials < covered / trials  # what the widening buys

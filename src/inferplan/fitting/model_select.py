"""Choose the pass@k curve family by cross-validation over problems.

The question a family must answer is "what will k ≫ n samples give?", so the CV
score measures exactly that, within the user's own data: draw m = n/4 of each
problem's samples (hypergeometric on the counts, seeded), fit on the training folds'
subsamples, predict pass@n of the held-out problems from their subsamples, and
compare with the unbiased pass@n of their full data. Whole problems move between
folds (samples of a problem are correlated); all configurations of a problem stay
together so the shared never-solved indicator is honest too. The first family is the
preferred one; another replaces it only when better by more than one standard error.

The pass@k curve ``fit`` reports does not bet on the winner alone, though: it averages
the two families with the share that minimises the same CV's squared error of the
averaged prediction (least-squares stacking, ``Selection.weights``). The families fail on different sets (the
difficulty model where the never-solved mass is misjudged, the power law where the
curve bends), often in opposite directions, and where one is consistently better the
CV gives the other no share. The share is the CV's own, learned on the user's data;
``benchmarks/bench_fit.py`` measures what it does on the published sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.fitting.curves import AveragedDifficulty, BetaBinomialDifficulty, PowerLawCurve
from inferplan.stats.estimators import pass_at_k

FAMILIES = ("beta-binomial-averaged", "power-law")
DIFFICULTY_FAMILIES = ("beta-binomial-averaged", "beta-binomial+never", "beta-binomial")


def make_difficulty(family: str, random_state: int | None = 0,
                    n_starts: int = 2) -> BetaBinomialDifficulty | AveragedDifficulty:
    """The difficulty-model estimator behind a family name."""
    if family not in DIFFICULTY_FAMILIES:
        raise ValueError(f"not a difficulty family: {family}")
    if family == "beta-binomial-averaged":
        return AveragedDifficulty(n_starts=n_starts, random_state=random_state)
    return BetaBinomialDifficulty(never_solved=family.endswith("+never"), n_starts=n_starts, random_state=random_state)


def powerlaw_points(n: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observed (k, pass@k) at k = 1, 2, 4, … up to min n — the power law's training data."""
    top = int(n.min())
    ks = np.unique(np.concatenate([2 ** np.arange(int(np.log2(max(top, 1))) + 1), [top]]))
    return ks, np.array([pass_at_k(n, c, int(k)).mean() for k in ks])


def powerlaw_fit(n: np.ndarray, c: np.ndarray) -> PowerLawCurve:
    ks, cov = powerlaw_points(n, c)
    return PowerLawCurve().fit(ks, cov)


@dataclass(frozen=True)
class Selection:
    """CV errors (accuracy points, mean abs) per family, the winner, and the stacked shares."""

    family: str
    errors: dict[str, float]
    subsample: int
    target_k: int
    weights: dict[str, float] | None = None  # each family's share of the reported pass@k curve

    def __post_init__(self) -> None:
        if self.weights is None:  # no CV ran: the chosen family alone
            object.__setattr__(self, "weights", {self.family: 1.0})


def _predict(family: str, N: np.ndarray, C: np.ndarray, train: np.ndarray, test: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Predicted pass@k per config for the test problems (mean over them)."""
    Q = N.shape[1]
    if family == "power-law":
        out = []
        for q in range(Q):
            ok = N[test, q] > 0
            out.append(float(powerlaw_fit(N[test, q][ok], C[test, q][ok]).predict_pass_at_k(k)[0]))
        return np.array(out)
    model = make_difficulty(family, seed, n_starts=1).fit(N[train], C[train])
    out = []
    for q in range(Q):
        has = N[test, q] > 0  # problems without samples of this config say nothing about it
        out.append(model.posterior_pass_at_k(N[test], C[test], k, q)[has].mean())
    return np.array(out)


def cv_predictions(N: np.ndarray, C: np.ndarray, families: tuple[str, ...] = FAMILIES, n_folds: int = 5,
                   n_repeats: int = 1, fraction: float = 0.25,
                   random_state: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The extrapolation CV's raw material: per fold (rows) and configuration (columns), each
    family's predicted pass@n of the held-out problems from m = n·fraction samples, and the truth."""
    P, n_full = N.shape[0], int(N[N > 0].min())
    m = max(2, int(n_full * fraction))
    rng = np.random.default_rng(random_state)
    folds = max(2, min(n_folds, P // 4))
    preds: dict[str, list[np.ndarray]] = {f: [] for f in families}
    truths: list[np.ndarray] = []
    for _ in range(n_repeats):
        Cs = np.where(N > 0, rng.hypergeometric(C, np.maximum(N - C, 0), np.minimum(m, N).clip(min=0)), 0)
        Ns = np.minimum(m, N)
        order = rng.permutation(P)
        for f_i in range(folds):
            test = order[f_i::folds]
            train = np.setdiff1d(order, test)
            truths.append(np.array([pass_at_k(N[test, q][N[test, q] > 0], C[test, q][N[test, q] > 0], n_full).mean()
                                    for q in range(N.shape[1])]))
            for fam in families:
                preds[fam].append(_predict(fam, Ns, Cs, train, test, n_full, random_state))
    return {f: np.array(v) for f, v in preds.items()}, np.array(truths)


def select_family(N: np.ndarray, C: np.ndarray, families: tuple[str, ...] = FAMILIES, n_folds: int = 5,
                  n_repeats: int = 1, fraction: float = 0.25, random_state: int = 0) -> Selection:
    """Cross-validated extrapolation error of each family on (problems × configs) counts."""
    N = np.asarray(N, dtype=np.int64)
    C = np.asarray(C, dtype=np.int64)
    if N.ndim == 1:
        N, C = N[:, None], C[:, None]
    n_full = int(N[N > 0].min())
    m = max(2, int(n_full * fraction))
    if N.shape[0] < 8 or n_full < 4 or len(families) == 1:  # nothing to choose, or too little data: the first
        return Selection(families[0], {f: float("nan") for f in families}, m, n_full)
    preds, truth = cv_predictions(N, C, families, n_folds, n_repeats, fraction, random_state)
    errors = {f: np.abs(p - truth).mean(1) * 100 for f, p in preds.items()}  # per fold
    mean = {f: float(v.mean()) for f, v in errors.items()}
    # One-standard-error rule: the preferred family (listed first) stays unless another
    # beats it on paired folds by more than the folds' own noise — CV on a few samples
    # per problem is noisy, and needless switches cost more than they gain.
    chosen = families[0]
    for fam in families[1:]:
        d = errors[fam] - errors[chosen]
        if d.mean() + d.std(ddof=1) / np.sqrt(d.size) < 0:
            chosen = fam
    return Selection(chosen, mean, m, n_full, stacked(preds[families[0]], preds[families[1]], truth, families))


def stacked(a: np.ndarray, b: np.ndarray, truth: np.ndarray, families: tuple[str, ...]) -> dict[str, float]:
    """Least-squares stacking of two families' CV predictions (Breiman 1996): the share s in
    [0, 1] of the second minimising Σ ((1 − s)·a + s·b − truth)²; the first alone on no spread."""
    spread = float(np.sum((b - a) ** 2))
    share = float(np.clip(np.sum((b - a) * (truth - a)) / spread, 0.0, 1.0)) if spread > 0 else 0.0
    return {families[0]: 1.0 - share, families[1]: share}

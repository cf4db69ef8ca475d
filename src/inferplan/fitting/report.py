"""The core of `inferplan fit`: observed curves, fitted families, predictions, ceilings.

``fit_profile(table)`` returns a frozen :class:`FitReport`; ``report.to_json()`` is the
``inferplan.fit/1`` document. Per configuration it holds the exact observed pass@k,
maj@k (when answers are known) and best-of-k (when logprobs are) at k = 1, 2, 4, … ≤ n
with bootstrap-over-problems intervals, and predictions at the requested k from the
family chosen by cross-validation, with intervals from refitting on problem
resamples (so hyperparameter uncertainty is included), plus ceiling and saturation k.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from inferplan._util.files import check_replaceable, json_format_is, write_atomically
from inferplan._util.jsonl import dumps
from inferplan.errors import InputError, InvalidValue
from inferplan.fitting.curves import MajorityCurve
from inferplan.fitting.model_select import FAMILIES, Selection, select_family
from inferplan.fitting.pass_curves import averaged_pass_curves, curve_grid
from inferplan.profiles.counts import config_counts, count_matrix
from inferplan.profiles.store import SampleTable, check_format
from inferplan.replay.budget_curve import BudgetRow, budget_curve, censored_line, censored_share
from inferplan.stats.estimators import best_of_k, maj_at_k, pass_at_k
from inferplan.stats.intervals import bootstrap_mean, widen_to_binomial

FORMAT = "inferplan.fit/1"
FEW_SUCCESSES = 5  # below this many correct samples, an extrapolated curve is mostly its prior
Curve = dict[int, float]


@dataclass(frozen=True)
class ConfigFit:
    """Curves of one configuration. Interval dicts map k → (low, high)."""

    config: str
    problems: int
    samples: tuple[int, int]  # min and max samples per problem
    observed: dict[str, Curve]
    observed_intervals: dict[str, dict[int, tuple[float, float]]]
    predicted: dict[str, Curve]
    predicted_intervals: dict[str, dict[int, tuple[float, float]]]
    family: str
    params: dict
    ceiling: dict[str, float]  # "pass@k" / "maj@k" → limit as k → ∞
    saturation_k: dict[str, int | None]  # first k whose next sample gains < threshold
    curve: dict[str, Curve] = field(default_factory=dict)  # fitted curve on a k grid (for plots)
    successes: int = 0  # correct samples the fit saw

    def to_json(self) -> dict:
        def iv(d: dict) -> dict:
            return {m: {str(k): [lo, hi] for k, (lo, hi) in c.items()} for m, c in d.items()}

        def cv(d: dict) -> dict:
            return {m: {str(k): v for k, v in c.items()} for m, c in d.items()}

        return {
            "config": self.config, "problems": self.problems, "samples": list(self.samples),
            "observed": {**cv(self.observed), "intervals": iv(self.observed_intervals)},
            "predicted": {**cv(self.predicted), "intervals": iv(self.predicted_intervals)},
            "family": self.family, "params": self.params, "ceiling": self.ceiling,
            "saturation_k": self.saturation_k, "curve": cv(self.curve),
        }


@dataclass(frozen=True)
class FitReport:
    """Everything `inferplan fit` shows; ``to_json()`` gives the inferplan.fit/1 document."""

    profile: str | None
    at: tuple[int, ...]
    level: float
    seed: int
    threshold: float
    selection: Selection
    configs: tuple[ConfigFit, ...]
    notes: tuple[str, ...] = field(default=())
    # Accuracy per sample against the thinking budget, plain cap and forced answer, where the
    # profile recorded answer-now probes (replay/budget_curve.py); () otherwise.
    budgets: tuple[BudgetRow, ...] = field(default=())

    def to_json(self) -> dict:
        return {
            "format": FORMAT, "profile": self.profile, "at": list(self.at), "level": self.level,
            "seed": self.seed, "saturation_threshold": self.threshold,
            "model_selection": {"chosen": self.selection.family, "cv_error_points": self.selection.errors,
                                "pass_curve_weights": self.selection.weights,
                                "subsample": self.selection.subsample, "target_k": self.selection.target_k},
            "configs": [c.to_json() for c in self.configs], "notes": list(self.notes),
            "thinking_budgets": [asdict(r) for r in self.budgets],
        }


def observed_ks(n_min: int) -> list[int]:
    """k = 1, 2, 4, … below n_min, then n_min itself."""
    ks = [1 << i for i in range(int(np.log2(max(n_min, 1))) + 1) if (1 << i) < n_min]
    return ks + [n_min]


def _interval_dict(ks: list[int], low: np.ndarray, high: np.ndarray) -> dict[int, tuple[float, float]]:
    """k → (low, high), clipped to [0, 1]: accuracies are proportions (a Monte Carlo
    margin must not push a bound below 0 or above 1)."""
    low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
    return {k: (float(lo), float(hi)) for k, lo, hi in zip(ks, low, high)}


def fit_profile(table: SampleTable, at: tuple[int, ...] = (32, 100, 300), *, level: float = 0.9, seed: int = 0,
                threshold: float = 1e-3, n_boot: int = 1000, n_boot_fit: int = 25,
                families: tuple[str, ...] = FAMILIES, profile: str | None = None) -> FitReport:
    """Fit accuracy-vs-samples curves for every configuration of a profile."""
    if table.n_samples == 0:
        raise InputError("profile has no samples to fit")
    at = tuple(sorted({int(k) for k in at}))
    if not at or at[0] < 1:
        raise InvalidValue("at", "{name} values must be positive integers")
    _, N, C = count_matrix(table)
    rows = N.sum(1) > 0
    N, C = N[rows], C[rows]
    if N.shape[0] < 2:
        raise InputError("need at least 2 problems with samples to fit curves")
    if int(N[N > 0].min()) < 2:
        raise InputError("need at least 2 samples per problem and configuration to fit curves")
    selection = select_family(N, C, families, random_state=seed)
    at_arr = np.array(at, dtype=np.float64)
    grid = curve_grid(max(max(at), int(N.max())))
    weights = selection.weights
    fits = averaged_pass_curves(weights, N, C, at_arr, level, seed, n_boot_fit, threshold, grid)
    family = " + ".join(f for f, w in weights.items() if w > 0)
    configs = []
    for q in range(N.shape[1]):
        cc = config_counts(table, q)
        if cc.n.size == 0:
            continue
        configs.append(_config_fit(cc, fits[q], at, level, seed, n_boot, threshold, family, grid))
    notes = [f"{c.config}: the extrapolation rests on {c.successes} correct sample(s); treat its predictions "
             "as rough" for c in configs if c.successes < FEW_SUCCESSES]
    if table.split():
        notes.append("profile has a train/test split: choose configurations on train, report on test (plan does)")
    if line := censored_line(censored_share(table)):
        notes.append(line)
    return FitReport(profile, at, level, seed, threshold, selection, tuple(configs), tuple(notes),
                     budget_curve(table))


def _config_fit(cc, fit: dict, at: tuple[int, ...], level: float, seed: int, n_boot: int, threshold: float,
                family: str, grid: np.ndarray) -> ConfigFit:
    n_min = int(cc.n.min())
    ks = observed_ks(n_min)
    observed, obs_iv, predicted, pred_iv = {}, {}, {}, {}
    per = np.column_stack([pass_at_k(cc.n, cc.c, k) for k in ks])
    observed["pass@k"] = dict(zip(ks, map(float, per.mean(0))))
    obs_iv["pass@k"] = _interval_dict(ks, *bootstrap_mean(per, level, n_boot, seed))
    predicted["pass@k"] = dict(zip(at, map(float, fit["pred"])))
    # Keep the interval around the estimate even where refits all land on one side.
    pred_iv["pass@k"] = _interval_dict(list(at), np.minimum(fit["low"], fit["pred"]), np.maximum(fit["high"], fit["pred"]))
    ceiling = {"pass@k": fit["ceiling"]}
    sat = {"pass@k": fit["saturation"]}
    params = {"pass@k": fit["params"]}
    curves = {"pass@k": dict(zip(map(int, grid), map(float, fit["grid"])))}
    if cc.has_answers:
        per = np.column_stack([maj_at_k(cc.answer_counts, cc.answer_correct, k, cc.n) for k in ks])
        observed["maj@k"] = dict(zip(ks, map(float, per.mean(0))))
        obs_iv["maj@k"] = _interval_dict(ks, *bootstrap_mean(per, level, n_boot, seed))
        maj = MajorityCurve(random_state=seed).fit(cc.answer_counts, cc.answer_correct, cc.n)
        mean, low, high = maj.predict_with_interval(np.array(at), level)  # one simulation for both
        predicted["maj@k"] = dict(zip(at, map(float, mean)))
        pred_iv["maj@k"] = _interval_dict(list(at), low, high)
        ceiling["maj@k"] = maj.ceiling_
        # One coarse geometric grid serves the plotted curve and the saturation search
        # (each point is a Monte Carlo simulation of every problem).
        sat_grid = np.unique(np.geomspace(1, max(4096, int(grid[-1])), 14).astype(np.int64))
        curve = maj.predict_maj_at_k(sat_grid)
        gain = np.diff(curve) / np.diff(sat_grid)  # per extra sample between grid points
        hit = np.flatnonzero(gain < threshold)
        sat["maj@k"] = int(sat_grid[hit[0]]) if hit.size else None
        on_grid = np.arange(sat_grid.size) <= np.searchsorted(sat_grid, grid[-1])  # reach the largest --at
        curves["maj@k"] = dict(zip(map(int, sat_grid[on_grid]), map(float, curve[on_grid])))
        params["maj@k"] = maj.params()
    if cc.scores is not None:
        per = np.array([[best_of_k(s, y, k) for k in ks] for s, y in zip(cc.scores, cc.correct_flags)])
        observed["best@k"] = dict(zip(ks, map(float, per.mean(0))))
        obs_iv["best@k"] = _interval_dict(ks, *bootstrap_mean(per, level, n_boot, seed))
    problems = int(cc.n.size)
    # Observed rows bootstrap over problems: at least what that many problems can say. Predicted
    # rows are for these problems' own curve: at least what their recorded samples can say.
    obs_iv = _never_a_point(obs_iv, observed, problems, level)
    pred_iv = _never_a_point(pred_iv, predicted, problems * n_min, level)
    return ConfigFit(cc.config, problems, (n_min, int(cc.n.max())), observed, obs_iv, predicted, pred_iv,
                     family, params, ceiling, sat, curves, int(cc.c.sum()))


def _never_a_point(intervals: dict, values: dict, trials: int, level: float) -> dict:
    """Each curve's intervals widened to at least the binomial interval of ``trials`` (problems, or
    recorded samples), so that 15 problems that all succeed at k = 5 do not read "100% [100, 100]"."""
    out = {}
    for curve, by_k in intervals.items():
        out[curve] = {}
        for k, (low, high) in by_k.items():
            lo, hi = widen_to_binomial(low, high, values[curve][k], trials, level)
            out[curve][k] = (float(lo), float(hi))
    return out


_IS_REPORT = json_format_is("inferplan.fit")  # inferplan.fit/1, and inferplan.fit-models/1 (fit A B …)


def check_report_output(path: Path | str, *, force: bool = False) -> None:
    """Refuse (exit 7) a path holding a file that is not a fit report, unless ``force``: call before fitting."""
    check_replaceable(Path(path), _IS_REPORT, "fit report", force)


def save_report(report, path: Path | str, *, force: bool = False) -> Path:
    """Write the report's document (a FitReport's inferplan.fit/1, a ModelsFit's inferplan.fit-models/1)
    atomically, over nothing but another fit report unless ``force``."""
    return write_atomically(path, dumps(report.to_json()) + "\n", owned=_IS_REPORT, what="fit report", force=force)


def read_family(path: Path | str) -> str:
    """The curve family a saved fit report (``fit -o``) chose."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not a readable fit report ({type(e).__name__})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a fit report")
    check_format(data.get("format"), "inferplan.fit", 1, path)
    family = (data.get("model_selection") or {}).get("chosen")
    if family not in FAMILIES:
        raise InputError(f"{path}: the fit report names no known curve family ({family!r})")
    return family

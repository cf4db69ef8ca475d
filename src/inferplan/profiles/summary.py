"""``inferplan profile show``: what a profile holds, per configuration, with intervals.

pass@1 is the mean over problems of each problem's fraction correct. Samples of
one problem are correlated, so its interval is a Jeffreys Beta posterior whose
effective sample size is the number of problems (not of samples): Beta(0.5 + P·m,
0.5 + P·(1 − m)) for P problems and mean m — honest for small calibration sets,
where CLT intervals under-cover. pass@k at the largest complete k uses the
unbiased estimator of Chen et al.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import beta

from inferplan.profiles.store import load_profile

LEVEL = 0.95


@dataclass(frozen=True)
class ConfigSummary:
    """One configuration of a profile."""

    name: str
    temperature: float | None
    samples: int
    min_per_problem: int  # fewest samples any problem has (0 if a problem has none)
    max_per_problem: int
    pass1: float
    pass1_low: float
    pass1_high: float
    k: int  # largest k every problem supports
    pass_k: float  # pass@k at that k (nan if k = 0)
    answered: float  # fraction of samples with an extracted answer
    tokens_median: float | None
    tokens_p90: float | None


@dataclass(frozen=True)
class ProfileSummary:
    """The whole profile."""

    path: Path
    model: str
    backend: str
    tasks: str
    problems: int
    samples: int
    configs: tuple[ConfigSummary, ...]
    split: dict | None  # {"train": n, "test": n} if the profile has a split
    tokens_per_second: float | None  # completion tokens per wall second while profiling
    samples_per_second: float | None
    level: float = LEVEL


def pass_at_k(n: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """Unbiased pass@k per problem: 1 − C(n−c, k)/C(n, k), as a product (no overflow)."""
    out = np.ones(len(n))
    for i, (ni, ci) in enumerate(zip(n, c)):
        if ni - ci >= k:
            out[i] = 1.0 - np.prod(1.0 - k / np.arange(ni - ci + 1, ni + 1))
    return out


def jeffreys(mean: float, n_eff: int, level: float = LEVEL) -> tuple[float, float]:
    """Equal-tailed Jeffreys interval for a proportion ``mean`` observed over ``n_eff`` units."""
    a, b = 0.5 + n_eff * mean, 0.5 + n_eff * (1 - mean)
    tail = (1 - level) / 2
    # At 0 or 1 the equal-tailed bound would exclude the estimate itself (Brown, Cai &
    # DasGupta's modification: the interval then reaches the boundary).
    low = 0.0 if mean <= 0 else float(beta.ppf(tail, a, b))
    high = 1.0 if mean >= 1 else float(beta.ppf(1 - tail, a, b))
    return low, high


def _throughput(path: Path) -> tuple[float | None, float | None]:
    """Tokens and samples per second, from each run's records ("run", "t" written by profile)."""
    import json

    runs: dict[int, list[float]] = {}
    with path.open("r", encoding="utf-8") as f:
        next(f, None)
        for line in f:
            if '"run"' not in line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line
            r = runs.setdefault(int(rec["run"]), [0.0, 0.0, 0.0])
            r[0] = max(r[0], float(rec.get("t") or 0.0))
            r[1] += float(rec.get("completion_tokens") or 0)
            r[2] += 1
    wall = sum(r[0] for r in runs.values())
    if wall <= 0:
        return None, None
    return sum(r[1] for r in runs.values()) / wall, sum(r[2] for r in runs.values()) / wall


def summarize(path: Path | str) -> ProfileSummary:
    """Summarise the profile at ``path``."""
    path = Path(path)
    tab = load_profile(path)
    P = len(tab.problems)
    configs = []
    for j, cfg in enumerate(tab.configs):
        sel = tab.config == j
        n = np.bincount(tab.problem[sel], minlength=P)
        c = np.bincount(tab.problem[sel], weights=tab.correct[sel], minlength=P)
        has = n > 0
        frac = np.where(has, c / np.maximum(n, 1), 0.0)
        m = float(frac[has].mean()) if has.any() else float("nan")
        low, high = jeffreys(m, int(has.sum())) if has.any() else (float("nan"), float("nan"))
        k = int(n[has].min()) if has.any() else 0
        pk = float(pass_at_k(n[has], c[has], k).mean()) if k > 0 else float("nan")
        toks = tab.completion_tokens[sel]
        toks = toks[~np.isnan(toks)]
        configs.append(ConfigSummary(
            name=cfg.name, temperature=cfg.temperature, samples=int(sel.sum()),
            min_per_problem=int(n.min()) if P else 0, max_per_problem=int(n.max()) if P else 0,
            pass1=m, pass1_low=low, pass1_high=high, k=k, pass_k=pk,
            answered=float((tab.answer[sel] >= 0).mean()) if sel.any() else float("nan"),
            tokens_median=float(np.median(toks)) if toks.size else None,
            tokens_p90=float(np.percentile(toks, 90)) if toks.size else None,
        ))
    tps, sps = _throughput(path)
    split = tab.split()
    h = tab.header
    model = h.get("model") or {}
    return ProfileSummary(
        path=path, model=str(model.get("spec") or model.get("name") or model.get("path") or "?"),
        backend=str((h.get("backend") or {}).get("name", "?")),
        tasks=str((h.get("tasks") or {}).get("source") or (h.get("tasks") or {}).get("name") or "?"),
        problems=P, samples=tab.n_samples, configs=tuple(configs),
        split={k: len(v) for k, v in split.items()} if split else None,
        tokens_per_second=tps, samples_per_second=sps,
    )

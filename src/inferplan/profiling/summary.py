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

from inferplan.profiles.store import load_profile
from inferplan.profiles.throughput import measured_throughput
from inferplan.replay.budget_curve import BudgetRow, budget_curve, probe_overhead
from inferplan.stats.estimators import pass_at_k
from inferplan.stats.intervals import beta_interval

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
    truncated: float = 0.0  # fraction cut off at the token cap (their "answer" is from unfinished text)


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
    duplicates: int = 0  # records repeating an earlier (problem, config, index): written twice by an old version
    truncated_policy: str = "grade"  # how cut-off samples were read: "grade" (answered) or "abstain"
    # A profile with forced answers (--probes): accuracy per sample against the thinking budget.
    budgets: tuple[BudgetRow, ...] = ()
    probe_overhead: float | None = None  # its tokens over its samples' own (the probes' price)


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
        # Samples of one problem are correlated: the effective size is the number of problems.
        low, high = (map(float, beta_interval(m * has.sum(), has.sum(), LEVEL)) if has.any()
                     else (float("nan"), float("nan")))
        k = int(n[has].min()) if has.any() else 0
        pk = float(pass_at_k(n[has], c[has], k).mean()) if k > 0 else float("nan")
        toks = tab.completion_tokens[sel]
        toks = toks[~np.isnan(toks)]
        configs.append(ConfigSummary(
            name=cfg.name, temperature=cfg.temperature, samples=int(sel.sum()),
            min_per_problem=int(n.min()) if P else 0, max_per_problem=int(n.max()) if P else 0,
            pass1=m, pass1_low=low, pass1_high=high, k=k, pass_k=pk,
            answered=float((tab.answer[sel] >= 0).mean()) if sel.any() else float("nan"),
            truncated=float(tab.truncated[sel].mean()) if sel.any() and tab.truncated is not None else 0.0,
            tokens_median=float(np.median(toks)) if toks.size else None,
            tokens_p90=float(np.percentile(toks, 90)) if toks.size else None,
        ))
    speed = measured_throughput(path)
    split = tab.split()
    h = tab.header
    return ProfileSummary(
        path=path, model=h.model_label, backend=str(h.backend.get("name", "?")),
        tasks=str(h.tasks.get("source") or h.tasks.get("name") or "?"),
        problems=P, samples=tab.n_samples, configs=tuple(configs),
        split={k: len(v) for k, v in split.items()} if split else None,
        tokens_per_second=speed.tokens_per_second, samples_per_second=speed.samples_per_second,
        duplicates=tab.duplicates, truncated_policy=h.truncated,
        budgets=budget_curve(tab), probe_overhead=probe_overhead(tab),
    )

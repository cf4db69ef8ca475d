"""Adaptive against uniform profiling, by replay on every Best-of-∞ file (issue 16).

A profile is drawn from a published file's recorded samples (``RecordedSource``: each
problem's 80 samples in a seeded random order), under a budget of completion tokens
equal to N samples per problem at the file's mean length, by one of:

- ``uniform@16`` and ``uniform@8`` — every problem one more sample, level by level, until
  the budget is spent (what ``profile --budget B`` does with ``--strategy uniform``);
- ``adaptive@8`` — ``profile --strategy adaptive`` at the budget of uniform@8.

Each profile is then used as a user would, and scored against the whole file:

- ``fit``: pass@80 and maj@80 predicted from the profile (``inferplan fit``'s pass curve
  and MajorityCurve), against the values the file's 80 samples give;
- ``plan``: ``inferplan plan`` at a token budget of 0.4× fixed-16 majority (per query,
  from the whole file: the same budget for every profile), then the chosen plan replayed
  on the WHOLE file's held-out problems (the planner's seeded split): its accuracy and
  tokens per query are what the plan really delivers.

Nothing here is tuned per file: the allocation's constants (``profiles/allocation.py``)
are fixed for every file and seed.

Run: python3 benchmarks/bench_profile.py [--data ../shared/data] [--seeds 10] [--files PATTERN]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from inferplan import api
from inferplan.fitting.curves import MajorityCurve
from inferplan.fitting.model_select import select_family
from inferplan.fitting.pass_curves import averaged_pass_curves, curve_grid
from inferplan.importers.published import import_published
from inferplan.planner.plan_file import save_plan
from inferplan.profiles.counts import config_counts, count_matrix
from inferplan.profiles.store import ProfileWriter, load_profile
from inferplan.profiling.adaptive import run_adaptive, run_uniform
from inferplan.profiling.adaptive_allocation import Ledger
from inferplan.profiling.budget import ProfileBudget
from inferplan.profiling.recorded_source import RecordedSource
from inferplan.stats.estimators import maj_at_k, pass_at_k

K = 80
CAP = 32  # the most samples adaptive gives one problem (``--samples`` under --strategy adaptive)
STRATEGIES = (("uniform@16", "uniform", 16), ("uniform@8", "uniform", 8), ("adaptive@8", "adaptive", 8))


def draw_profile(full: Path, out: Path, strategy: str, per_problem: float, seed: int) -> tuple[Path, float]:
    """A profile of ``full``'s samples by ``strategy`` at ``per_problem`` samples' worth of tokens."""
    src = RecordedSource(full, seed)
    tokens = np.mean([float(r["completion_tokens"]) for order in src._order.values() for r in order])
    budget = ProfileBudget(per_problem * tokens * len(src.problems), "tokens")
    ledger = Ledger(src.problems, src.configs)
    records: list[dict] = []

    def sampler(wanted, over, more=None):
        for rec in src(wanted, over, more):
            records.append(rec)
            yield rec

    run = run_uniform if strategy == "uniform" else run_adaptive
    run(ledger, budget, sampler, cap=CAP, spent=lambda: ledger.tokens)
    header = {k: v for k, v in src.header.items() if k != "format"}
    with ProfileWriter(out, header, force=True) as w:
        w.write(records)
    return out, ledger.tokens / budget.amount


def fit_errors(profile: Path, truth: dict, seed: int) -> tuple[float, float]:
    """|pass@80 − truth|, |maj@80 − truth| (points) of what ``fit`` predicts from ``profile``."""
    table = load_profile(profile)
    _, N, C = count_matrix(table)
    weights = select_family(N, C, random_state=seed).weights
    fit = averaged_pass_curves(weights, N, C, np.array([float(K)]), 0.9, seed, 5, 1e-3, curve_grid(K))[0]
    cc = config_counts(table, 0)
    maj = MajorityCurve(random_state=seed).fit(cc.answer_counts, cc.answer_correct, cc.n).predict_maj_at_k([K])[0]
    return 100 * abs(float(fit["pred"][0]) - truth["pass"]), 100 * abs(float(maj) - truth["maj"])


def plan_outcome(profile: Path, full: Path, budget: float, work: Path) -> dict:
    """Held-out accuracy (with its interval) and tokens/query of the plan made from ``profile``,
    replayed on the whole file."""
    res = api.plan(profile, budget=budget, unit="tokens")
    path = save_plan(res.plan, work / "plan.json")
    est = api.simulate(full, plan=path).estimate
    return dict(acc=est.accuracy.point, low=est.accuracy.interval[0], high=est.accuracy.interval[1], cost=est.cost.point, rule=res.plan.rule.spec)


def bench_file(path: Path, work: Path, seeds: int) -> dict:
    full = import_published("boinf", path, work / (path.stem + ".jsonl"), force=True)
    table = load_profile(full)
    _, N, C = count_matrix(table)
    cc = config_counts(table, 0)
    truth = {"pass": float(pass_at_k(N[:, 0], C[:, 0], K).mean()),
             "maj": float(maj_at_k(cc.answer_counts, cc.answer_correct, K, cc.n).mean())}
    f16 = next(b for b in api.simulate(full, rule="fixed:16", unit="tokens", holdout=0.5).baselines
               if b.name == "fixed-16")
    budget = 0.4 * f16.cost.point
    out = defaultdict(list)
    for seed in range(seeds):
        for name, strategy, per in STRATEGIES:
            prof, used = draw_profile(full, work / f"{name}.jsonl", strategy, per, 1000 + seed)
            e_pass, e_maj = fit_errors(prof, truth, seed)
            o = plan_outcome(prof, full, budget, work)
            out[name].append({**o, "cost": o["cost"] / f16.cost.point, "used": used, "pass_err": e_pass, "maj_err": e_maj})
    return out


def report(results: dict[str, dict]) -> None:
    print("\nper file (mean over seeds): fit errors in points; plan = held-out accuracy % @ tokens × fixed-16")
    print(f"{'file':<44}" + "".join(f"{n:>34}" for n, _, _ in STRATEGIES))
    agg = defaultdict(lambda: defaultdict(list))
    for f, res in results.items():
        cells = []
        for name, _, _ in STRATEGIES:
            rows = res[name]
            m = {k: float(np.mean([r[k] for r in rows]))
                 for k in ("pass_err", "maj_err", "acc", "low", "high", "cost", "used")}
            for k, v in m.items():
                agg[name][k].append(v)
            cells.append(f"p{m['pass_err']:5.2f} m{m['maj_err']:5.2f} {100 * m['acc']:6.2f}%@{m['cost']:.3f}")
        print(f"{f:<44}" + "".join(f"{c:>34}" for c in cells))
    print("\noverall (mean over files):")
    for name, _, _ in STRATEGIES:
        a = agg[name]
        print(f"  {name:<11} pass@80 err {np.mean(a['pass_err']):.2f}  maj@80 err {np.mean(a['maj_err']):.2f}  "
              f"plan acc {100 * np.mean(a['acc']):.2f}%  tokens {np.mean(a['cost']):.3f}× fixed-16  "
              f"profile spent {np.mean(a['used']):.3f}× its budget")
    u16, ad = agg["uniform@16"], agg["adaptive@8"]
    inside = [lo <= a <= hi for a, lo, hi in zip(ad["acc"], u16["low"], u16["high"])]
    cheaper = [a <= u * 1.05 for a, u in zip(ad["cost"], u16["cost"])]
    print(f"  adaptive@8's plan inside uniform@16's plan interval (95% bootstrap over problems, mean bounds over seeds): "
          f"{sum(inside)}/{len(inside)} files; accuracy adaptive@8 − uniform@16: mean "
          f"{100 * np.mean(np.subtract(ad['acc'], u16['acc'])):+.2f} pt, worst "
          f"{100 * np.min(np.subtract(ad['acc'], u16['acc'])):+.2f} pt")
    print(f"  its tokens/query within 5% of uniform@16's plan or below: {sum(cheaper)}/{len(cheaper)} files; "
          f"mean ratio {np.mean(np.divide(ad['cost'], u16['cost'])):.3f}")
    for what in ("pass_err", "maj_err"):
        lower = sum(a < u for a, u in zip(ad[what], agg["uniform@8"][what]))
        print(f"  {what[:-4]}@80 error, adaptive@8 below uniform@8 (equal tokens): {lower}/{len(ad[what])} files")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--files", default="*", help="glob of Best-of-∞ file stems")
    args = ap.parse_args()
    files = sorted((args.data / "boinf").glob(args.files + ".jsonl"))
    if not files:
        print(f"no Best-of-∞ files under {args.data / 'boinf'}", file=sys.stderr)
        return 1
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            t0 = time.perf_counter()
            results[path.stem] = bench_file(path, Path(tmp), args.seeds)
            print(f"  {path.stem}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

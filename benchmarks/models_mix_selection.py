"""When to take a mix across models: the in-sample guard against a cross-fitted gain (issue 31).

The planner takes the training-best mix in one vote (planner/model_mix.py) where it beats the
plan without a mix on the training problems by more than MIX_SE paired standard errors. That
gain is measured on the problems the mix was searched on, so it flatters the mix, more so where
the training problems are few (AIME: 15) and the models many (seven: many mixes to pick from).
A cross-fitted gain does not: the training problems are cut into two halves, the mix is searched
on one and scored on the other, both ways, over two random cuts, and each problem's score is the
mean over the cuts of the mix searched without it. The decision then weighs what *searching a
mix* buys on problems it did not see.

At each budget of bench_models.py (the best single model's fixed-4, fixed-16, 4× fixed-16 FLOPs)
and 10 seeded splits, the plan without a mix (shipped model choice and cascade guard: a chosen
cascade where there is one, else the chosen model's plan) is weighed against the training-best
mix by rules of the form "in-sample gain > k SE", "cross-fitted gain >
k SE" and both at once; each rule's held-out plan − the best single model's plan (hindsight) is
printed per set, the rule chosen leave-one-set-out, and every rule's cells; then, per cell, how the
training problems' verdict correlates over the splits with the held-out outcome.

    python benchmarks/models_mix_selection.py --data ../shared/data [--seeds 10] [--sets gpqa_diamond]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_models import BUDGETS, SETS, budgets, load
from inferplan.planner.model_mix import best_mix
from inferplan.planner.models import ModelsSearch
from inferplan.planner.selection import beats_by, paired_gain
from inferplan.replay.model_mix import Pool, mix_outcome

CUTS = 2  # random cuts of the training problems into two halves
SCORE_REPS = 128  # draws per problem scoring a half's mix on the other half


def subset(pl: Pool, rows: np.ndarray) -> Pool:
    """The pool's problems ``rows`` only."""
    return Pool(tuple(a[rows] for a in pl.answer), tuple(c[rows] for c in pl.cost),
                tuple(n[rows] for n in pl.count), pl.correct[rows])


def cross_fitted(mixes, budget: float, seed: int) -> np.ndarray | None:
    """Per training problem, the accuracy of the mix searched on the other half of the training
    problems (mean over CUTS random cuts); None where a half fits no mix."""
    train = mixes.train
    P = len(train.correct)
    total, rng = np.zeros(P), np.random.default_rng(1000 + seed)
    for _ in range(CUTS):
        half = rng.permutation(P) % 2
        for h in (0, 1):
            found = best_mix(subset(train, np.flatnonzero(half != h)), mixes.unit, budget, seed)
            if found is None:
                return None
            rows = np.flatnonzero(half == h)
            total[rows] += mix_outcome(subset(train, rows), found[0], reps=SCORE_REPS, seed=seed + 7).accuracy
    return total / CUTS


def run(dataset: str, models, seeds: int) -> list[dict]:
    rows = []
    for seed in range(seeds):
        ms = ModelsSearch(models, unit="flops", seed=seed)
        for label, budget in budgets(ms)[1]:
            r = ms.plan(budget=budget, mix_se=float("inf"))
            row = dict(set=dataset, budget=label, plan=r.heldout.accuracy.point,
                       singles={s.model: s.heldout.accuracy.point for s in r.singles})
            if r.mix is not None:
                ref = r.cascade.train_per_problem if r.kind == "cascade" else r.chosen_single.per_problem
                cf = cross_fitted(ms._mixes, budget, seed)
                row.update(mix=r.mix.heldout.accuracy.point, in_sample=paired_gain(r.mix.train_per_problem, ref),
                           cross=paired_gain(cf, ref) if cf is not None else None)
            rows.append(row)
        print(f"  {dataset} split {seed} done", flush=True)
    return rows


def rules() -> dict:
    """Each rule: (in-sample guard, cross-fitted guard) in paired SEs; None: that test not applied
    (both None: the training-best mix whenever one fits, whatever the training problems say)."""
    out = {"always the mix": (None, None)}
    out |= {f"in-sample > {k:g} SE": (k, None) for k in (0.0, 0.5, 1.0, 2.0)}
    out |= {f"cross-fitted > {k:g} SE": (None, k) for k in (0.0, 0.5, 1.0)}
    out |= {f"in-sample > 1 SE and cross-fitted > {k:g} SE": (1.0, k) for k in (0.0, 0.5)}
    return out


def takes(row: dict, guards) -> bool:
    if "mix" not in row:
        return False
    k_in, k_cf = guards
    if k_in is not None and not beats_by(*row["in_sample"], k_in):
        return False
    return k_cf is None or (row["cross"] is not None and beats_by(*row["cross"], k_cf))


def evidence(rows: list[dict]) -> None:
    """Per set and budget, how the training problems' verdict on the mix (its in-sample and
    cross-fitted gain) correlates over the splits with what it realises on the held-out half
    (mix − the plan without it). The halves of one set are complementary: a split whose training
    half flatters the mix leaves it the harder held-out half."""
    print("\ncorrelation over splits of the training gain with the held-out gain (mix − plan without it):")
    for s in dict.fromkeys(r["set"] for r in rows):
        for b in BUDGETS:
            rs = [r for r in rows if r["set"] == s and r["budget"] == b and "mix" in r and r["cross"] is not None]
            if len(rs) < 3:
                continue
            held = [r["mix"] - r["plan"] for r in rs]
            corr = [np.corrcoef([r[key][0] for r in rs], held)[0, 1] for key in ("in_sample", "cross")]
            print(f"  {s:<13} {b:<12} in-sample {corr[0]:+.2f}   cross-fitted {corr[1]:+.2f}   "
                  f"held-out mix − plan {100 * np.mean(held):+.2f} (mean of {len(rs)} splits)")


def report(rows: list[dict]) -> None:
    sets = list(dict.fromkeys(r["set"] for r in rows))
    cells, mean = {}, {}
    for name, guards in rules().items():
        for s in sets:
            for b in BUDGETS:
                rs = [r for r in rows if r["set"] == s and r["budget"] == b]
                models = [m for m in rs[0]["singles"] if all(m in r["singles"] for r in rs)]
                hind = max(models, key=lambda m: np.mean([r["singles"][m] for r in rs]))
                d = 100 * np.array([(r["mix"] if takes(r, guards) else r["plan"]) - r["singles"][hind] for r in rs])
                se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
                cells[name, s, b] = (d.mean(), se, sum(takes(r, guards) for r in rs), len(rs))
            mean[name, s] = np.mean([cells[name, s, b][0] for b in BUDGETS])
    print("\nplan − best single model's plan (hindsight), points, mean over budgets and splits:")
    print(f"{'rule':<44}" + "".join(f"{s:>14}" for s in sets))
    for name in rules():
        print(f"{name:<44}" + "".join(f"{mean[name, s]:+14.2f}" for s in sets))
    print("\nchosen on the other sets (held out):")
    for s in sets:
        pick = max(rules(), key=lambda n: np.mean([mean[n, o] for o in sets if o != s]))
        print(f"  {s:<13} {pick} ({mean[pick, s]:+.2f})")
    print("\nper cell (fixed-4 / fixed-16 / 4× fixed-16: mean ± SE over splits, mix taken in how many):")
    for name in rules():
        print(f"  {name}")
        for s in sets:
            print(f"    {s:<13} " + " / ".join(f"{m:+.2f} ± {se:.2f} ({k}/{n})"
                                            for m, se, k, n in (cells[name, s, b] for b in BUDGETS)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--sets", default=",".join(SETS))
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.sets.split(","):
            rows += run(dataset, load(args.data, dataset, Path(tmp)), args.seeds)
    report(rows)
    evidence(rows)
    print(f"({time.perf_counter() - t0:.0f} s; held-out half, {args.seeds} seeded splits, FLOPs)")


if __name__ == "__main__":
    main()

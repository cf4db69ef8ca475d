"""Confidence-weighted voting against plain majority, at equal tokens, on held-out problems.

For one profile recorded with windowed confidences (any profile made by this version
on the llama.cpp engine, or from a server that returns logprobs): for N samples drawn
in the same random orders, replay plain majority and DeepConf's conf-vote (the most
confident share η votes, weighted by exp(confidence)) on the held-out half of several
seeded splits. The two read the same samples, so they cost the same tokens; the
difference is paired per problem: each problem's mean over the splits that held it out,
then a bootstrap over those problems (95%).

Then the stopping rules at --max 16: the confidence-weighted consensus stop (``wshare:θ``,
DeepConf-online's) beside Adaptive-Consistency's ``beta`` and the unweighted ``ratio``,
each against fixed-N majority at the same mean tokens (the fixed-N curve interpolated
per problem between the two N around that cost), paired as above.

Run: python3 benchmarks/bench_confidence.py PROFILE [--splits 10] [--ns 2,4,8,16]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from inferplan.policy.aggregate import Aggregation
from inferplan.policy.stopping import make_rule, parse_rule
from inferplan.profiles.store import load_profile
from inferplan.replay.cost import cost_model_for
from inferplan.replay.split import split_problems
from inferplan.replay.traces import densify, evaluate, trace
from inferplan.stats.intervals import bootstrap_diff

KEEPS = (0.9, 0.5, 0.1)


def compare(table, problems: np.ndarray, n: int, seed: int) -> dict:
    """Per-problem held-out accuracy of vote and conf-vote at N, same orders."""
    dense = densify(table, cost_model_for(table, "tokens"), problems)
    mix = np.full(len(table.configs), 1.0 / len(table.configs))
    out = {}
    for name, agg in [("vote", Aggregation("vote"))] + [(f"conf-vote η={k}", Aggregation("conf-vote", keep=k))
                                                       for k in KEEPS]:
        tr = trace(dense, mix, n, agg, reps=20, seed=seed)
        o = evaluate(tr, make_rule("fixed", (n,)))
        out[name] = (o.accuracy, float(o.cost.mean()))
    return out


RULES = ("beta:0.9", "ratio:0.8", "wshare:0.8", "wshare:0.9", "wshare:0.95")
MAX = 16


def rules_at_equal_cost(table, problems: np.ndarray, seed: int) -> dict[str, tuple[np.ndarray, float]]:
    """Per problem: each rule's accuracy minus fixed-N majority's at the rule's mean tokens."""
    dense = densify(table, cost_model_for(table, "tokens"), problems)
    mix = np.full(len(table.configs), 1.0 / len(table.configs))
    tr = trace(dense, mix, MAX, Aggregation("vote"), reps=20, seed=seed)
    fixed = [evaluate(tr, make_rule("fixed", (n,))) for n in range(1, MAX + 1)]
    costs = np.array([o.cost.mean() for o in fixed])
    out = {}
    for spec in RULES:
        o = evaluate(tr, parse_rule(spec, max_samples=MAX))
        c = float(np.clip(o.cost.mean(), costs[0], costs[-1]))
        hi = int(np.searchsorted(costs, c).clip(1, MAX - 1))
        w = (c - costs[hi - 1]) / max(costs[hi] - costs[hi - 1], 1e-12)
        base = (1 - w) * fixed[hi - 1].accuracy + w * fixed[hi].accuracy
        out[spec] = (o.accuracy - base, float(o.cost.mean()))
    return out


def report_rules(table, splits: int) -> None:
    sums: dict[str, np.ndarray] = {}
    costs: dict[str, list[float]] = {}
    held = np.zeros(len(table.problems))
    for seed in range(splits):
        test = split_problems(table, 0.5, seed).test
        held[test] += 1
        for spec, (diff, cost) in rules_at_equal_cost(table, test, seed).items():
            sums.setdefault(spec, np.zeros(len(table.problems)))[test] += diff
            costs.setdefault(spec, []).append(cost)
    seen = held > 0
    print(f"\nstopping rules (max {MAX}) − fixed-N majority at the same tokens, points, paired (95% bootstrap)")
    for spec, s in sums.items():
        d = s[seen] / held[seen]
        mean, lo, hi = bootstrap_diff(d, np.zeros_like(d), 0.95, 2000, 0)
        print(f"  {spec:<12} {np.mean(costs[spec]):>8.1f} tokens  {100 * mean:>+6.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}]")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("profile")
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--ns", default="2,4,8,16")
    args = ap.parse_args()
    table = load_profile(args.profile)
    if table.conf_low is None or np.isnan(table.conf_low).all():
        print(f"{args.profile} records no windowed confidences", file=sys.stderr)
        return 2
    ns = [int(x) for x in args.ns.split(",")]
    print(f"{args.profile}: {len(table.problems)} problems; held-out half of {args.splits} seeded splits, "
          "20 orders each; accuracy in points, conf-vote − vote paired over problems (95% bootstrap)")
    print(f"{'N':>3} {'aggregation':<16} {'accuracy':>9} {'tokens':>8} {'− vote':>8} {'95% CI':>16}  splits won")
    for n in ns:
        rows: dict[str, list] = {}
        sums: dict[str, np.ndarray] = {}
        held = np.zeros(len(table.problems))
        for seed in range(args.splits):
            test = split_problems(table, 0.5, seed).test
            held[test] += 1
            for name, (acc, cost) in compare(table, test, n, seed).items():
                rows.setdefault(name, []).append((acc, cost))
                sums.setdefault(name, np.zeros(len(table.problems)))[test] += acc
        seen = held > 0  # each problem's accuracy averaged over the splits that held it out
        per = {name: s[seen] / held[seen] for name, s in sums.items()}
        vote = per["vote"]
        for name, vals in rows.items():
            acc = per[name]
            cost = np.mean([c for _, c in vals])
            if name == "vote":
                print(f"{n:>3} {name:<16} {100 * acc.mean():>9.2f} {cost:>8.1f}")
                continue
            d, lo, hi = bootstrap_diff(acc, vote, 0.95, 2000, 0)
            won = sum(a.mean() > v.mean() for (a, _), (v, _) in zip(vals, rows["vote"]))
            print(f"{n:>3} {name:<16} {100 * acc.mean():>9.2f} {cost:>8.1f} {100 * d:>+8.2f} "
                  f"[{100 * lo:+.2f}, {100 * hi:+.2f}]  {won}/{args.splits}")
    report_rules(table, args.splits)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

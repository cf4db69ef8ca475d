"""Where a hard total loses against the per-query plan at the plan's own mean spend (issue 33).

For one Best-of-∞ file, split and budget: the planner's per-query plan (on the training half),
replayed by ``simulate`` (its mean spend c per query over its own orders), then the held-out half
in bench_batch's 8 orders, each spent two ways by the within-rule allocator: with no total (each
query ends where the rule ends it) and under the hard total c × n. Per order: the rule's own
spend ÷ the total, both accuracies, how many samples each query got (0, 1, 2, …) and how many
queries the total cut short of what the rule asked.

    python benchmarks/batch_cut_anatomy.py --file ../shared/data/boinf/math500_Phi-4-reasoning.jsonl \\
        [--budget 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from bench_batch import load
from inferplan.api import open_profile, plan, save_plan, simulate
from inferplan.importers.published import import_published
from inferplan.planner.batch import replay_batch
from inferplan.planner.batch_choice import _orders
from inferplan.policy.batch_allocation import BatchAllocator


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, required=True)
    ap.add_argument("--budget", type=float, default=2.0, help="× the mean sample's tokens per query")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    _, _, costs, _, _ = load(args.file)
    prof = import_published("boinf", args.file, work / f"{args.file.stem}.jsonl", force=True)
    res = plan(prof, budget=args.budget * float(np.mean(np.concatenate(costs))), unit="tokens", seed=args.seed)
    path = save_plan(res.plan, work / "plan.json", force=True)
    sim = simulate(prof, plan=path)
    c = float(sim.estimate.cost.point)
    profile = open_profile(prof)
    ids = {pid: i for i, pid in enumerate(profile.table.problems)}
    test = np.array(sorted(ids[x] for x in res.plan.heldout if x in ids))
    rule, total = res.plan.rule, c * len(test)
    print(f"{args.file.stem}, split {args.seed}, {args.budget:g}× the mean sample: plan {rule.spec}, "
          f"{100 * sim.estimate.accuracy.point:.2f}% at {c:,.0f} tokens/query (simulate); total {total:,.0f}")
    print("| order | the rule's spend ÷ total | no total | hard total | samples per query, no total (0, 1, 2, …) "
          "| hard total | queries cut |")
    print("|---|---|---|---|---|---|---|")
    for r, st in enumerate(_orders(profile, res.plan, test, 8, args.seed)):
        def make(n: int) -> BatchAllocator:
            return BatchAllocator(n, rule=rule, max_samples=rule.max_samples, random_state=args.seed)

        free = replay_batch(st, None, make=make, stop_at_full=False)
        hard = replay_batch(st, total, make=make, stop_at_full=False, hard=True)
        print(f"| {r} | {free.cost[-1] / total:.3f} | {100 * free.final_correct.mean():.1f}% | "
              f"{100 * hard.final_correct.mean():.1f}% | {np.bincount(free.samples).tolist()} | "
              f"{np.bincount(hard.samples).tolist()} | {int((hard.samples < free.samples).sum())} |")


if __name__ == "__main__":
    main()

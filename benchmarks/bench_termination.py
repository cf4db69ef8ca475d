"""Online low-confidence termination: replay's prediction against a real run (issue 17).

Given a profile recorded by inferplan (it carries each sample's confidence lows) and a
plan made from it, the plan is rewritten to a fixed rule with termination ``--terminate``
(the replayed prediction on its held-out problems becomes its prediction), then
``evaluate`` runs it with FRESH samples on those problems on the real engine. Printed:
tokens per query predicted and realised (the check: within 15%), the share of samples
cut, and the same rule without termination replayed, for the saving.

Run: python3 benchmarks/bench_termination.py PROFILE PLAN [--rule fixed:8] [--terminate 4:0.5]
     [--model smollm2] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from inferplan import api
from inferplan.backends import BackendSettings
from inferplan.planner.plan_file import Prediction, save_plan
from inferplan.policy.stopping import parse_rule
from inferplan.policy.termination import Termination


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile", type=Path)
    ap.add_argument("plan", type=Path)
    ap.add_argument("--rule", default="fixed:8")
    ap.add_argument("--terminate", default="4:0.5")
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    base = api.load_plan(args.plan)
    rule, term = parse_rule(args.rule), Termination.parse(args.terminate)
    plain_plan = replace(base, rule=rule, terminate=None, prediction=None)
    cut_plan = replace(base, rule=rule, terminate=term, prediction=None)
    plain = api.simulate(args.profile, plan=plain_plan).estimate
    cut = api.simulate(args.profile, plan=cut_plan).estimate
    pred = Prediction.of(cut)
    path = save_plan(replace(cut_plan, prediction=pred, notes=()), args.plan.with_suffix(".terminate.json"), force=True)
    print(f"replayed on {cut.problems} held-out problems: {args.rule} {100 * plain.accuracy.point:.1f}% at "
          f"{plain.cost.point:.0f} {base.unit}/query; with termination {term.spec}: {100 * cut.accuracy.point:.1f}% "
          f"[{100 * cut.accuracy.interval[0]:.1f}, {100 * cut.accuracy.interval[1]:.1f}] at {cut.cost.point:.0f} "
          f"[{cut.cost.interval[0]:.0f}, {cut.cost.interval[1]:.0f}]", flush=True)
    ev = api.evaluate(path, model=args.model, settings=BackendSettings(threads=args.threads))
    tokens = ev.realised.cost.point  # in the plan's unit, as the prediction
    finishes = [f for r in ev.results for f in r.finishes]
    share = sum(f == "lowconf" for f in finishes) / max(len(finishes), 1)
    ratio = tokens / cut.cost.point
    print(f"real run, fresh samples: {100 * ev.realised.accuracy.point:.1f}% at {tokens:.0f} {base.unit}/query "
          f"({ratio:.3f}× the replayed {cut.cost.point:.0f}); {100 * share:.0f}% of samples cut; saving against "
          f"{args.rule} replayed: predicted {1 - cut.cost.point / plain.cost.point:.1%}, realised {1 - tokens / plain.cost.point:.1%}")
    print("CHECK tokens within 15%:", "PASS" if abs(ratio - 1) <= 0.15 else "FAIL")
    return 0


if __name__ == "__main__":
    sys.exit(main())

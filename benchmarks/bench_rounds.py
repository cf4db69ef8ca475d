"""Do parallel rounds earn their place among the token planner's candidates?

Under ``--unit tokens`` the planner also offers one parallel round of K samples read in
finish order (first@K, short-m@K, beta on the finishers), charged every token its
samples generated, the cancelled ones' included, and takes it only when it beats the
sequential choice by more than one paired standard error on the training problems
(``planner/selection.py``). This benchmark measures what that does on problems no
choice was made on: for every Best-of-∞ file, ``--splits`` seeded train/held-out splits
and budgets of 0.1–0.6× fixed-16 majority's training tokens, it plans with rounds
(``parallel=16``) and without (``parallel=1``) and compares the two plans' held-out
accuracy and tokens. Neither the launch sizes (the latency planner's 1, 2, 4, 8, 16)
nor the one-standard-error test (the planner's DEPART_SE) was chosen on these files.
The decision "offer rounds" is also re-made leave-one-file-out and leave-one-model-out
(offer them on a file only where they gained on average on the other files / models).

Run: python3 benchmarks/bench_rounds.py [--data ../shared/data] [--splits 3]  (15 min on 2 cores)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from inferplan.api import open_profile, plan
from inferplan.importers.published import import_published
from inferplan.planner.candidates import Mix, TraceCache
from inferplan.policy.aggregate import Aggregation
from inferplan.policy.stopping import parse_rule
from inferplan.replay.cost import cost_model_for
from inferplan.replay.split import split_problems
from inferplan.replay.traces import densify, evaluate

SHARES = (0.1, 0.15, 0.25, 0.4, 0.6)


def fixed16_tokens(table, seed: int) -> float:
    """Fixed-16 majority's mean tokens per query on the training split (the budget's unit)."""
    dense = densify(table, cost_model_for(table, "tokens"), split_problems(table, 0.5, seed).train)
    tr = TraceCache(dense, Aggregation(), 16, seed).get(Mix((1.0,), "single"), None)
    return float(evaluate(tr, parse_rule("fixed:16", max_samples=80)).cost.mean())


def model_of(stem: str) -> str:
    return stem.split("_", 1)[1].replace("diamond_", "")


def leave_out(gain: dict[str, float], group) -> np.ndarray:
    """Per file: its gain where rounds gained on average on the files outside its group, else 0."""
    out = []
    for f, g in gain.items():
        others = [v for h, v in gain.items() if group(h) != group(f)]
        out.append(g if np.mean(others) > 0 else 0.0)
    return np.array(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--splits", type=int, default=3)
    args = ap.parse_args()
    files = sorted((args.data / "boinf").glob("*.jsonl"))
    if not files:
        print(f"no Best-of-∞ files under {args.data / 'boinf'}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp())
    gain, by_share, chosen = {}, {s: [] for s in SHARES}, 0
    print(f"{'file':42s} {'gain pt':>8s} {'with rounds':>12s} {'without':>8s} {'tokens ×':>9s}  rounds chosen")
    for path in files:
        prof = open_profile(import_published("boinf", path, work / path.name, force=True))
        table = prof.table
        rows = []
        for seed in range(args.splits):
            f16 = fixed16_tokens(table, seed)
            for share in SHARES:
                with_r = plan(prof, budget=share * f16, unit="tokens", seed=seed, parallel=16)
                without = plan(prof, budget=share * f16, unit="tokens", seed=seed, parallel=1)
                d = 100 * (with_r.heldout.accuracy.point - without.heldout.accuracy.point)
                rows.append((d, with_r.heldout.accuracy.point, without.heldout.accuracy.point,
                             with_r.heldout.cost.point / without.heldout.cost.point, with_r.plan.parallel is not None))
                by_share[share].append(d)
        r = np.array(rows, dtype=float)
        gain[path.stem] = float(r[:, 0].mean())
        chosen += int(r[:, 4].sum())
        print(f"{path.stem:42s} {r[:, 0].mean():+8.2f} {100 * r[:, 1].mean():11.2f}% {100 * r[:, 2].mean():7.2f}% "
              f"{r[:, 3].mean():9.3f}  {int(r[:, 4].sum())}/{len(rows)}", flush=True)
    g = np.array(list(gain.values()))
    print(f"\nmean held-out gain {g.mean():+.3f} pt per file; higher on {int((g > 0.05).sum())}, "
          f"lower on {int((g < -0.05).sum())} of {len(g)} files (±0.05 pt); rounds chosen in {chosen} of "
          f"{len(files) * args.splits * len(SHARES)} plans")
    print("by budget (× fixed-16 tokens): " + ", ".join(f"{s:g}: {np.mean(v):+.2f}" for s, v in by_share.items()))
    for name, group in (("leave-one-file-out", lambda f: f), ("leave-one-model-out", model_of)):
        lo = leave_out(gain, group)
        print(f"{name}: {lo.mean():+.3f} pt per file (higher on {int((lo > 0.05).sum())}, lower on "
              f"{int((lo < -0.05).sum())})")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

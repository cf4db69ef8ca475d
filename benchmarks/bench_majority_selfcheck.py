"""maj@80 from 8 samples: the per-profile self-check, scored leave-one-model-out (issue 28).

``MajorityCurve`` moves a share w of the way from a problem's observed maj@n to its answer
model's maj@k. The share is no longer one number learned across files: each fit predicts
its own observed maj@n from random halves of its samples, with the model and without it,
and keeps the prior share (``prior``) only while the halves' upper bound on the confirmed
share (least-squares share + ``z`` × its bootstrap standard error) allows it; the interval
widens by the bias that check shows. This benchmark:

- takes every Best-of-∞ file under ``--data``/boinf, draws ``--samples`` (8) of each
  problem's 80 samples, ``--reps`` (20) seeded subsamples per file, fits on the subsample
  only and predicts maj@``--target`` (80), scored against maj@80 computed exactly from all
  80 samples (mean absolute error, points);
- anchors: ``maj@n`` (the observed maj@8, no extrapolation) and ``plug-in`` (80 draws from
  the subsample's answer frequencies); ``fixed`` is the previous rule (w = 0.75 always);
- chooses the two hyperparameters (``prior`` and ``z``) leave-one-model-out: for the files
  of each model, the grid point with the lowest mean error on the OTHER models' files, and
  reports that ("self-check") per model with its 90% interval coverage; the shipped
  defaults' own figures are printed too.

Run: python3 benchmarks/bench_majority_selfcheck.py [--data ../shared/data] [--reps 20]
     [--samples 8 --target 80]   (about 10 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench_fit import answer_matrix, model_of, plug_in, subsample_rows
from inferplan.fitting.curves import MajorityCurve
from inferplan.fitting.curves.majority import SHRINK
from inferplan.fitting.curves.majority_check import Z, check_errors, spread_half_width
from inferplan.importers.published import import_published
from inferplan.profiles.counts import config_counts
from inferplan.profiles.store import load_profile
from inferplan.stats.estimators import maj_at_k

LEVEL = 0.9
PRIORS = (0.6, 0.7, 0.75, 0.8, 0.9, 1.0)
ZS = (0.5, 1.0, 1.5, 2.0, 3.0)  # the guard is always on: no z large enough to ignore the check


def file_runs(path: Path, tmp: Path, reps: int, m: int, k: int) -> dict:
    """Per subsample: the anchors, the fixed rule, and what any (prior, z) rule needs."""
    table = load_profile(import_published("boinf", path, tmp / path.name))
    cc = config_counts(table, 0)
    truth = float(maj_at_k(cc.answer_counts, cc.answer_correct, k, cc.n).mean())
    runs = []
    for rep in range(reps):
        rng = np.random.default_rng(10_000 + rep)
        rows = subsample_rows(table, m, rng)
        counts, correct, n_sub = answer_matrix(table, rows, cc.answer_correct)
        model = MajorityCurve(random_state=rep).fit(counts, correct, n_sub)
        shipped = model.predict_with_interval([k], LEVEL)
        sim = model._simulated(k)  # the model's own maj@k per problem (w = 1)
        fixed = MajorityCurve(shrink=SHRINK, random_state=rep).fit(counts, correct, n_sub)
        runs.append({"maj@n": model._exact_n.mean(), "plug-in": plug_in(counts, correct, n_sub, rng),
                     "fixed": fixed.predict_with_interval([k], LEVEL), "shipped": shipped,
                     "exact": model._exact_n, "sim": sim, "check": model._check, "sc": model.self_check_,
                     "mc": 0.5 / np.sqrt(model.draws_ * n_sub.size)})
    return {"truth": truth, "runs": runs}


def rule_prediction(run: dict, prior: float, z: float) -> tuple[float, float, float, float]:
    """(prediction, low, high, weight) of the self-check rule with these hyperparameters,
    by the same functions MajorityCurve uses."""
    sc = run["sc"]
    upper = np.inf if sc["confirmed"] is None else sc["confirmed"] + z * sc["confirmed_se"]  # None: no move
    w = float(np.clip(min(prior, upper), 0.0, 1.0))
    per = ((1 - w) * run["exact"] + w * run["sim"])[:, None]
    bias = check_errors(*run["check"], w)[1]
    mean, half = spread_half_width(per, bias, w * run["mc"], LEVEL)
    return float(mean[0]), float(mean[0] - half[0]), float(mean[0] + half[0]), w


def _err(preds, truth: float) -> float:
    return float(np.mean([abs(p - truth) for p in preds]) * 100)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--target", type=int, default=80)
    args = ap.parse_args()
    files = sorted((Path(args.data) / "boinf").glob("*.jsonl"))
    if not files:
        print(f"no Best-of-∞ files under {args.data}/boinf", file=sys.stderr)
        return 1
    t0 = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="bench_majsc_"))
    res = {f.stem: file_runs(f, tmp, args.reps, args.samples, args.target) for f in files}
    names = list(res)
    grid = list(itertools.product(PRIORS, ZS))
    # error of every grid point on every file, then the leave-one-model-out choice
    table = {g: {n: _err([rule_prediction(r, *g)[0] for r in res[n]["runs"]], res[n]["truth"]) for n in names} for g in grid}
    models = defaultdict(list)
    for n in names:
        models[model_of(n)].append(n)
    chosen = {}
    for mdl in models:
        others = [n for n in names if model_of(n) != mdl]
        chosen[mdl] = min(grid, key=lambda g: np.mean([table[g][n] for n in others]))

    rows = {}
    for n in names:
        r, truth = res[n], res[n]["truth"]
        sc = [rule_prediction(x, *chosen[model_of(n)]) for x in r["runs"]]
        rows[n] = {"maj@n": _err([x["maj@n"] for x in r["runs"]], truth),
                   "plug-in": _err([x["plug-in"] for x in r["runs"]], truth),
                   "fixed": _err([x["fixed"][0][0] for x in r["runs"]], truth),
                   "fixed cover": np.mean([x["fixed"][1][0] - 1e-12 <= truth <= x["fixed"][2][0] + 1e-12 for x in r["runs"]]),
                   "self-check": _err([p[0] for p in sc], truth),
                   "cover": np.mean([lo - 1e-12 <= truth <= hi + 1e-12 for _, lo, hi, _ in sc]),
                   "width": np.mean([(hi - lo) * 100 for _, lo, hi, _ in sc]),
                   "weight": np.mean([p[3] for p in sc]),
                   "shipped": _err([x["shipped"][0][0] for x in r["runs"]], truth),
                   "shipped cover": np.mean([x["shipped"][1][0] - 1e-12 <= truth <= x["shipped"][2][0] + 1e-12 for x in r["runs"]])}

    def mean(ns, key):
        return float(np.mean([rows[n][key] for n in ns]))

    def ratio(ns, key):
        return mean(ns, key) / max(min(mean(ns, "maj@n"), mean(ns, "plug-in")), 1e-9)

    M, K = args.samples, args.target
    print(f"maj@{K} from {M} samples per problem, {args.reps} seeded subsamples per file; mean absolute error (points) "
          f"against maj@{K} of all samples; ÷anchor = ÷ the better of maj@n and plug-in on the same files; "
          f"cover = share of {LEVEL:.0%} intervals holding the truth; hyperparameters (prior, z) chosen leave-one-model-out")
    head = f"{'model':<28}{'files':>6}{'maj@n':>8}{'plug-in':>8}{'fixed':>8}{'self-chk':>9}{'÷anchor':>8}{'fixed÷':>8}{'cover':>7}{'width':>7}{'w':>6}  (prior, z)"
    print(head)
    for mdl, ns in sorted(models.items(), key=lambda kv: ratio(kv[1], "self-check")):
        print(f"{mdl:<28}{len(ns):>6}{mean(ns, 'maj@n'):>8.2f}{mean(ns, 'plug-in'):>8.2f}{mean(ns, 'fixed'):>8.2f}"
              f"{mean(ns, 'self-check'):>9.2f}{ratio(ns, 'self-check'):>8.2f}{ratio(ns, 'fixed'):>8.2f}{mean(ns, 'cover'):>7.2f}"
              f"{mean(ns, 'width'):>7.2f}{mean(ns, 'weight'):>6.2f}  {chosen[mdl]}")
    print(f"{'all':<28}{len(names):>6}{mean(names, 'maj@n'):>8.2f}{mean(names, 'plug-in'):>8.2f}{mean(names, 'fixed'):>8.2f}"
          f"{mean(names, 'self-check'):>9.2f}{ratio(names, 'self-check'):>8.2f}{ratio(names, 'fixed'):>8.2f}"
          f"{mean(names, 'cover'):>7.2f}{mean(names, 'width'):>7.2f}{mean(names, 'weight'):>6.2f}")
    per_model = {mdl: ratio(ns, "self-check") for mdl, ns in models.items()}
    best, worst = min(per_model, key=per_model.get), max(per_model, key=per_model.get)
    print(f"\nself-check ÷ better anchor: overall {ratio(names, 'self-check'):.2f} (fixed 0.75: {ratio(names, 'fixed'):.2f}); "
          f"best model {best} {per_model[best]:.2f}, worst {worst} {per_model[worst]:.2f}; "
          f"models above 1.00: {sum(v > 1.0 for v in per_model.values())} of {len(per_model)}; "
          f"cover {mean(names, 'cover'):.2f} (fixed: {mean(names, 'fixed cover'):.2f})")
    print(f"shipped defaults (prior {SHRINK}, z {Z}), as MajorityCurve() predicts: error {mean(names, 'shipped'):.2f}, "
          f"÷ better anchor {ratio(names, 'shipped'):.2f}, worst model "
          f"{max((ratio(ns, 'shipped'), m) for m, ns in models.items())[1]} "
          f"{max(ratio(ns, 'shipped') for ns in models.values()):.2f}, cover {mean(names, 'shipped cover'):.2f}")
    allfit = min(grid, key=lambda g: np.mean([table[g][n] for n in names]))
    print(f"grid point best on all files (not used for the table): {allfit}")
    print(f"per file:\n{'file':<42}{'truth':>7}{'maj@n':>8}{'plug-in':>8}{'fixed':>8}{'self-chk':>9}{'cover':>7}{'w':>6}")
    for n in names:
        r = rows[n]
        print(f"{n:<42}{res[n]['truth'] * 100:>7.1f}{r['maj@n']:>8.2f}{r['plug-in']:>8.2f}{r['fixed']:>8.2f}"
              f"{r['self-check']:>9.2f}{r['cover']:>7.2f}{r['weight']:>6.2f}")
    print(f"total {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

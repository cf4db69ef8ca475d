"""Extrapolation from few samples on real data: inferplan's chosen fit vs two anchors.

For every Best-of-∞ file: draw 8 samples per problem (5 seeded subsamples), predict
pass@80 and compare with the unbiased pass@80 from all recorded samples. For every
OSCA BigCodeBench-Hard configuration on the test problems: draw 10 of the 300
samples, predict pass@100 and pass@300. Errors are mean absolute, in accuracy points.

Methods, all fitted ONLY on the subsample (what a user would have):
- ``bb-ml``  — anchor: plain beta-binomial ML, population formula 1 − B(α, β+k)/B(α, β);
- ``plaw``   — anchor: exponentiated power law exp(a·k^b) fitted to the observed curve;
- ``chosen`` — what `inferplan fit` does: family chosen by extrapolation CV over problems
  (one-standard-error rule) between the difficulty model — beta-binomial with and without
  a never-solved mass shared across configurations, BIC-averaged — and the power law;
  per-problem posterior predictions.

Run: python3 benchmarks/bench_fit.py [--data ../shared/data] [--reps 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from inferplan.planner.curves import BetaBinomialDifficulty
from inferplan.planner.estimators import pass_at_k
from inferplan.planner.model_select import make_difficulty, powerlaw_fit, select_family
from inferplan.planner.problem_counts import count_matrix
from inferplan.profiles.importers import import_published
from inferplan.profiles.store import load_profile


def predict(method: str, N: np.ndarray, C: np.ndarray, ks: list[int], seed: int) -> tuple[np.ndarray, str]:
    """(Q, len(ks)) predicted pass@k per configuration, and the family used."""
    Q = N.shape[1]
    if method == "bb-ml":
        return np.array([BetaBinomialDifficulty(never_solved=False).fit(N[:, q], C[:, q]).population_pass_at_k(ks)
                         for q in range(Q)]), "beta-binomial (population)"
    family = "power-law" if method == "plaw" else select_family(N, C, random_state=seed).family
    if family == "power-law":
        return np.array([powerlaw_fit(N[:, q], C[:, q]).predict_pass_at_k(ks) for q in range(Q)]), family
    model = make_difficulty(family, seed).fit(N, C)
    return np.array([model.predict_pass_at_k(ks, q) for q in range(Q)]), family


METHODS = ("bb-ml", "plaw", "chosen")


def evaluate(N: np.ndarray, C: np.ndarray, m: int, ks: list[int], reps: int) -> tuple[dict, Counter]:
    """Mean abs error (points) per method: (Q, len(ks)) arrays, and chosen families."""
    truth = np.array([[pass_at_k(N[:, q], C[:, q], k).mean() for k in ks] for q in range(N.shape[1])])
    errs = {meth: np.zeros_like(truth) for meth in METHODS}
    fams: Counter = Counter()
    for rep in range(reps):
        rng = np.random.default_rng(rep)
        Cs = rng.hypergeometric(C, N - C, m)
        Ns = np.full_like(N, m)
        for meth in METHODS:
            pred, fam = predict(meth, Ns, Cs, ks, rep)
            errs[meth] += np.abs(pred - truth) * 100 / reps
            if meth == "chosen":
                fams[fam] += 1
    return errs, fams


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    data = Path(args.data)
    if not data.is_dir():
        print(f"no data at {data}", file=sys.stderr)
        return 1
    t0 = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="bench_fit_"))
    print(f"BoInf: 8 samples per problem → pass@80; mean abs error over {args.reps} subsamples (points)")
    print(f"{'file':<42}{'truth':>7}" + "".join(f"{m:>9}" for m in METHODS) + "  chosen family")
    rows = []
    for f in sorted((data / "boinf").glob("*.jsonl")):
        table = load_profile(import_published("boinf", f, tmp / f.name))
        _, N, C = count_matrix(table)
        errs, fams = evaluate(N, C, 8, [80], args.reps)
        rows.append([errs[m][0, 0] for m in METHODS])
        truth = pass_at_k(N[:, 0], C[:, 0], 80).mean() * 100
        print(f"{f.stem:<42}{truth:>7.1f}" + "".join(f"{e:>9.2f}" for e in rows[-1]) + "  " +
              ", ".join(f"{k}×{v}" for k, v in fams.items()))
    print(f"{'mean':<42}{'':>7}" + "".join(f"{e:>9.2f}" for e in np.mean(rows, 0)))
    print()
    table = load_profile(import_published("osca", data / "osca" / "bigcodebench_hard.json", tmp / "osca.jsonl"))
    problems, N, C = count_matrix(table)
    for scope in ("test", "all"):
        keep = set(table.split()["test"]) if scope == "test" else set(problems)
        rows_ix = np.array([p in keep for p in problems])
        test_ix = np.array([p in set(table.split()["test"]) for p in problems])[rows_ix]
        print(f"OSCA BigCodeBench-Hard, fitted on the 10-sample subsample of {scope} problems "
              f"({rows_ix.sum()}), scored on the {test_ix.sum()} test problems: pass@100 / pass@300 error (points)")
        errs, fams = _osca(N[rows_ix], C[rows_ix], test_ix, args.reps)
        print(f"{'config':<14}" + "".join(f"{m + ' k100':>13}{m + ' k300':>13}" for m in METHODS))
        for q, cfg in enumerate(table.configs):
            print(f"{cfg.name:<14}" + "".join(f"{errs[m][q, 0]:>13.2f}{errs[m][q, 1]:>13.2f}" for m in METHODS))
        print(f"{'mean':<14}" + "".join(f"{errs[m][:, 0].mean():>13.2f}{errs[m][:, 1].mean():>13.2f}" for m in METHODS))
        print(f"{'worst':<14}" + "".join(f"{errs[m].max():>26.2f}" for m in METHODS))
        print("chosen family: " + ", ".join(f"{k}×{v}" for k, v in fams.items()))
        print()
    print(f"total {time.time() - t0:.1f} s")
    return 0


def _osca(N: np.ndarray, C: np.ndarray, test: np.ndarray, reps: int) -> tuple[dict, Counter]:
    """Like evaluate(), but fitted on all given problems and scored on the ``test`` rows."""
    ks = [100, 300]
    truth = np.array([[pass_at_k(N[test, q], C[test, q], k).mean() for k in ks] for q in range(N.shape[1])])
    errs = {m: np.zeros_like(truth) for m in METHODS}
    fams: Counter = Counter()
    for rep in range(reps):
        rng = np.random.default_rng(rep)
        Cs = rng.hypergeometric(C, N - C, 10)
        Ns = np.full_like(N, 10)
        for meth in METHODS:
            if meth == "chosen":
                fam = select_family(Ns, Cs, random_state=rep).family
                fams[fam] += 1
                if fam != "power-law":
                    model = make_difficulty(fam, rep).fit(Ns, Cs)
                    pred = np.array([model.problem_pass_at_k(ks, q)[test].mean(0) for q in range(N.shape[1])])
                else:
                    pred = np.array([powerlaw_fit(Ns[test, q], Cs[test, q]).predict_pass_at_k(ks) for q in range(N.shape[1])])
            else:
                pred, _ = predict(meth, Ns[test], Cs[test], ks, rep)
            errs[meth] += np.abs(pred - truth) * 100 / reps
    return errs, fams


if __name__ == "__main__":
    raise SystemExit(main())

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
  a never-solved mass shared across configurations, Akaike-averaged — and the power law;
  per-problem posterior predictions;
- ``covar``  — BoInf only (OSCA records no answers or lengths): CovariateDifficulty, whose
  never-solved probability and prior mean depend on per-problem covariates of the 8
  subsampled samples (log mean tokens, distinct-answer share, modal share), see
  planner/curves/covariate.py. Experimental: not used by `inferplan fit`;
- ``cv-pick`` — ``covar`` where a half-sample CV on the subsample itself (fit on 4 of the
  8 samples, predict pass@8; model_select.covariate_cv) prefers it, else ``chosen``.

BoInf subsamples draw whole samples (answers and lengths come along); OSCA draws counts
(hypergeometric). The last BoInf line gives the standard error of the mean over files
across subsamples: with 5 subsamples and 30-problem files it is large.

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

from covariate_model import CovariateDifficulty, covariate_cv, problem_covariates  # benchmarks/, research code
from inferplan.fitting.curves import BetaBinomialDifficulty
from inferplan.stats.estimators import pass_at_k
from inferplan.fitting.model_select import make_difficulty, powerlaw_fit, select_family
from inferplan.stats.problem_counts import count_matrix
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
BOINF_METHODS = METHODS + ("covar", "cv-pick")
COVARIATE_COLUMNS = [0, 1, 2]  # log mean tokens, distinct share, modal share (abstentions: almost none)


def subsample_rows(table, m: int, rng: np.random.Generator) -> np.ndarray:
    """Row numbers of m random samples of every problem (one configuration)."""
    key = rng.random(table.n_samples)
    order = np.lexsort((key, table.problem))
    prob = table.problem[order]
    first = np.searchsorted(prob, prob)  # start of each row's problem block
    return order[np.arange(order.size) - first < m]


def evaluate(table, N: np.ndarray, C: np.ndarray, m: int, ks: list[int], reps: int) -> tuple[dict, Counter]:
    """Abs error (points) per method and subsample: (reps,) arrays (one config), and chosen families."""
    truth = np.array([pass_at_k(N[:, 0], C[:, 0], k).mean() for k in ks])
    errs = {meth: np.zeros(reps) for meth in BOINF_METHODS}
    fams: Counter = Counter()
    P = N.shape[0]
    for rep in range(reps):
        rows = subsample_rows(table, m, np.random.default_rng(rep))
        Cs = np.bincount(table.problem[rows], weights=table.correct[rows], minlength=P).astype(np.int64)[:, None]
        Ns = np.bincount(table.problem[rows], minlength=P).astype(np.int64)[:, None]
        for meth in METHODS:
            pred, fam = predict(meth, Ns, Cs, ks, rep)
            errs[meth][rep] = np.abs(pred[0] - truth).mean() * 100
            if meth == "chosen":
                fams[fam] += 1
        X = problem_covariates(table, rows)[:, COVARIATE_COLUMNS]
        pred = CovariateDifficulty(random_state=rep).fit(Ns[:, 0], Cs[:, 0], X).predict_pass_at_k(ks)
        errs["covar"][rep] = np.abs(pred - truth).mean() * 100
        # cv-pick: covar only where half-sample CV on the subsample itself prefers it
        cv = covariate_cv(table, rows, random_state=rep)
        pick = "covar" if cv["covariate"] < cv["beta-binomial-averaged"] else "chosen"
        errs["cv-pick"][rep] = errs[pick][rep]
        fams[f"cv:{pick}"] += 1
    return errs, fams


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--part", choices=("all", "boinf", "osca"), default="all")
    args = ap.parse_args()
    data = Path(args.data)
    if not data.is_dir():
        print(f"no data at {data}", file=sys.stderr)
        return 1
    t0 = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="bench_fit_"))
    if args.part != "osca":
        _boinf(data, tmp, args.reps)
    if args.part != "boinf":
        _osca_tables(data, tmp, args.reps)
    print(f"total {time.time() - t0:.1f} s")
    return 0


def _boinf(data: Path, tmp: Path, reps: int) -> None:
    print(f"BoInf: 8 samples per problem → pass@80; mean abs error over {reps} subsamples (points)")
    print(f"{'file':<42}{'truth':>7}" + "".join(f"{m:>9}" for m in BOINF_METHODS) + "  chosen family")
    per_rep = []  # (files, methods, reps)
    for f in sorted((data / "boinf").glob("*.jsonl")):
        table = load_profile(import_published("boinf", f, tmp / f.name))
        _, N, C = count_matrix(table)
        errs, fams = evaluate(table, N, C, 8, [80], reps)
        per_rep.append([errs[m] for m in BOINF_METHODS])
        truth = pass_at_k(N[:, 0], C[:, 0], 80).mean() * 100
        print(f"{f.stem:<42}{truth:>7.1f}" + "".join(f"{errs[m].mean():>9.2f}" for m in BOINF_METHODS) + "  " +
              ", ".join(f"{k}×{v}" for k, v in fams.items()))
    over_files = np.mean(per_rep, 0)  # (methods, reps): each subsample's mean over files
    print(f"{'mean':<42}{'':>7}" + "".join(f"{e:>9.2f}" for e in over_files.mean(1)))
    se = over_files.std(1, ddof=1) / np.sqrt(over_files.shape[1]) if reps > 1 else np.full(len(BOINF_METHODS), np.nan)
    print(f"{'± s.e. over subsamples':<42}{'':>7}" + "".join(f"{e:>9.2f}" for e in se))
    print()


def _osca_tables(data: Path, tmp: Path, reps: int) -> None:
    table = load_profile(import_published("osca", data / "osca" / "bigcodebench_hard.json", tmp / "osca.jsonl"))
    problems, N, C = count_matrix(table)
    for scope in ("test", "all"):
        keep = set(table.split()["test"]) if scope == "test" else set(problems)
        rows_ix = np.array([p in keep for p in problems])
        test_ix = np.array([p in set(table.split()["test"]) for p in problems])[rows_ix]
        print(f"OSCA BigCodeBench-Hard, fitted on the 10-sample subsample of {scope} problems "
              f"({rows_ix.sum()}), scored on the {test_ix.sum()} test problems: pass@100 / pass@300 error (points)")
        errs, fams = _osca(N[rows_ix], C[rows_ix], test_ix, reps)
        print(f"{'config':<14}" + "".join(f"{m + ' k100':>13}{m + ' k300':>13}" for m in METHODS))
        for q, cfg in enumerate(table.configs):
            print(f"{cfg.name:<14}" + "".join(f"{errs[m][q, 0]:>13.2f}{errs[m][q, 1]:>13.2f}" for m in METHODS))
        print(f"{'mean':<14}" + "".join(f"{errs[m][:, 0].mean():>13.2f}{errs[m][:, 1].mean():>13.2f}" for m in METHODS))
        print(f"{'worst':<14}" + "".join(f"{errs[m].max():>26.2f}" for m in METHODS))
        print("chosen family: " + ", ".join(f"{k}×{v}" for k, v in fams.items()))
        print()


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

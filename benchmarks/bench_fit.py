"""Extrapolation from few samples on every published set, scored where it was not tuned.

Protocol (issue 13). For each of the 21 Best-of-∞ files: draw 8 of each problem's
samples (``--reps`` random subsamples, default 20, seeds disjoint from anything a
method was chosen on), fit ONLY on the subsample (what a user would have), predict
pass@80 and maj@80, and compare with the same quantities computed exactly from all
the file's samples. For OSCA BigCodeBench-Hard: 10 of 300 runs → pass@100 / pass@300
per configuration. Errors are mean absolute, in accuracy points.

pass@80 — every method is fitted on the held-out file's subsample alone (no
parameter is learned across files), so its figure is held out by construction:
- ``inferplan`` — what ``inferplan fit`` does (the difficulty model's per-problem posteriors
  and the power law, averaged with weights ∝ 1 / their extrapolation-CV errors), with its
  90% interval, whose coverage of the truth is counted;
- ``chosen`` — the family that CV ranks first (one-standard-error rule), alone: what
  ``fit`` predicted before it averaged;
- ``bb-ml``, ``plaw`` — the plain anchors: beta-binomial ML population formula, and the
  exponentiated power law exp(a·k^b) fitted to the observed curve;
- ``floor`` — the statistical floor: a predictor TOLD the true distribution of
  per-problem success (every other problem's full record, leave-one-out). For problem
  i with c of 8 it predicts Σ_j H(c | n_j, c_j, 8)·pass@80_j / Σ_j H(c | n_j, c_j, 8),
  j ≠ i, H the hypergeometric. Nothing that sees only 8 samples can know this.
- ``others`` — the same oracle told every OTHER file's full records instead (files
  weighted alike): the most any prior learned across files could know. Where it stays
  near the anchors, the floor's edge is the file's own difficulty distribution near
  p = 0 (is a problem unsolved in 8 solvable in 80?), which 8 samples do not reveal.

maj@80 — ``maj@8`` (the exact estimator on the subsample: no extrapolation) and the
``plug-in`` multinomial (80 draws from the subsample's answer frequencies) are the
anchors; ``inferplan`` is MajorityCurve as shipped (share per profile by its self-check:
bench_majority_selfcheck.py); ``floor`` is the same oracle
as for pass@80, told every other problem's full answer record: for problem i it predicts
the mean of maj@80_j over the other problems j, each weighted by the chance that 8 of
j's samples show i's vote signature (correct votes, top two wrong votes, abstentions;
Monte Carlo over 200 subsamples of each j). The shrink is the one
number learned across files, so the benchmark also re-chooses it for every file on the
OTHER files only (``lofo``: leave-one-file-out; ``lomo``: leave out every file of the
file's model) and scores it on the file.

Run: python3 benchmarks/bench_fit.py [--data ../shared/data] [--reps 20] [--part all|boinf|osca]
     [--samples 8 --target 80]  (other extrapolation ratios, Best-of-∞ only)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import hypergeom

from inferplan.fitting.curves import BetaBinomialDifficulty, MajorityCurve
from inferplan.fitting.model_select import make_difficulty, powerlaw_fit, select_family
from inferplan.fitting.pass_curves import averaged_pass_curves, curve_grid
from inferplan.importers.published import import_published
from inferplan.profiles.counts import config_counts, count_matrix
from inferplan.profiles.store import load_profile
from inferplan.stats.estimators import maj_at_k, pass_at_k

M, K, LEVEL = 8, 80, 0.9
FLOOR_DRAWS = 200  # subsamples per problem behind the maj@K floor's signature weights
SHRINKS = np.round(np.linspace(0, 1, 21), 2)


def subsample_rows(table, m: int, rng: np.random.Generator) -> np.ndarray:
    """Row numbers of m random samples of every problem (one configuration)."""
    key = rng.random(table.n_samples)
    order = np.lexsort((key, table.problem))
    prob = table.problem[order]
    first = np.searchsorted(prob, prob)  # start of each row's problem block
    return order[np.arange(order.size) - first < m]


def floor_prediction(n: np.ndarray, c: np.ndarray, c_sub: np.ndarray) -> float:
    """The oracle's pass@K: each problem's posterior under the others' true records."""
    H = hypergeom.pmf(c_sub[:, None], n[None, :], c[None, :], M)
    np.fill_diagonal(H, 0.0)
    truth = pass_at_k(n, c, K)
    return float(((H * truth[None, :]).sum(1) / H.sum(1)).mean())


def signature_truth(n: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(2, M + 1): per count c of M, Σ_j H(c | n_j, c_j, M) · (1, pass@K_j) over this file's problems, ÷ P."""
    H = hypergeom.pmf(np.arange(M + 1)[None, :], n[:, None], c[:, None], M)
    return np.stack([H.sum(0), (H * pass_at_k(n, c, K)[:, None]).sum(0)]) / len(n)


def others_prediction(results: dict, name: str) -> list[float]:
    """pass@K of each subsample of ``name`` by a predictor TOLD every OTHER file's full records
    (files weighted alike): E[pass@K | c of M] pooled over them. The most a prior learned
    across files could know; if it stays far from the floor, the floor's edge is this file's
    own difficulty distribution, which M samples per problem do not reveal."""
    w, v = sum(r["signature_truth"] for other, r in results.items() if other != name)
    cond = v / np.maximum(w, 1e-300)
    return [float(cond[c].mean()) for c in results[name]["c_sub"]]


def vote_signature(counts: np.ndarray, correct: np.ndarray, n: np.ndarray) -> np.ndarray:
    """(…, 4) what a vote of few samples shows: correct votes, top two wrong votes, abstentions."""
    right = np.where(correct, counts, 0).sum(-1)
    wrong = -np.sort(-np.where(correct, 0, counts), axis=-1)
    second = wrong[..., 1] if wrong.shape[-1] > 1 else np.zeros_like(right)
    return np.stack([right, wrong[..., 0], np.minimum(second, 3), np.minimum(n - counts.sum(-1), 3)], -1)


def maj_floor_table(cc, truth: np.ndarray, rng: np.random.Generator) -> tuple[dict, list[dict]]:
    """Signature → (weight, weight × maj@K) over all problems, and each problem's own share."""
    P, A = cc.answer_counts.shape
    total: dict = defaultdict(lambda: np.zeros(2))
    own = []
    for j in range(P):
        labels = np.concatenate([np.repeat(np.arange(A), cc.answer_counts[j]), np.full(cc.n[j] - cc.answer_counts[j].sum(), A)])
        keys = rng.random((FLOOR_DRAWS, labels.size)).argsort(1)[:, :M]
        drawn = labels[keys]
        counts = np.stack([(drawn == a).sum(1) for a in range(A)], 1)
        sig = vote_signature(counts, np.broadcast_to(cc.answer_correct[j], counts.shape), np.full(FLOOR_DRAWS, M))
        mine: dict = defaultdict(lambda: np.zeros(2))
        for s in map(tuple, sig):
            mine[s] += (1.0 / FLOOR_DRAWS, truth[j] / FLOOR_DRAWS)
        for s, v in mine.items():
            total[s] += v
        own.append(mine)
    return total, own


def maj_floor_prediction(table: tuple[dict, list[dict]], sig: np.ndarray, fallback: np.ndarray) -> float:
    """The oracle's maj@K: each problem's mean under the OTHER problems' true records."""
    total, own = table
    pred = []
    for i, s in enumerate(map(tuple, sig)):
        w, v = total.get(s, np.zeros(2)) - own[i].get(s, np.zeros(2))
        pred.append(v / w if w > 1e-12 else fallback[i])  # no other problem can show it: no oracle
    return float(np.mean(pred))


def pass_predictions(n_sub: np.ndarray, c_sub: np.ndarray, seed: int) -> dict[str, tuple[float, float, float]]:
    """(prediction, low, high) of pass@K per method from one subsample."""
    N, C = n_sub[:, None], c_sub[:, None]
    sel = select_family(N, C, random_state=seed)
    fit = averaged_pass_curves(sel.weights, N, C, np.array([float(K)]), LEVEL, seed, 25, 1e-3, curve_grid(K))[0]
    pred = float(fit["pred"][0])
    out = {"inferplan": (pred, min(float(fit["low"][0]), pred), max(float(fit["high"][0]), pred))}
    alone = averaged_pass_curves({sel.family: 1.0}, N, C, np.array([float(K)]), LEVEL, seed, 1, 1e-3, curve_grid(K))[0]
    out["chosen"] = (float(alone["pred"][0]),) * 3
    bb = BetaBinomialDifficulty(never_solved=False).fit(n_sub, c_sub).population_pass_at_k([K])[0]
    out["bb-ml"] = (float(bb),) * 3
    out["plaw"] = (float(powerlaw_fit(n_sub, c_sub).predict_pass_at_k([K])[0]),) * 3
    return out


def answer_matrix(table, rows: np.ndarray, answer_ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(counts (P, A), correct (P, A), n (P,)) of the given rows."""
    P, A = answer_ok.shape
    counts = np.zeros((P, A), np.int64)
    has = table.answer[rows] >= 0
    np.add.at(counts, (table.problem[rows][has], table.answer[rows][has]), 1)
    return counts, answer_ok, np.bincount(table.problem[rows], minlength=P)


def plug_in(counts: np.ndarray, correct: np.ndarray, n: np.ndarray, rng: np.random.Generator, draws: int = 400) -> float:
    """maj@K of K draws from each problem's observed answer frequencies (abstentions cast no vote)."""
    pi = np.column_stack([counts, n - counts.sum(1)]) / n[:, None]
    votes = rng.multinomial(K, np.repeat(pi[:, None, :], draws, 1))[..., :-1]
    score = np.where(votes > 0, votes + rng.random(votes.shape) * 0.5, -1.0)
    win = score.argmax(-1)
    ok = np.take_along_axis(correct, win.reshape(len(n), -1), 1) & (score.max(-1) > 0)
    return float(ok.mean())


def boinf_file(path: Path, tmp: Path, reps: int) -> dict:
    """Every method's predictions on ``reps`` subsamples of one file, and the truths."""
    table = load_profile(import_published("boinf", path, tmp / path.name))
    _, N, C = count_matrix(table)
    n, c = N[:, 0], C[:, 0]
    cc = config_counts(table, 0)
    maj_truth = maj_at_k(cc.answer_counts, cc.answer_correct, K, cc.n)
    floor_table = maj_floor_table(cc, maj_truth, np.random.default_rng(20_000))
    out = {"pass_truth": float(pass_at_k(n, c, K).mean()), "maj_truth": float(maj_truth.mean()),
           "pass": defaultdict(list), "maj": defaultdict(list), "c_sub": [],
           "signature_truth": signature_truth(n, c)}
    for rep in range(reps):
        rng = np.random.default_rng(10_000 + rep)
        rows = subsample_rows(table, M, rng)
        counts, correct, n_sub = answer_matrix(table, rows, cc.answer_correct)
        c_sub = np.bincount(table.problem[rows], weights=table.correct[rows], minlength=n.size).astype(np.int64)
        out["c_sub"].append(c_sub)
        for meth, v in pass_predictions(n_sub, c_sub, rep).items():
            out["pass"][meth].append(v)
        out["pass"]["floor"].append((floor_prediction(n, c, c_sub),) * 3)
        out["maj"]["maj@n"].append(float(maj_at_k(counts, correct, M, n_sub).mean()))
        out["maj"]["plug-in"].append(plug_in(counts, correct, n_sub, rng))
        model = MajorityCurve(random_state=rep).fit(counts, correct, n_sub)
        out["maj"]["inferplan"].append(tuple(float(x[0]) for x in model.predict_with_interval([K], LEVEL)))
        raw = MajorityCurve(shrink=1.0, random_state=rep).fit(counts, correct, n_sub)
        out["maj"]["model"].append(float(raw.predict_maj_at_k([K])[0]))
        exact = maj_at_k(counts, correct, M, n_sub)
        out["maj"]["floor"].append(maj_floor_prediction(floor_table, vote_signature(counts, correct, n_sub), exact))
    return out


def model_of(name: str) -> str:
    return name.split("_", 2)[-1] if name.startswith("gpqa") else name.split("_", 1)[1]


def main() -> int:
    global M, K  # the extrapolation every function scores, from the command line
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--part", choices=("all", "boinf", "osca"), default="all")
    ap.add_argument("--samples", type=int, default=M, help="Best-of-∞ samples per problem to fit on")
    ap.add_argument("--target", type=int, default=K, help="Best-of-∞ k to predict (≤ the recorded 80)")
    args = ap.parse_args()
    M, K = args.samples, args.target
    data = Path(args.data)
    if not data.is_dir():
        print(f"no data at {data}", file=sys.stderr)
        return 1
    t0 = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="bench_fit_"))
    if args.part != "osca":
        results = {f.stem: boinf_file(f, tmp, args.reps) for f in sorted((data / "boinf").glob("*.jsonl"))}
        report_pass(results)
        report_maj(results)
    if args.part != "boinf":
        report_osca(data, tmp, args.reps)
    print(f"total {time.time() - t0:.1f} s")
    return 0


def _err(pred: list, truth: float) -> float:
    return float(np.mean([abs((p[0] if isinstance(p, tuple) else p) - truth) for p in pred]) * 100)


def _cover(pred: list, truth: float) -> float:
    return float(np.mean([lo - 1e-12 <= truth <= hi + 1e-12 for _, lo, hi in pred]))


def report_pass(results: dict) -> None:
    for name, r in results.items():
        r["pass"]["others"] = others_prediction(results, name)
    meths = ("inferplan", "chosen", "bb-ml", "plaw", "others", "floor")
    print(f"pass@{K} from {M} samples, mean abs error (points) over the subsamples; cover = share of "
          f"{LEVEL:.0%} intervals holding the truth")
    print(f"{'file':<42}{'truth':>7}" + "".join(f"{m:>11}" for m in meths) + f"{'÷floor':>8}{'cover':>7}")
    table = []
    for name, r in results.items():
        e = [_err(r["pass"][m], r["pass_truth"]) for m in meths]
        cov = _cover(r["pass"]["inferplan"], r["pass_truth"])
        table.append(e + [cov])
        print(f"{name:<42}{r['pass_truth'] * 100:>7.1f}" + "".join(f"{v:>11.2f}" for v in e) + f"{e[0] / e[-1]:>8.2f}{cov:>7.2f}")
    mean = np.mean(table, 0)
    print(f"{'mean':<42}{'':>7}" + "".join(f"{v:>11.2f}" for v in mean[:-1]) + f"{mean[0] / mean[-2]:>8.2f}{mean[-1]:>7.2f}")
    print(f"inferplan ÷ better anchor: {mean[0] / min(mean[2], mean[3]):.2f}\n")


def _held_out_shrink(results: dict, group) -> dict[str, float]:
    """Per file: maj@K error at the shrink that was best on the files of OTHER groups."""
    names = list(results)
    E = np.array([[np.mean([abs((1 - w) * o + w * m - r["maj_truth"]) for o, m in zip(r["maj"]["maj@n"], r["maj"]["model"])]) * 100
                   for w in SHRINKS] for r in results.values()])
    out = {}
    for i, name in enumerate(names):
        others = [j for j, other in enumerate(names) if group(other) != group(name)]
        out[name] = float(E[i, E[others].mean(0).argmin()])
        out[name + "@w"] = float(SHRINKS[E[others].mean(0).argmin()])
    return out


def report_maj(results: dict) -> None:
    lofo = _held_out_shrink(results, lambda n: n)
    lomo = _held_out_shrink(results, model_of)
    meths = ("inferplan", "maj@n", "plug-in", "floor")
    print(f"maj@{K} from {M} samples, mean abs error (points); lofo / lomo: the shrink re-chosen without the file / its model")
    print(f"{'file':<42}{'truth':>7}" + "".join(f"{m:>11}" for m in meths) + f"{'lofo':>8}{'lomo':>8}{'cover':>7}")
    table = []
    for name, r in results.items():
        e = [_err(r["maj"][m], r["maj_truth"]) for m in meths]
        cov = _cover(r["maj"]["inferplan"], r["maj_truth"])
        table.append(e + [lofo[name], lomo[name], cov])
        print(f"{name:<42}{r['maj_truth'] * 100:>7.1f}" + "".join(f"{v:>11.2f}" for v in e) +
              f"{lofo[name]:>8.2f}{lomo[name]:>8.2f}{cov:>7.2f}")
    mean = np.mean(table, 0)
    print(f"{'mean':<42}{'':>7}" + "".join(f"{v:>11.2f}" for v in mean[:4]) + f"{mean[4]:>8.2f}{mean[5]:>8.2f}{mean[6]:>7.2f}")
    ws = sorted({lofo[n + '@w'] for n in results})
    anchor = min(mean[1], mean[2])
    print(f"inferplan ÷ better anchor: {mean[0] / anchor:.2f} (lofo {mean[4] / anchor:.2f}); ÷ floor: {mean[0] / mean[3]:.2f}; "
          f"floor ÷ better anchor: {mean[3] / anchor:.2f}; shrinks chosen leave-one-file-out: {ws}\n")


def report_osca(data: Path, tmp: Path, reps: int) -> None:
    table = load_profile(import_published("osca", data / "osca" / "bigcodebench_hard.json", tmp / "osca.jsonl"))
    problems, N, C = count_matrix(table)
    test = np.isin(np.array(problems), list(table.split()["test"]))
    ks = [100, 300]
    truth = np.array([[pass_at_k(N[test, q], C[test, q], k).mean() for k in ks] for q in range(N.shape[1])])
    errs = {m: np.zeros_like(truth) for m in ("inferplan", "chosen", "bb-ml", "plaw")}
    cover = np.zeros_like(truth)
    for rep in range(reps):
        rng = np.random.default_rng(10_000 + rep)
        Ns, Cs = np.full_like(N, 10), rng.hypergeometric(C, N - C, 10)
        sel = select_family(Ns, Cs, random_state=rep)
        weights = sel.weights
        fits = averaged_pass_curves(weights, Ns, Cs, np.array(ks, float), LEVEL, rep, 25, 1e-3, curve_grid(max(ks)))
        family = next(f for f in weights if f != "power-law") if set(weights) != {"power-law"} else None
        model = make_difficulty(family, rep).fit(Ns, Cs) if family else None
        for q in range(N.shape[1]):
            # scored on the test problems: each family's prediction for them, averaged as fit does
            alone = {"power-law": powerlaw_fit(Ns[test, q], Cs[test, q]).predict_pass_at_k(ks)}
            if model is not None:
                alone[family] = model.problem_pass_at_k(ks, q)[test].mean(0)
            pred = sum(w * alone[f] for f, w in weights.items())
            errs["inferplan"][q] += np.abs(pred - truth[q]) * 100 / reps
            errs["chosen"][q] += np.abs(alone.get(sel.family, alone["power-law"]) - truth[q]) * 100 / reps
            cover[q] += ((np.minimum(fits[q]["low"], pred) <= truth[q]) & (truth[q] <= np.maximum(fits[q]["high"], pred))) / reps
            bb = BetaBinomialDifficulty(never_solved=False).fit(Ns[test, q], Cs[test, q]).population_pass_at_k(ks)
            errs["bb-ml"][q] += np.abs(bb - truth[q]) * 100 / reps
            errs["plaw"][q] += np.abs(powerlaw_fit(Ns[test, q], Cs[test, q]).predict_pass_at_k(ks) - truth[q]) * 100 / reps
    print(f"OSCA BigCodeBench-Hard: 10 of 300 runs, fitted on all {N.shape[0]} problems, scored on the {test.sum()} test "
          f"problems; pass@100 / pass@300 error (points), {reps} subsamples; cover = share of {LEVEL:.0%} intervals")
    print(f"{'config':<14}" + "".join(f"{m + ' k100':>15}{m + ' k300':>15}" for m in errs) + f"{'cover':>8}")
    for q, cfg in enumerate(table.configs):
        print(f"{cfg.name:<14}" + "".join(f"{errs[m][q, 0]:>15.2f}{errs[m][q, 1]:>15.2f}" for m in errs) + f"{cover[q].mean():>8.2f}")
    print(f"{'mean':<14}" + "".join(f"{errs[m][:, 0].mean():>15.2f}{errs[m][:, 1].mean():>15.2f}" for m in errs) +
          f"{cover.mean():>8.2f}")
    print(f"{'worst':<14}" + "".join(f"{errs[m][:, 0].max():>15.2f}{errs[m][:, 1].max():>15.2f}" for m in errs))
    print()


if __name__ == "__main__":
    raise SystemExit(main())

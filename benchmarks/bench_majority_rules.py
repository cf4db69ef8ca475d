"""maj@80 from 8 samples: other rules for how far to move from maj@n, leave-one-model-out (issue 28).

A search, not a benchmark of the shipped rule (that is ``bench_majority_selfcheck.py``). Per
Best-of-∞ file and seeded subsample of 8 answers per problem (the same subsamples as the
self-check benchmark) it computes once, and caches (``--cache``), every quantity a rule needs:
per problem the observed maj@8 (E), the answer model's maj@80 (S), the plug-in maj@80 (Q,
80 draws from the observed frequencies) and, on 8 random halvings, the half's maj@4, the
model's and the plug-in's maj@8 from the half. Each rule family is then a grid whose point is
chosen leave-one-model-out (lowest mean error on the OTHER models' files), in seconds:

- ``guard``: today's rule, w = min(prior, confirmed + z·se) (the self-check);
- ``share``: (1 − w)·E + w·S, one constant share (the fixed rule's family);
- ``blend``: (1 − w)·((1 − a)·E + a·Q) + w·S, a constant three-way blend;
- ``bias-corrected``: the blend at a = 0 minus β × the model's overshoot on the halves;
- ``buckets``: a share per problem by how settled it is (the correct answer's margin over the
  most-voted wrong one in the 8 samples; unseen correct answers split by scattered or not;
  its intervals are the fixed 0.75 share's);
- ``select``: the prior share unless the model's half-sample error exceeds τ × the observed
  one, then a lower share.

It also prints what no rule of a family can beat: the share (or bucket shares) chosen on each
model's OWN truth, and the standard error of a per-model ratio over 20 subsamples.

Run: python3 benchmarks/bench_majority_rules.py [--data ../shared/data] [--reps 20]
     [--cache /tmp/majority_rules.pkl]   (about 10 minutes on 2 cores to build the cache)
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.special import ndtri

from bench_fit import answer_matrix, model_of, plug_in, subsample_rows
from inferplan.fitting.curves import MajorityCurve
from inferplan.fitting.curves.majority import _exact_at
from inferplan.fitting.curves.majority_check import confirmed_share
from inferplan.importers.published import import_published
from inferplan.profiles.counts import config_counts
from inferplan.profiles.store import load_profile
from inferplan.stats.estimators import maj_at_k

M, K, H = 8, 80, 8
Z90 = float(ndtri(0.95))


def plug_per_problem(counts, correct, n, k, rng, draws=1000) -> np.ndarray:
    """Plug-in maj@k_i per problem: k_i draws from its observed answer frequencies."""
    k = np.broadcast_to(k, n.shape)
    pi = np.column_stack([counts, n - counts.sum(1)]) / n[:, None]
    out = np.zeros(n.size)
    for kk in np.unique(k):
        r = k == kk
        votes = rng.multinomial(int(kk), np.repeat(pi[r][:, None, :], draws, 1))[..., :-1]
        score = np.where(votes > 0, votes + rng.random(votes.shape) * 0.5, -1.0)
        ok = np.take_along_axis(correct[r], score.argmax(-1), 1) & (score.max(-1) > 0)
        out[r] = ok.mean(1)
    return out


def file_runs(path: Path, tmp: Path, reps: int) -> dict:
    table = load_profile(import_published("boinf", path, tmp / path.name))
    cc = config_counts(table, 0)
    truth_p = maj_at_k(cc.answer_counts, cc.answer_correct, K, cc.n)
    runs = []
    for rep in range(reps):
        rng = np.random.default_rng(10_000 + rep)  # the self-check benchmark's subsamples and anchor
        rows = subsample_rows(table, M, rng)
        counts, correct, n = answer_matrix(table, rows, cc.answer_correct)
        anchor = plug_in(counts, correct, n, rng)
        correct = correct & (counts > 0)
        model = MajorityCurve(shrink=1.0, random_state=rep).fit(counts, correct, n)
        sim = model._simulated(K)
        r2 = np.random.default_rng(777 + rep)
        plug = plug_per_problem(counts, correct, n, K, r2)
        half, pool = n // 2, np.column_stack([counts, n - counts.sum(1)])
        flat, mod, plugh = (np.zeros((H, n.size)) for _ in range(3))
        for h in range(H):
            sub = np.array([r2.multivariate_hypergeometric(row, int(k)) for row, k in zip(pool, half)])[:, :-1]
            flat[h] = _exact_at(sub, correct, half, half)
            m = MajorityCurve(shrink=1.0, n_draws=max(64, model.draws_ // 4), random_state=r2, halves=0)
            mod[h] = m.fit(sub, correct, half)._simulated(n)
            plugh[h] = plug_per_problem(sub, correct, half, n, r2, 400)
        srt = -np.sort(-counts, 1)
        runs.append(dict(exact=model._exact_n, sim=sim, plug=plug,
                         anchor=anchor, draws=model.draws_, flat=flat, model=mod, plugh=plugh, top=srt[:, 0],
                         second=srt[:, 1] if srt.shape[1] > 1 else np.zeros(n.size),
                         right=np.where(correct, counts, 0).sum(1), n=n))
    return dict(truth_p=truth_p, truth=float(truth_p.mean()), runs=runs)


def half_width(per: np.ndarray, bias: float, mc: float) -> float:
    """MajorityCurve's interval half-width (spread_half_width) for one k."""
    s = np.sqrt((per * (1 - per)).sum() / per.size ** 2 + bias ** 2) + mc
    return Z90 * max(s, 0.5 / per.size)


def check_bias(target: np.ndarray, each: np.ndarray) -> float:
    error = np.sqrt(np.mean((each.mean(1) - target.mean()) ** 2))
    noise = np.sqrt(np.mean((each * (1 - each)).sum(1))) / target.size
    return float(np.sqrt(max(0.0, error ** 2 - noise ** 2)))


def settled(x: dict) -> list[np.ndarray]:
    """Problem buckets: the correct answer's margin ≥ 3, 1–2, a tie, behind, unseen (top wrong ≥ 3), unseen scattered."""
    maxwrong = np.where(x["right"] >= x["top"], x["second"], x["top"])
    margin = x["right"] - maxwrong
    return [margin >= 3, (margin >= 1) & (margin < 3), margin == 0, (margin < 0) & (x["right"] > 0),
            (x["right"] == 0) & (x["top"] >= 3), (x["right"] == 0) & (x["top"] < 3)]


def predict(x: dict, family: str, g: tuple) -> tuple[float, float]:
    """(prediction, interval half-width) of one rule at grid point g."""
    E, S, F, Mh = x["exact"], x["sim"], x["flat"], x["model"]
    shift, shift_h = 0.0, 0.0
    if family == "guard":
        prior, z = g
        if "cs" not in x:
            x["cs"] = confirmed_share(E, F, Mh, np.random.default_rng(0))
        c, se = x["cs"]
        a, w = 0.0, float(np.clip(min(prior, c + z * se), 0, 1))
    elif family in ("share", "blend"):
        a, w = g
    elif family == "bias-corrected":
        (w, beta), a = g, 0.0
        shift = shift_h = -beta * (Mh.mean() - E.mean())
    elif family == "select":
        tau, low, prior = g
        T = E.mean()
        eM, eF = np.abs(Mh.mean(1) - T).mean(), np.abs(F.mean(1) - T).mean()
        a, w = 0.0, prior if eM <= tau * eF else low
    per = np.clip((1 - w) * ((1 - a) * E + a * x["plug"]) + w * S + shift, 0, 1)
    each = np.clip((1 - w) * ((1 - a) * F + a * x["plugh"]) + w * Mh + shift_h, 0, 1)
    return float(per.mean()), half_width(per, check_bias(E, each), w * 0.5 / np.sqrt(x["draws"] * E.size))


GRIDS = {
    "guard": list(itertools.product((0.6, 0.7, 0.75, 0.8, 0.9, 1.0), (0.5, 1.0, 1.5, 2.0, 3.0))),
    "share": [(0.0, w) for w in np.round(np.arange(0, 1.01, 0.05), 2)],
    "blend": list(itertools.product(np.round(np.arange(0, 1.01, 0.1), 2), np.round(np.arange(0, 1.01, 0.05), 2))),
    "bias-corrected": list(itertools.product(np.round(np.arange(0, 1.01, 0.05), 2), (0, 0.25, 0.5, 1.0, 1.5, 2.0))),
    "select": list(itertools.product((0.25, 0.5, 1, 1.5, 2, 3), (0, 0.25, 0.5), (0.7, 0.75, 0.8))),
    "buckets": list(itertools.product((0, 0.25, 0.5, 0.75, 1.0), repeat=6)),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "majority_rules.pkl"))
    args = ap.parse_args()
    cache = Path(args.cache)
    if cache.exists():
        res = pickle.loads(cache.read_bytes())
    else:
        tmp = Path(tempfile.mkdtemp(prefix="bench_majrules_"))
        res = {f.stem: file_runs(f, tmp, args.reps) for f in sorted((Path(args.data) / "boinf").glob("*.jsonl"))}
        cache.write_bytes(pickle.dumps(res))
    names = list(res)
    models = defaultdict(list)
    for n in names:
        models[model_of(n)].append(n)
    anchor = {n: (np.mean([abs(x["exact"].mean() - res[n]["truth"]) for x in res[n]["runs"]]) * 100,
                  np.mean([abs(x["anchor"] - res[n]["truth"]) for x in res[n]["runs"]]) * 100) for n in names}

    def ratio(err: dict, ns: list) -> float:
        return np.mean([err[n] for n in ns]) / min(np.mean([anchor[n][i] for n in ns]) for i in (0, 1))

    print(f"maj@{K} from {M}, {len(res[names[0]]['runs'])} subsamples per file; ratio = mean error ÷ the better of "
          f"maj@n and plug-in on the same files; grid points chosen leave-one-model-out (others' mean error)")
    order = sorted(models)
    print(f"{'rule':<16}{'all':>6}{'cover':>7}  " + "".join(f"{m[:12]:>13}" for m in order) + "   own-truth best per model")
    for family, grid in GRIDS.items():
        errs = np.zeros((len(grid), len(names)))
        covs = np.zeros_like(errs)
        for j, n in enumerate(names):
            t = res[n]["truth"]
            if family == "buckets":  # vectorised over the grid; intervals as the fixed 0.75 share's
                runs = res[n]["runs"]
                E = np.array([x["exact"].mean() for x in runs])
                moves = np.array([[(b * (x["sim"] - x["exact"])).mean() for b in settled(x)] for x in runs])
                half = np.array([predict(x, "blend", (0.0, 0.75))[1] for x in runs])
                dev = np.abs(E[:, None] + moves @ np.array(grid).T - t)
                errs[:, j], covs[:, j] = dev.mean(0) * 100, (dev <= half[:, None] + 1e-12).mean(0)
                continue
            for i, g in enumerate(grid):
                p = [predict(x, family, g) for x in res[n]["runs"]]
                errs[i, j] = np.mean([abs(a - t) for a, _ in p]) * 100
                covs[i, j] = np.mean([abs(a - t) <= h + 1e-12 for a, h in p])
        pick = {}
        for m in models:
            others = [j for j, n in enumerate(names) if model_of(n) != m]
            pick[m] = int(errs[:, others].mean(1).argmin())
        err = {n: errs[pick[model_of(n)], j] for j, n in enumerate(names)}
        cover = np.mean([covs[pick[model_of(n)], j] for j, n in enumerate(names)])
        own = {m: min(ratio({n: errs[i, j] for j, n in enumerate(names)}, models[m]) for i in range(len(grid)))
               for m in order}
        print(f"{family:<16}{ratio(err, names):>6.3f}{cover:>7.2f}  " + "".join(f"{ratio(err, models[m]):>13.3f}" for m in order)
              + "   " + " ".join(f"{own[m]:.2f}" for m in order))
    # how precisely 20 subsamples pin a per-model ratio: paired SE of (fixed 0.75 − maj@n)
    print("\nstandard error of a per-model ratio (fixed 0.75 against maj@n, paired over subsamples): " + ", ".join(
        f"{m} {se:.3f}" for m, se in ((m, _paired_se(res, models[m], anchor)) for m in order)))
    return 0


def _paired_se(res: dict, ns: list, anchor: dict) -> float:
    d = np.array([[abs(0.25 * x["exact"].mean() + 0.75 * x["sim"].mean() - res[n]["truth"])
                   - abs(x["exact"].mean() - res[n]["truth"]) for x in res[n]["runs"]] for n in ns]) * 100
    return float(np.sqrt(np.mean(d.var(1, ddof=1) / d.shape[1]) / len(ns)) / np.mean([anchor[n][0] for n in ns]))


if __name__ == "__main__":
    raise SystemExit(main())

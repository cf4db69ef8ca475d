"""Best-of-∞'s weighted vote for a mix across models, measured against the planner's unweighted mix (issue 31).

Best-of-∞ (Komiyama et al.) weighs several models' answers: weights w ≥ 0 with Σ w = 1, and an
answer's weighted share on a problem is Σ_m w_m · (model m's share of that answer). The weights
maximise, on the training problems, the number of problems whose correct answer's weighted share
beats every wrong answer's by a margin (a mixed-integer program: one binary per problem), and the
margin is then raised as far as it can go without losing a problem (a bisection), for weights
that hold with room to spare. Shares are each model's recorded samples (80 per problem here), so
the program is the infinite-sample limit of the vote. Re-implemented from that definition with
scipy's HiGHS ``milp``.

At each budget of bench_models.py (the best single model's fixed-4, fixed-16, 4× fixed-16 FLOPs),
on 10 seeded splits, beside the planner's training-best unweighted mix (``r.mix``: k_m samples of
model m, one plain vote) two ways of using the weights:

- **weighted vote**: the same k, each sample of model m counting w_m / k_m, with the weights solved
  over the mix's models;
- **counts ∝ weights**: the weights solved over every model and turned into counts (the largest N
  with ⌊w_m N⌋ samples of each within the budget, at most the recorded samples), one plain vote —
  Best-of-∞'s own finite-N ensemble, which samples model m with probability w_m.

Each is scored on the training and the held-out half (the same seeded draws as the mix), paired
per problem. "taken" counts the splits where it beats the unweighted mix on the training problems
by more than one paired standard error — what "where it wins on training problems" would take —
and "held-out if taken" is the held-out difference that rule realises (0 where not taken).

    python benchmarks/models_weighted_vote.py --data ../shared/data [--seeds 10] [--sets gpqa_diamond]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from bench_models import BUDGETS, SETS, budgets, load
from inferplan.planner.models import ModelsSearch
from inferplan.planner.selection import paired_gain
from inferplan.replay.model_mix import Pool, mix_outcome

REPS = 128  # seeded draws per problem for every figure


def answer_shares(pl: Pool) -> np.ndarray:
    """(M, P, K): each model's share of each joint answer over its recorded samples."""
    P, K = pl.correct.shape
    out = np.zeros((len(pl.answer), P, K))
    for m, (ans, n) in enumerate(zip(pl.answer, pl.count)):
        for p in range(P):
            a = ans[p, : n[p]]
            a = a[a >= 0]
            if a.size:
                out[m, p] = np.bincount(a, minlength=K) / n[p]
    return out


def _solve(shares: np.ndarray, correct: np.ndarray, margin: float) -> tuple[np.ndarray | None, int]:
    """The weights maximising the problems whose correct answer leads every wrong one by ``margin``."""
    M, P, _ = shares.shape
    big = 1.0 + margin  # a weighted share difference is ≥ −1, so this relaxes any row
    rows, low = [], []
    for p in range(P):
        gold = shares[:, p, correct[p]].sum(axis=1)
        for a in np.flatnonzero(~correct[p] & (shares[:, p, :].sum(axis=0) > 0)):
            row = np.zeros(M + P)
            row[:M], row[M + p] = gold - shares[:, p, a], -big
            rows.append(row)
            low.append(margin - big)
    solvable = np.array([shares[:, p, correct[p]].sum() > 0 for p in range(P)], dtype=float)  # gold ever said
    cons = [LinearConstraint(np.r_[np.ones(M), np.zeros(P)][None, :], 1, 1)]
    if rows:
        cons.append(LinearConstraint(np.array(rows), np.array(low), np.inf))
    res = milp(-np.r_[np.zeros(M), np.ones(P)], constraints=cons, integrality=np.r_[np.zeros(M), np.ones(P)],
               bounds=Bounds(np.zeros(M + P), np.r_[np.ones(M), solvable]), options={"time_limit": 30})
    if res.status != 0 or res.x is None:  # not proven optimal (e.g. the time limit): not Best-of-∞'s weights
        return None, -1
    return res.x[:M], int(round(-res.fun))


def boinf_weights(shares: np.ndarray, correct: np.ndarray, steps: int = 12) -> np.ndarray:
    """Best-of-∞'s weights: the most problems at margin 0, then the largest margin that keeps them."""
    w, best = _solve(shares, correct, 0.0)
    if w is None:
        raise SystemExit("the weights' program was not solved to optimality; raise milp's time limit")
    lo, hi = 0.0, 1.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        wm, solved = _solve(shares, correct, mid)
        if wm is not None and solved >= best:
            lo, w = mid, wm
        else:
            hi = mid
    return w


def weighted_outcome(pl: Pool, k: np.ndarray, w: np.ndarray, *, reps: int = REPS, seed: int = 0) -> np.ndarray:
    """Per-problem accuracy of k_m samples of each model m, each sample counting w_m / k_m in the vote
    (the draws of mix_outcome's seed: the same samples as the unweighted mix)."""
    rng = np.random.default_rng(seed)
    P, K = pl.correct.shape
    votes = np.zeros((reps, P, K + 1))
    r_idx, p_idx = np.meshgrid(np.arange(reps), np.arange(P), indexing="ij")
    for m, (ans, n) in enumerate(zip(pl.answer, pl.count)):
        keys = rng.random((reps, P, ans.shape[1]))
        if k[m] <= 0:
            continue
        keys[:, np.arange(ans.shape[1])[None, :] >= n[:, None]] = np.inf
        take = np.argsort(keys, axis=2)[:, :, : int(k[m])]
        drawn = np.take_along_axis(np.broadcast_to(ans, keys.shape), take, axis=2)
        drawn = np.where(drawn >= 0, drawn, K)
        for j in range(drawn.shape[2]):
            np.add.at(votes, (r_idx, p_idx, drawn[:, :, j]), w[m] / k[m])
    votes[..., K] = 0  # abstentions never win
    answered = votes.max(axis=2) > 0
    votes += rng.random(votes.shape) * 1e-9  # a random tie-break among equal weights
    winner = votes.argmax(axis=2)
    right = np.take_along_axis(np.broadcast_to(np.c_[pl.correct, np.zeros(P, bool)], (reps, P, K + 1)),
                               winner[..., None], axis=2)[..., 0] & answered
    return right.mean(axis=0)


def counts_for(w: np.ndarray, unit: np.ndarray, limit: np.ndarray, budget: float) -> np.ndarray:
    """The largest N whose ⌊w_m N⌋ samples of each model fit the budget (each at most its recorded)."""
    best = np.zeros(len(w), dtype=int)
    for n in range(1, 100_000):
        k = np.minimum(np.floor(w * n + 1e-9).astype(int), limit.astype(int))
        if (k * unit).sum() > budget * (1 + 1e-9):
            break
        best = k
        if (k >= limit).all():
            break
    return best


def run(dataset: str, seeds: int) -> list[dict]:
    models = load(Path(ARGS.data), dataset, Path(tempfile.mkdtemp()))
    rows = []
    for seed in range(seeds):
        ms = ModelsSearch(models, unit="flops", seed=seed)
        w_all = None
        for label, budget in budgets(ms)[1]:
            r = ms.plan(budget=budget, mix_se=float("inf"))
            if r.mix is None:
                continue
            mixes = ms._mixes
            train_shares = answer_shares(mixes.train)
            w_all = boinf_weights(train_shares, mixes.train.correct) if w_all is None else w_all
            k = np.array([r.mix.counts.get(s.model.name, 0) for s in ms.searches])
            plain = {h: mix_outcome(pl, k, reps=REPS, seed=seed + 2 * i + 1).accuracy
                     for i, (h, pl) in enumerate((("train", mixes.train), ("test", mixes.test)))}
            on = k > 0
            w_mix = np.zeros(len(k))
            w_mix[on] = boinf_weights(train_shares[on], mixes.train.correct)
            voted = {h: weighted_outcome(pl, k, w_mix, seed=seed + 2 * i + 1)
                     for i, (h, pl) in enumerate((("train", mixes.train), ("test", mixes.test)))}
            k2 = counts_for(w_all, mixes.unit, mixes.train.limit, budget)
            prop = {h: mix_outcome(pl, k2, reps=REPS, seed=seed + 2 * i + 1).accuracy
                    for i, (h, pl) in enumerate((("train", mixes.train), ("test", mixes.test)))}
            row = dict(set=dataset, budget=label, seed=seed, k=k.tolist(), w_mix=w_mix.round(3).tolist(),
                       k_prop=k2.tolist(), w_all=w_all.round(3).tolist())
            for name, got in (("vote", voted), ("prop", prop)):
                row[name] = {h: paired_gain(got[h], plain[h]) for h in ("train", "test")}
            rows.append(row)
    return rows


def report(rows: list[dict]) -> None:
    print("| set | budget | splits | variant | − unweighted mix, training | held out (± SE over splits) "
          "| taken (beats it on training by > 1 paired SE) | held out if taken |")
    print("|---|---|---|---|---|---|---|---|")
    for s in dict.fromkeys(r["set"] for r in rows):
        for b in BUDGETS:
            rs = [r for r in rows if r["set"] == s and r["budget"] == b]
            if not rs:
                continue
            for name, what in (("vote", "weighted vote, same counts"), ("prop", "counts ∝ weights")):
                tr = np.array([r[name]["train"][0] for r in rs])
                te = np.array([r[name]["test"][0] for r in rs])
                taken = np.array([r[name]["train"][0] > r[name]["train"][1] for r in rs])
                se = te.std(ddof=1) / np.sqrt(len(te)) if len(te) > 1 else float("nan")
                print(f"| {s} | {b} | {len(rs)} | {what} | {100 * tr.mean():+.2f} | {100 * te.mean():+.2f} ± "
                      f"{100 * se:.2f} | {int(taken.sum())}/{len(rs)} | {100 * np.where(taken, te, 0).mean():+.2f} |")


def main() -> None:
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--sets", default=",".join(SETS))
    ARGS = ap.parse_args()
    t0 = time.perf_counter()
    rows = [r for s in ARGS.sets.split(",") for r in run(s, ARGS.seeds)]
    report(rows)
    print(f"\n{time.perf_counter() - t0:.0f} s")


ARGS: argparse.Namespace
if __name__ == "__main__":
    main()

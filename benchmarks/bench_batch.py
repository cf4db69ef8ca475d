"""Issue 33: one budget over a whole batch of queries (PETS) against uniform and the per-query plan.

Run: ``python3 benchmarks/bench_batch.py [--data ../shared/data] [--seeds 10] [--plan-seeds 3]``.

For each Best-of-∞ file (GPQA-Diamond, MATH500) and each of ``--seeds`` seeded splits (the
planner's: holdout 0.5, seed s) the held-out half is a batch; every query's 80 recorded samples
are read in a seeded random order. Self-consistency (SC) = the vote agrees with the vote of all
recorded samples (maj@80).

- tokens to 95% / 99% SC: knowledge-gradient batch allocation and round robin (uniform), run
  until every vote agrees; the per-query plan: ``inferplan.api.plan`` on the training half of a
  copy of the file whose gold answers are maj@all (so it plans for SC), at 4, 8, 16, 32 × the mean
  sample's tokens per query, replayed on the held-out half by ``inferplan.api.simulate``; its
  tokens are those of the cheapest grid budget that reaches the rate (a grid: an upper bound).
- accuracy at equal total tokens: what the product does. ``plan --batch`` (``inferplan.api.plan``
  with ``batch=True``) on the training half at 2, 4, 8 × the mean sample's tokens per query: the
  per-query plan (for accuracy, the real gold) and its ``batch_allocation``, chosen on the training
  half. The per-query plan replayed on the held-out half spends c per query; then
  ``simulate --total-budget`` c × n on the same half (``REPS`` orders): the plan's own allocator
  (what ``run --plan P --total-budget`` does, the verdict's row) beside the fixed ones
  (within-rule/1, plain/1, hybrid/1) and uniform. The oracle row is the best of the candidates ``plan
  --batch`` chooses among, picked on those held-out orders: an upper bound of the policy space,
  never a prediction. The comparator, checked on the same orders: within the plan's rule with no
  total (each query ends where the per-query plan's rule ends it) — its accuracy, its spend ÷ the
  total c × n, and in how many orders it spends more than the total.
- online: queries one at a time, per-query budget from the first 4 samples' agreement, priced on
  the training half, against a running average; compared with the per-query plans at the
  average tokens those plans spent.

The per-query plans are the slow part (one ``plan`` call each); they run on the first
``--plan-seeds`` splits, the allocations on all ``--seeds``; ``--acc-only`` runs the accuracy rows
alone (no SC or online rows, which the batch_allocation candidates do not change). Nothing is
written to the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from inferplan.api import open_profile, plan, save_plan, simulate
from inferplan.importers.published import import_published
from inferplan.planner.batch import make_streams, replay_batch, replay_uniform
from inferplan.planner.batch_choice import _orders, _per_problem, candidates
from inferplan.planner.batch_online import price_online, replay_online
from inferplan.planner.batch_policy import BatchPolicy
from inferplan.planner.batch_simulate import replay_policy
from inferplan.policy.batch_allocation import BatchAllocator
from inferplan.profiles.store import load_profile
from inferplan.replay.split import split_problems

FILES = ("gpqa_diamond_gpt-oss-20b", "gpqa_diamond_NVIDIA-Nemotron-Nano-9B-v2",
         "math500_gpt-oss-20b", "math500_Phi-4-reasoning")
SC_GRID, ACC_GRID, ONLINE = (4, 8, 16, 32), (2, 4, 8), (4, 8)
REPS = 8  # orders of the held-out samples per split at equal tokens (as plan --batch predicts)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load(path: Path) -> tuple[list[str], list[np.ndarray], list[np.ndarray], list[frozenset[int]], list[dict]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    names: dict[str, int] = {}
    ids, answers, costs, gold = [], [], [], []
    for n, r in enumerate(rows):
        ids.append(str(r.get("problem_num", n)))
        answers.append(np.array([-1 if str(a[0]).strip() == "" else names.setdefault(str(a[0]), len(names))
                                 for a in r["all_answers"]]))
        costs.append(np.array([float(a[1]) for a in r["all_answers"]]))
        g = str(r["gold_answer"])
        gold.append(frozenset([names[g]]) if g in names else frozenset())
    return ids, answers, costs, gold, rows


def sc_copy(rows: list[dict], answers: list[np.ndarray], dst: Path) -> Path:
    """The file with each gold answer replaced by maj@all (ties: the answer recorded first)."""
    from inferplan.planner.batch import reference_answer
    with dst.open("w") as f:
        for r, a in zip(rows, answers):
            ref = reference_answer(a)
            r = dict(r, gold_answer="" if ref < 0 else str(r["all_answers"][int(np.flatnonzero(a == ref)[0])][0]))
            f.write(json.dumps(r) + "\n")
    return dst


def per_query(prof: Path, budget: float, seed: int, work: Path) -> tuple[float, float]:
    """(tokens per query, rate) of the planner's plan at ``budget`` tokens, replayed held out."""
    res = plan(prof, budget=budget, unit="tokens", seed=seed)
    sim = simulate(prof, plan=save_plan(res.plan, work / f"p{seed}_{budget:.0f}.json", force=True))
    return float(sim.estimate.cost.point), float(sim.estimate.accuracy.point)


def at_equal_tokens(prof: Path, budget: float, seed: int, work: Path, reps: int) -> dict:
    """The product at ``budget`` per query: ``plan --batch`` on the training half (the per-query plan
    and its batch_allocation), the plan replayed held out (what it spends, c per query), then
    ``simulate --total-budget c × n`` (the plan's allocator, the fixed ones, uniform) on ``reps``
    orders, and the oracle: the best of the candidates ``plan --batch`` chooses among, chosen on
    these held-out orders (an upper bound of the policy space, never a prediction)."""
    res = plan(prof, budget=budget, unit="tokens", seed=seed, batch=True)
    path = save_plan(res.plan, work / f"b{seed}_{budget:.0f}.json", force=True)
    sim = simulate(prof, plan=path)
    c, pa = float(sim.estimate.cost.point), float(sim.estimate.accuracy.point)
    tot = simulate(prof, plan=path, total_budget=c * len(res.plan.heldout), reps=reps, seed=seed)
    rows = {r.name.split(" (")[0]: r for r in tot.rows}
    profile = open_profile(prof)
    ids = {pid: i for i, pid in enumerate(profile.table.problems)}
    test = np.array(sorted(ids[x] for x in res.plan.heldout if x in ids))
    te = _orders(profile, res.plan, test, reps, seed)
    total = c * len(test)
    oracle = {cand.name: float(_per_problem(te, lambda st, r, cand=cand: replay_policy(
        st, cand, res.plan, total, seed + r))[0].mean()) for cand in candidates(max(len(a) for a in te[0].answers))}
    best = max(oracle, key=oracle.get)
    own = res.plan.batch_allocation
    free = [replay_policy(st, BatchPolicy(), res.plan, float("inf"), seed + r) for r, st in enumerate(te)]
    spend = np.array([float(tr.cost[-1]) for tr in free]) / total  # the rule's own spend ÷ the hard total
    return {"c": c, "plan": pa, "own": rows[f"plan's batch_allocation {own.name}"].accuracy.point, "own_name": own.name,
            "plain": rows["batch allocation"].accuracy.point, "rule": rows["batch, within the plan's rule and cap"].accuracy.point,
            "uniform": rows["uniform"].accuracy.point, "oracle": oracle[best], "oracle_name": best,
            "hybrid": rows["hybrid: the plan's rule, then the rest plainly"].accuracy.point,
            "free": float(np.mean([tr.final_correct.mean() for tr in free])), "free_spend": float(spend.mean()),
            "free_over": float(np.mean(spend > 1 + 1e-9)), "free_max": float(spend.max()),
            "own_spent": rows[f"plan's batch_allocation {own.name}"].spent / tot.problems}


def bench_file(path: Path, work: Path, seeds: int, plan_seeds: int, acc_only: bool = False) -> dict:
    ids, answers, costs, gold, rows = load(path)
    n_options = 4  # 4 option slots (PETS: 4 for multiple choice, 32 for open answers; 4 did better on MATH500 too)
    prof = import_published("boinf", path, work / f"{path.stem}.jsonl", force=True)
    prof_sc = import_published("boinf", sc_copy(rows, answers, work / f"{path.stem}.sc.src.jsonl"),
                               work / f"{path.stem}.sc.jsonl", force=True)
    table = load_profile(prof)
    row_of = {pid: i for i, pid in enumerate(ids)}
    mean_tok = float(np.mean(np.concatenate(costs)))
    out: dict = {"sc": {r: {"uniform": [], "batch": [], "plan": []} for r in (0.95, 0.99)},
                 "acc": [], "online": [], "n": 0}
    for s in range(seeds):
        t0 = time.perf_counter()
        split = split_problems(table, 0.5, s)
        test = [row_of[table.problems[i]] for i in split.test]
        train = [row_of[table.problems[i]] for i in split.train]
        pick = lambda idx: ([answers[i] for i in idx], [costs[i] for i in idx], [gold[i] for i in idx])  # noqa: E731
        st = make_streams(*pick(test), seed=1000 + s)
        n = st.n
        out["n"] = n
        if acc_only:
            for k in ACC_GRID if s < plan_seeds else ():
                out["acc"].append(dict(at_equal_tokens(prof, k * mean_tok, s, work, REPS), k=k))
                log(json.dumps({"file": path.stem, "seed": s, **out["acc"][-1]}))
            log(f"  {path.stem} seed {s}: {time.perf_counter() - t0:.1f}s")
            continue
        uni = replay_uniform(st)
        bat = replay_batch(st, make=lambda q, s=s: BatchAllocator(q, n_options=n_options, random_state=s))
        for r in (0.95, 0.99):
            out["sc"][r]["uniform"].append(uni.cost_to_reach(r) / n)
            out["sc"][r]["batch"].append(bat.cost_to_reach(r) / n)
        prices = price_online(make_streams(*pick(train), seed=2000 + s), seed=s)
        if s < plan_seeds:
            sc_plans = [per_query(prof_sc, k * mean_tok, s, work) for k in SC_GRID]
            for r in (0.95, 0.99):
                hit = [c for c, rate in sc_plans if rate >= r - 1e-9]
                out["sc"][r]["plan"].append(min(hit) if hit else float("nan"))
            for k in ACC_GRID:
                eq = at_equal_tokens(prof, k * mean_tok, s, work, REPS)
                eq["k"] = k
                out["acc"].append(eq)
                c, acc = eq["c"], eq["plan"]
                if k in ONLINE:
                    on = replay_online(st, prices, c, seed=s)
                    sc_c, sc_rate = min(sc_plans, key=lambda p: abs(p[0] - c))
                    out["online"].append((k, c, acc, on.cost[-1] / n, on.correct[-1] / n, on.agree[-1] / n,
                                          uni.at(on.cost[-1])[0], sc_c, sc_rate))
        log(f"  {path.stem} seed {s}: {time.perf_counter() - t0:.1f}s")
    return out


def _counts(names) -> list[tuple[str, int]]:
    out: dict[str, int] = {}
    for n in names:
        out[n] = out.get(n, 0) + 1
    return sorted(out.items(), key=lambda kv: -kv[1])


def fmt_k(x: float) -> str:
    return "never" if not np.isfinite(x) else f"{x / 1000:,.1f}k"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--plan-seeds", type=int, default=3)
    ap.add_argument("--files", nargs="*", default=list(FILES))
    ap.add_argument("--acc-only", action="store_true", help="only the accuracy rows at equal total tokens")
    args = ap.parse_args()
    lines, verdicts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.files:
            res = bench_file(args.data / "boinf" / f"{name}.jsonl", Path(tmp), args.seeds, args.plan_seeds,
                             args.acc_only)
            n = res["n"]
            for r in (0.95, 0.99) if res["sc"][0.95]["uniform"] else ():
                u, b = np.nanmean(res["sc"][r]["uniform"]), np.nanmean(res["sc"][r]["batch"])
                p = np.nanmean(res["sc"][r]["plan"]) if res["sc"][r]["plan"] and np.isfinite(res["sc"][r]["plan"]).any() else float("nan")
                miss = sum(not np.isfinite(x) for x in res["sc"][r]["plan"])
                ok = b / u <= 0.4 if r == 0.99 else None
                verdicts.append(ok)
                lines.append(f"{name} (n={n}) | SC {100 * r:.0f}% tokens/query | batch {fmt_k(b)} = {b / u:.2f}× uniform "
                             f"{fmt_k(u)}; per-query plan {fmt_k(p)}" + (f" ({miss} split(s) never)" if miss else "")
                             + f" | {'≤ 0.40× uniform' if r == 0.99 else 'report'} | "
                             + ("INFO" if ok is None else "PASS" if ok else "FAIL"))
            for k in ACC_GRID:
                rows = [a for a in res["acc"] if a["k"] == k]
                if not rows:
                    continue
                m = {key: np.mean([x[key] for x in rows]) for key in ("c", "plan", "own", "plain", "rule", "uniform",
                                                                      "oracle", "hybrid", "free", "free_spend",
                                                                      "free_over")}
                d = [100 * (x["own"] - x["plan"]) for x in rows]
                se = np.std(d, ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
                do = 100 * (m["oracle"] - m["plan"])
                verdicts.append(("acc", float(np.mean(d))))
                chosen = ", ".join(f"{n}×{v}" for n, v in _counts(x["own_name"] for x in rows))
                best = ", ".join(f"{n}×{v}" for n, v in _counts(x["oracle_name"] for x in rows))
                lines.append(f"{name} | acc at {fmt_k(m['c'])} tokens/query (plan budget {k}× sample) | plan --batch "
                             f"{100 * m['own']:.2f}% vs per-query plan {100 * m['plan']:.2f}% ({np.mean(d):+.2f} pt, "
                             f"SE {se:.2f}; chose {chosen}); within-rule/1 {100 * m['rule']:.2f}%, plain/1 "
                             f"{100 * m['plain']:.2f}%, hybrid/1 {100 * m['hybrid']:.2f}%, uniform {100 * m['uniform']:.2f}%; oracle "
                             f"{100 * m['oracle']:.2f}% ({do:+.2f} pt; {best}); the rule with no total "
                             f"{100 * m['free']:.2f}% spending {m['free_spend']:.3f}× the total (over it in "
                             f"{100 * m['free_over']:.0f}% of orders, at most {max(x['free_max'] for x in rows):.3f}×) "
                             f"| ≥ plan − 0.3 pt | {'PASS' if np.mean(d) >= -0.3 else 'FAIL'}")
            for k in ONLINE:
                rows = [o for o in res["online"] if o[0] == k]
                if not rows:
                    continue
                m = [np.mean([x[i] for x in rows]) for i in range(1, 9)]
                c, pa, oc, oa, osc, usc, scc, scr = m
                lines.append(f"{name} | online at {fmt_k(c)} tokens/query | online spends {fmt_k(oc)}: acc {100 * oa:.2f}% "
                             f"vs plan {100 * pa:.2f}% ({100 * (oa - pa):+.2f} pt); SC {100 * osc:.2f}% vs uniform "
                             f"{100 * usc:.2f}% (SC plan at {fmt_k(scc)}: {100 * scr:.2f}%) | report | INFO")
    accs = [v[1] for v in verdicts if isinstance(v, tuple)]
    print(f"\nIssue 33 — one budget over a batch (held-out halves; batch/uniform over {args.seeds} splits, "
          f"per-query plans over {args.plan_seeds})")
    print("set | measure | result | target | verdict")
    for line in lines:
        print(line)
    if accs:
        above = sum(d > 0 for d in accs)
        ok = all(d >= -0.3 for d in accs) and above >= len(accs) / 2
        print(f"all sets | accuracy at equal tokens | above the plan in {above}/{len(accs)}, worst {min(accs):+.2f} pt "
              f"| none below −0.3, ≥ half above | {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()

"""Plans across models on the Best-of-∞ sets of several models (issue 31).

For every benchmark in ``shared/data/boinf`` with several models, 10 seeded splits (held-out
half), cost in FLOPs (2 × active parameters × completion tokens). Budgets: the best single
model's fixed-4 and fixed-16 FLOPs on the training problems ("best": highest fixed-16
training accuracy) and 4× its fixed-16. At each budget, held-out accuracy of:

- the multi-model plan (``inferplan plan A B …``: choose a model or cascade, on training problems);
- the best single-model plan, chosen on the training problems (the *choose* policy alone);
- the best single model's plan: every model's own plan at the budget, replayed on the held-out
  problems; "best" is the model whose plan scores highest on average over the splits (known only
  in hindsight; the multi-model plan is judged against it: it must find that model itself);
- the best cascade found on the training problems, whether or not the plan chose it, and its
  escalation share.

Differences are paired per split on the same held-out problems; ± is the standard error over
the 10 splits' mean differences (the splits overlap, so read it as indicative).

``--unit usd``: each model priced per output token through the planner's usd unit (as ``plan
--price``), the smallest at $1 and the others at ``--price-ratio`` × (30: hosted APIs' spread), or
``--price MODEL=[IN,]OUT`` each. ``--oracle``: beside the plan, the best policy of the space picked
on the held-out half itself (models_oracle.py) — whether any could clear the best single model.

    python benchmarks/bench_models.py --data ../shared/data [--seeds 10] [--sets gpqa_diamond,math500]
        [--unit usd --price-ratio 30] [--oracle]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from inferplan.importers.published import import_published
from inferplan.planner.model_mix import mix_wins
from inferplan.planner.models import MIX_SE, ModelProfile, ModelsSearch, model_name
from inferplan.planner.selection import beats_by
from inferplan.profiles.profile import Profile
from inferplan.replay.cost import CostModel, cost_model_for
from models_oracle import Oracle

# Active parameters (REFERENCE.md §9): a sample's FLOPs are 2 × these × its tokens.
ACTIVE = {"Qwen3-4B": 4.0e9, "Qwen3-14B": 14.8e9, "gpt-oss-20b": 3.6e9, "Phi-4-reasoning": 14.7e9,
          "NVIDIA-Nemotron-Nano-9B-v2": 9.0e9, "LIMO-v2": 32.8e9, "Datarus-R1-14B-preview": 14.8e9}
SETS = ("aime2024", "aime2025", "gpqa_diamond", "math500")
# The mix's guard, in paired standard errors over the plan without a mix (inf: never a mix).
MIX_GUARDS = (float("inf"), 2.0, 1.0, 0.5, 0.0)
BUDGETS = ("fixed-4", "fixed-16", "4x fixed-16")  # the best single model's fixed-4 and fixed-16, and 4× that


def load(data: Path, dataset: str, work: Path, unit: str = "flops", prices: dict | None = None,
         ratio: float = 30.0) -> list[ModelProfile]:
    """The set's models, each priced in ``unit``: FLOPs by its active parameters, or USD per completion
    token through the planner's usd unit (what ``plan --price MODEL=IN,OUT`` builds, replay/cost.py)."""
    profs = []
    for f in sorted((data / "boinf").glob(f"{dataset}_*.jsonl")):
        dest = work / f.name
        if not dest.exists():
            import_published("boinf", f, dest, force=True)
        profs.append(Profile.open(dest))
    names = [model_name(p) for p in profs]
    if unit == "flops":
        unknown = [n for n in names if n not in ACTIVE]
        if unknown:
            raise SystemExit(f"no active parameter count for {unknown[0]}; add it to ACTIVE or use --unit usd")
        return [ModelProfile(n, p, CostModel("flops", parameters=ACTIVE[n])) for n, p in zip(names, profs)]
    priced = usd_prices(names, profs, prices or {}, ratio)
    return [ModelProfile(n, p, cost_model_for(p.table, "usd", price_in=priced[n][0], price_out=priced[n][1],
                                              profile=p.path)) for n, p in zip(names, profs)]


def usd_prices(names: list[str], profs: list[Profile], explicit: dict, ratio: float) -> dict:
    """(in, out) USD per million tokens per model: as given (``--price``), else the cheap model at 1 and
    every other at ``ratio`` × — the cheap one the smallest by active parameters where all are known,
    else the one whose samples are shortest (the cheaper per sample at one price)."""
    if all(n in explicit for n in names):
        return {n: explicit[n] for n in names}
    if all(n in ACTIVE for n in names):
        cheap = min(names, key=ACTIVE.get)
    else:
        cheap = min(zip(names, profs), key=lambda x: np.nanmean(x[1].table.completion_tokens))[0]
    return {n: explicit.get(n, (0.0, 1.0 if n == cheap else ratio)) for n in names}


def parse_price(text: str) -> tuple[str, tuple[float, float]]:
    """MODEL=OUT or MODEL=IN,OUT (USD per million tokens), as ``plan --price``."""
    name, _, value = text.rpartition("=")
    parts = [float(x) for x in value.split(",")]
    if not name or len(parts) not in (1, 2):
        raise SystemExit(f"--price {text!r}: give MODEL=OUT or MODEL=IN,OUT (USD per million tokens)")
    return name, (0.0, parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def fixed_point(search, n: int) -> tuple[float, float]:
    """Training accuracy and cost of fixed-n, the one configuration, no cap."""
    for c in search.cands:
        if c.rule.name == "fixed" and c.rule.max_samples == n and c.cap is None and not c.extrapolated and c.term is None:
            return c.accuracy, c.cost
    raise LookupError(n)


def budgets(ms: ModelsSearch) -> tuple[int, list[tuple[str, float]]]:
    """The best single model (highest fixed-16 training accuracy, the cheaper of ties) and the
    bench's budgets (BUDGETS): its fixed-4 and fixed-16 cost on the training problems and 4× that."""
    f16 = [fixed_point(s, 16) for s in ms.searches]
    best = max(range(len(f16)), key=lambda i: (f16[i][0], -f16[i][1]))
    b4, b16 = fixed_point(ms.searches[best], 4)[1], f16[best][1]
    return best, list(zip(BUDGETS, (b4, b16, 4 * b16)))


def run(dataset: str, models: list[ModelProfile], seeds: int, unit: str = "flops", oracle: bool = False) -> list[dict]:
    rows = []
    for seed in range(seeds):
        ms = ModelsSearch(models, unit=unit, seed=seed)
        best_in_space = Oracle(ms) if oracle else None
        best, at = budgets(ms)
        for label, budget in at:
            r = ms.plan(budget=budget, mix_se=float("inf"))  # the plan without a mix, the mix beside it
            guards = {g: _with_mix(r, g) for g in MIX_GUARDS}
            variants = {f"{sel}/{se:g}SE": ms.plan(budget=budget, select=sel, depart_se=se,
                                                   mix_se=float("inf")).heldout.accuracy.point
                        for sel in ("union", "reference", "guarded", "guarded-2se") for se in (1.0, 2.0)}
            choose_only = ms.plan(budget=budget, policy="choose", mix_se=float("inf"))
            rows.append(dict(set=dataset, budget=label, seed=seed, plan=r.heldout.accuracy.point, kind=r.kind,
                             variants=variants,
                             single=choose_only.heldout.accuracy.point,
                             singles={s.model: s.heldout.accuracy.point for s in r.singles},
                             cascade=r.cascade.heldout.accuracy.point if r.cascade else np.nan,
                             escalation=r.cascade.escalation if r.cascade else np.nan,
                             cost=r.heldout.cost.point / budget, best_model=models[best].name,
                             paired=r.paired_vs_single,
                             stages=len(r.cascade.cascade.stages) if r.cascade else 0,
                             mix=r.mix.heldout.accuracy.point if r.mix else np.nan,
                             mix_beats=guards[MIX_SE] != guards[float("inf")],  # taken at the shipped guard
                             with_mix=guards[MIX_SE], guards=guards,
                             oracle=best_in_space.at(budget) if best_in_space else None))
    return rows


def _with_mix(r, guard: float) -> float:
    """The plan's held-out accuracy had its mix guard been ``guard`` paired SEs: the mix where it beats
    the chosen single-model plan (and a chosen cascade) on the training problems by the guard
    (the planner's own test, planner/model_mix.mix_wins), else the plan without a mix."""
    m = r.mix
    if m is None:
        return r.heldout.accuracy.point
    m = replace(m, beats=beats_by(m.gain, m.se, guard))
    wins = mix_wins(m, r.cascade.train_per_problem if r.kind == "cascade" else None, guard, "auto", [])
    return m.heldout.accuracy.point if wins else r.heldout.accuracy.point


def mix_guard(rows: list[dict]) -> None:
    """The mix's guard chosen leave-one-set-out: for each set, the guard whose plan is closest to (or
    furthest above) the best single model's plan on the OTHER sets, reported on the held-out set."""
    sets, gap = _gaps(rows, "guards", MIX_GUARDS)
    print("\nmix guard (plan − best single model, points, mean over budgets and splits; inf = never a mix):")
    print(f"{'set':<13} " + " ".join(f"{g:>8g}" for g in MIX_GUARDS) + "   chosen on the other sets (held-out)")
    for dataset in sets:
        pick = _chosen_elsewhere(gap, sets, dataset, MIX_GUARDS)
        print(f"{dataset:<13} " + " ".join(f"{np.mean(gap[dataset, g]):+8.2f}" for g in MIX_GUARDS)
              + f"   {pick:g} SE ({np.mean(gap[dataset, pick]):+.2f})")
        for label in BUDGETS:
            rs = [r for r in rows if r["set"] == dataset and r["budget"] == label]
            d = 100 * np.array([r["guards"][pick] - r["singles"][_hindsight_best(rs)] for r in rs])
            se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
            chosen = sum(r["guards"][pick] != r["guards"][float("inf")] for r in rs)
            print(f"    {label:<12} plan {100 * np.mean([r['guards'][pick] for r in rs]):6.2f}  "
                  f"− best single {d.mean():+6.2f} ± {se:4.2f}  (mix taken in {chosen}/{len(rs)} splits)")


def _gaps(rows: list[dict], key: str, choices) -> tuple[list, dict]:
    """The sets, and per (set, choice) every split's and budget's plan − the best single model's plan
    (hindsight), in points: what a choice made leave-one-set-out is judged by."""
    sets = list(dict.fromkeys(r["set"] for r in rows))
    gap: dict = {}
    for dataset in sets:
        for label in BUDGETS:
            rs = [r for r in rows if r["set"] == dataset and r["budget"] == label]
            best = _hindsight_best(rs)
            for c in choices:
                gap.setdefault((dataset, c), []).extend(100 * (r[key][c] - r["singles"][best]) for r in rs)
    return sets, gap


def _chosen_elsewhere(gap: dict, sets: list, dataset, choices):
    """The choice best on average over the sets other than ``dataset``."""
    others = {c: np.mean([np.mean(gap[o, c]) for o in sets if o != dataset]) for c in choices}
    return max(others, key=others.get)


def _hindsight_best(rs: list[dict]) -> str:
    """The model whose own plan scores best on the held-out problems on average over the splits."""
    models = [m for m in rs[0]["singles"] if all(m in r["singles"] for r in rs)]
    return max(models, key=lambda m: np.mean([r["singles"][m] for r in rs]))


def _cells(rows: list[dict]):
    """(set, budget, its rows per split) for every set in the order met and every budget in BUDGETS."""
    for dataset in dict.fromkeys(r["set"] for r in rows):
        for label in BUDGETS:
            rs = [r for r in rows if r["set"] == dataset and r["budget"] == label]
            if rs:
                yield dataset, label, rs


def report(rows: list[dict]) -> list:
    mixes = []
    print(f"{'set':<13} {'budget':<12} {'plan':>6} {'single':>6} {'best':>6} {'plan−best':>12} "
          f"{'plan−single':>12} {'cascade':>7} {'esc':>5} {'cost/B':>6}  chosen")
    for dataset, label, rs in _cells(rows):
        g = {k: np.array([r[k] for r in rs], dtype=float) for k in ("plan", "single", "cascade", "escalation",
                                                                       "cost")}
        best = _hindsight_best(rs)
        g["oracle"] = np.array([r["singles"][best] for r in rs])
        d_or, d_si = 100 * (g["plan"] - g["oracle"]), 100 * (g["plan"] - g["single"])
        se = lambda d: d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0  # noqa: E731
        kinds = sum(r["kind"] == "cascade" for r in rs)
        print(f"{dataset:<13} {label:<12} {100 * g['plan'].mean():6.2f} {100 * g['single'].mean():6.2f} "
              f"{100 * g['oracle'].mean():6.2f} {d_or.mean():+6.2f}±{se(d_or):4.2f} {d_si.mean():+6.2f}±{se(d_si):4.2f} "
              f"{100 * np.nanmean(g['cascade']):7.2f} {100 * np.nanmean(g['escalation']):5.1f} "
              f"{np.mean(g['cost']):6.2f}  cascade {kinds}/{len(rs)}; best model {best}")
        mixes.append((dataset, label, rs))
    return mixes


def report_deeper(mixes: list) -> None:
    """Three-stage cascades and mixes in one vote, per set and budget (held-out, paired per split)."""
    print("\nthree stages and mixes (held-out %; 'with mix': the mix where it beat the best single model on the "
          f"training problems by > {MIX_SE:g} paired SE (the shipped guard), else the plan):")
    print(f"{'set':<13} {'budget':<12} {'3-stage':>7} {'mix':>6} {'beats':>5} {'with mix':>8} {'with−plan':>11}")
    for dataset, label, rs in mixes:
        d = 100 * np.array([r["with_mix"] - r["plan"] for r in rs])
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
        print(f"{dataset:<13} {label:<12} {sum(r['stages'] == 3 for r in rs):>3}/{len(rs):<3} "
              f"{100 * np.nanmean([r['mix'] for r in rs]):6.2f} {sum(r['mix_beats'] for r in rs):>2}/{len(rs):<2} "
              f"{100 * np.mean([r['with_mix'] for r in rs]):8.2f} {d.mean():+6.2f}±{se:4.2f}")


def _paired(a: np.ndarray, b: np.ndarray) -> str:
    """a − b in points, mean over the splits ± the standard error of the per-split differences."""
    d = 100 * (a - b)
    d = d[~np.isnan(d)]
    se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
    return f"{d.mean():+6.2f}±{se:4.2f}" if len(d) else f"{'–':>11}"


def report_oracle(rows: list[dict]) -> None:
    """Per set and budget, against the best single model's plan (hindsight), paired per split: the
    training-best cascade (whether or not the plan chose it) and the oracle — the best single-model
    candidate, two-stage cascade and mix within the budget, picked on the held-out half itself
    (models_oracle.py): whether any policy in the space could clear the best model by its SE."""
    print("\ncascade and oracle (held-out %, minus the best single model's plan ± paired SE over the splits; "
          "oracle: the best of the space picked on the held-out half):")
    print(f"{'set':<13} {'budget':<12} {'best':>6} {'cascade':>7} {'casc−best':>11} {'esc':>5} "
          f"{'or.casc':>7} {'or.casc−best':>12} {'or.mix':>6} {'or.mix−best':>11} {'or.single−best':>14} "
          f"{'oracle−best':>11}")
    for dataset, label, rs in _cells(rows):
        best = np.array([r["singles"][_hindsight_best(rs)] for r in rs])
        cascade, esc = (np.array([r[k] for r in rs], dtype=float) for k in ("cascade", "escalation"))
        line = (f"{dataset:<13} {label:<12} {100 * best.mean():6.2f} {100 * np.nanmean(cascade):7.2f} "
                f"{_paired(cascade, best)} {100 * np.nanmean(esc):5.1f}")
        if rs[0]["oracle"] is None:  # no --oracle: the cascade columns alone
            print(line)
            continue
        orc = {k: np.array([r["oracle"][k] for r in rs], dtype=float) for k in ("single", "cascade", "mix")}
        top = np.fmax(np.fmax(orc["single"], orc["cascade"]), orc["mix"])
        print(f"{line} {100 * np.nanmean(orc['cascade']):7.2f} {_paired(orc['cascade'], best):>12} "
              f"{100 * np.nanmean(orc['mix']):6.2f} {_paired(orc['mix'], best)} "
              f"{_paired(orc['single'], best):>14} {_paired(top, best)}")


def best_of(rows: list[dict]) -> dict:
    """Per set: each variant's mean shortfall against the best single model's plan (points, averaged
    over budgets and splits), and the variant chosen leave-one-set-out (the best on the OTHER sets)."""
    names = list(rows[0]["variants"])
    sets, gap = _gaps(rows, "variants", names)
    print("\nvariants (plan − best single model, points, mean over budgets and splits):")
    print(f"{'set':<13} " + " ".join(f"{v:>14}" for v in names) + "   chosen on the other sets")
    for dataset in sets:
        pick = _chosen_elsewhere(gap, sets, dataset, names)
        print(f"{dataset:<13} " + " ".join(f"{np.mean(gap[dataset, v]):+14.2f}" for v in names)
              + f"   {pick} ({np.mean(gap[dataset, pick]):+.2f})")
    return gap


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--work", type=Path, default=None, help="keep imported profiles here (default: a temp dir)")
    ap.add_argument("--unit", choices=("flops", "usd"), default="flops")
    ap.add_argument("--oracle", action="store_true", help="also the best policy of the space picked on the "
                    "held-out half (models_oracle.py; slow)")
    ap.add_argument("--price-ratio", type=float, default=30.0, help="usd: every model at this × the cheap one's price")
    ap.add_argument("--price", action="append", default=[], metavar="MODEL=[IN,]OUT",
                    help="usd: a model's USD per million tokens (as plan --price); all given: no ratio")
    args = ap.parse_args()
    prices = dict(parse_price(p) for p in args.price)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        for dataset in args.sets.split(","):
            models = load(args.data, dataset, work, args.unit, prices, args.price_ratio)
            priced = "" if args.unit == "flops" else " at " + ", ".join(
                f"${m.cost.price_out:g}" for m in models) + " per million output tokens"
            print(f"{dataset}: {len(models)} models ({', '.join(m.name for m in models)}){priced}", flush=True)
            rows += run(dataset, models, args.seeds, args.unit, args.oracle)
        report_deeper(report(rows))
        report_oracle(rows)
        best_of(rows)
        mix_guard(rows)
    print(f"({time.perf_counter() - t0:.0f} s; accuracy in %, held-out half, {args.seeds} seeded splits, "
          f"{'FLOPs' if args.unit == 'flops' else 'USD'})")


if __name__ == "__main__":
    main()

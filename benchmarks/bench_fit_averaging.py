"""How ``fit`` averages its two pass@k families, and what the alternatives did.

``fit`` scores the difficulty model and the power law by the extrapolation CV
(``model_select.cv_predictions``) and reports their average with the least-squares
stacked share. This benchmark compares that rule with the others considered, on the same
subsamples as ``bench_fit.py`` (21 Best-of-∞ files, 8 of 80 samples → pass@80; OSCA,
10 of 300 runs → pass@100 and pass@300 on its test problems, configurations and both k
averaged), 20 subsamples each:

- ``first`` — the CV's first-ranked family alone (the one-standard-error rule);
- ``inverse`` — shares ∝ 1 / CV error;  ``equal`` — half each;
- ``stack-abs`` / ``stack-sq`` — the share minimising the CV's absolute / squared error of the
  averaged prediction (grid of 0.05 / closed form); ``stack-sq`` ships;
- ``clear-else-inverse`` — the CV winner alone where it wins by more than one standard error,
  else inverse;
- ``bb`` / ``plaw`` — each family alone.

Then the rule is re-chosen leave-one-set-out over the 22 sets (lowest mean error on the
other 21) and scored on the set left out.

Run: python3 benchmarks/bench_fit_averaging.py [--data ../shared/data] [--reps 20]  (under a minute)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_fit import subsample_rows
from inferplan.fitting.model_select import FAMILIES, cv_predictions, make_difficulty, powerlaw_fit, stacked
from inferplan.fitting.pass_curves import curve_grid, fit_pass_curves
from inferplan.importers.published import import_published
from inferplan.profiles.counts import count_matrix
from inferplan.profiles.store import load_profile
from inferplan.stats.estimators import pass_at_k

RULES = ("first", "inverse", "equal", "stack-abs", "stack-sq", "clear-else-inverse", "bb", "plaw")
GRID = np.linspace(0, 1, 21)


def power_law_share(rule: str, a: np.ndarray, b: np.ndarray, truth: np.ndarray) -> float:
    """The power law's share under ``rule``, from the CV predictions a (difficulty) and b (power law)."""
    ea, eb = np.abs(a - truth).mean(1), np.abs(b - truth).mean(1)  # per fold
    d = eb - ea
    clear = abs(d.mean()) > d.std(ddof=1) / np.sqrt(d.size)
    if rule == "first":
        return float(d.mean() + d.std(ddof=1) / np.sqrt(d.size) < 0)
    if rule == "inverse" or (rule == "clear-else-inverse" and not clear):
        return float(ea.mean() / (ea.mean() + eb.mean()))
    if rule == "clear-else-inverse":
        return float(d.mean() < 0)
    if rule == "stack-abs":
        return float(GRID[np.argmin([np.abs((1 - s) * a + s * b - truth).mean() for s in GRID])])
    if rule == "stack-sq":
        return stacked(a, b, truth, FAMILIES)[FAMILIES[1]]
    return {"equal": 0.5, "bb": 0.0, "plaw": 1.0}[rule]


def errors(subsamples: list[tuple], truth: np.ndarray) -> dict[str, float]:
    """Mean |prediction − truth| (points) per rule over (difficulty, power law, CV) subsamples."""
    out = {}
    for rule in RULES:
        errs = []
        for bb, pl, (preds, cv_truth) in subsamples:
            s = power_law_share(rule, preds[FAMILIES[0]], preds[FAMILIES[1]], cv_truth)
            errs.append(np.abs((1 - s) * bb + s * pl - truth).mean())
        out[rule] = 100 * float(np.mean(errs))
    return out


def boinf_set(path: Path, tmp: Path, reps: int, m: int = 8, k: int = 80) -> dict[str, float]:
    table = load_profile(import_published("boinf", path, tmp / path.name))
    _, N, C = count_matrix(table)
    truth = np.array([pass_at_k(N[:, 0], C[:, 0], k).mean()])
    subsamples = []
    for rep in range(reps):
        rows = subsample_rows(table, m, np.random.default_rng(10_000 + rep))
        n = np.bincount(table.problem[rows], minlength=N.shape[0])
        c = np.bincount(table.problem[rows], weights=table.correct[rows], minlength=n.size).astype(np.int64)
        bb = fit_pass_curves(FAMILIES[0], n[:, None], c[:, None], np.array([float(k)]), 0.9, rep, 1, 1e-3,
                             curve_grid(k))[0]["pred"]
        pl = powerlaw_fit(n, c).predict_pass_at_k([k])
        subsamples.append((bb, pl, cv_predictions(n[:, None], c[:, None], random_state=rep)))
    return errors(subsamples, truth)


def osca_set(data: Path, tmp: Path, reps: int, ks=(100, 300)) -> dict[str, float]:
    table = load_profile(import_published("osca", data / "osca" / "bigcodebench_hard.json", tmp / "osca.jsonl"))
    problems, N, C = count_matrix(table)
    test = np.isin(np.array(problems), list(table.split()["test"]))
    Q = N.shape[1]
    truth = np.array([[pass_at_k(N[test, q], C[test, q], k).mean() for k in ks] for q in range(Q)])
    subsamples = []
    for rep in range(reps):
        rng = np.random.default_rng(10_000 + rep)
        Ns, Cs = np.full_like(N, 10), rng.hypergeometric(C, N - C, 10)
        model = make_difficulty(FAMILIES[0], rep).fit(Ns, Cs)
        bb = np.array([model.problem_pass_at_k(list(ks), q)[test].mean(0) for q in range(Q)])
        pl = np.array([powerlaw_fit(Ns[test, q], Cs[test, q]).predict_pass_at_k(list(ks)) for q in range(Q)])
        subsamples.append((bb, pl, cv_predictions(Ns, Cs, random_state=rep)))
    return errors(subsamples, truth)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    if not (args.data / "boinf").is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 1
    t0, tmp = time.time(), Path(tempfile.mkdtemp())
    E = {p.stem: boinf_set(p, tmp, args.reps) for p in sorted((args.data / "boinf").glob("*.jsonl"))}
    E["osca (pass@100, pass@300)"] = osca_set(args.data, tmp, args.reps)
    print(f"{'set':<42}" + "".join(f"{r[:10]:>11}" for r in RULES))
    for name, e in E.items():
        print(f"{name:<42}" + "".join(f"{e[r]:>11.2f}" for r in RULES))
    boinf = [e for name, e in E.items() if not name.startswith("osca")]
    print(f"{'Best-of-∞ mean':<42}" + "".join(f"{np.mean([e[r] for e in boinf]):>11.2f}" for r in RULES))
    data_driven = RULES[:6]
    held = {}
    for name in E:
        others = [e for other, e in E.items() if other != name]
        pick = min(data_driven, key=lambda r: np.mean([e[r] for e in others]))
        held[name] = (pick, E[name][pick])
    print("\nrule re-chosen leave-one-set-out: Best-of-∞ mean "
          f"{np.mean([v for name, (_, v) in held.items() if not name.startswith('osca')]):.2f}, OSCA "
          f"{next(v for name, (_, v) in held.items() if name.startswith('osca')):.2f}; rules picked: "
          f"{sorted({p for p, _ in held.values()})}")
    print(f"total {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

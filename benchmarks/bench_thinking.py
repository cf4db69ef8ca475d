"""Issue 30: does planning the thinking budget pay? Forced answers against plain caps.

Run: ``python3 benchmarks/bench_thinking.py PROFILE [--seeds 10] [--budgets 300,600,1200]``, where
PROFILE was recorded with answer-now probes, e.g. on the realistic model::

    inferplan profile --model qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \\
        --tasks ../shared/data/tasks/gsm8k_test.jsonl --shuffle --limit 100 -t 0.7 -n 8 \\
        --max-tokens 320 --probe-depths 128,192,256,288 --template chat -o gsm_probe.jsonl

It prints:

1. accuracy per sample against the budget, plain cap (a sample still thinking abstains) beside
   a forced answer (it is made to answer), with 95% Jeffreys intervals over problems, the
   censored shares and the tokens per sample (all problems: a description, not a prediction);
2. what recording the probes cost: the profile's tokens over its samples' own;
3. for each of ``--seeds`` seeded splits (holdout 0.5) and each token budget per query: the
   plan the planner picks with the thinking budget as a variable against the best plan
   without it, both chosen on the training half and replayed on the held-out half — accuracy
   difference with its paired 95% interval (bootstrap over held-out problems) and the token
   ratio; then, at the accuracy the plan without forcing reached on its training half, the
   cheapest plan of each kind (target mode) and its held-out tokens and accuracy.

Nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from inferplan.api import plan
from inferplan.backends import token_counter
from inferplan.errors import InfeasibleError
from inferplan.planner.candidates import Mix, TraceCache
from inferplan.profiles.store import load_profile
from inferplan.replay.budget_curve import budget_curve, probe_overhead
from inferplan.replay.cost import CostModel
from inferplan.replay.split import split_problems
from inferplan.replay.traces import densify, evaluate
from inferplan.stats.intervals import bootstrap_diff


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def heldout(table, p, test) -> tuple[np.ndarray, np.ndarray]:
    """Per held-out problem accuracy and tokens of plan ``p``, replayed as ``simulate`` does."""
    dense = densify(table, CostModel(unit="tokens", shared_prefix=True), test)
    mix = Mix(tuple(float(p.mix.get(c.name, 0.0)) for c in table.configs), "plan")
    tr = TraceCache(dense, p.aggregation, 20, p.seed).get(mix, p.max_tokens, p.terminate, p.thinking is not None)
    o = evaluate(tr, p.rule)
    return o.accuracy, o.cost


def describe(p) -> str:
    think = f", thinks ≤{p.max_tokens} then answers" if p.thinking else (f", cap {p.max_tokens}" if p.max_tokens else "")
    return f"{p.rule.spec.split(',min')[0]}{think}"


def curve(table) -> None:
    print("\n## Accuracy per sample against the thinking budget (all problems; 95% Jeffreys intervals)\n")
    print("| budget (tokens) | still thinking | plain cap | forced answer | censored plain → forced "
          "| escaped | tokens/sample plain → forced |")
    print("|---|---|---|---|---|---|---|")
    for r in budget_curve(table):
        print(f"| {r.budget} | {100 * r.thinking:.0f}% | {100 * r.plain:.1f}% [{100 * r.plain_ci[0]:.1f}, "
              f"{100 * r.plain_ci[1]:.1f}] | {100 * r.forced:.1f}% [{100 * r.forced_ci[0]:.1f}, "
              f"{100 * r.forced_ci[1]:.1f}] | {100 * r.censored_plain:.0f}% → {100 * r.censored_forced:.0f}% | "
              f"{100 * r.escaped:.0f}% | {r.tokens_plain:.0f} → {r.tokens_forced:.0f} |")


def probe_cost(table) -> None:
    cols = table.probes
    own = float(np.nansum(table.completion_tokens))
    cap = len(cols.depths) - 1  # the last column is the answer forced at the cap
    probes = float(np.nansum(cols.tokens[:, :cap]))
    forced = float(np.nansum(cols.tokens[:, cap]))
    count = token_counter(table.header.model_path or "smollm2")
    prompt = count(table.header.raw["forcing"]["text"])
    asked = int(np.isfinite(cols.tokens[:, :cap]).sum())
    generated = probes - prompt * asked
    print(f"\nRecording cost: samples' own tokens {own:,.0f}; forced answers at the cap {forced:,.0f} "
          f"({forced / own:.3f}x); probes at {', '.join(map(str, cols.depths[:cap]))} {probes:,.0f} "
          f"({probes / own:.3f}x); all {probe_overhead(table):.3f}x. With probes over the same profile "
          f"forcing only at the cap: {(own + forced + probes) / (own + forced):.3f}x; counting only the tokens the "
          f"probes generated (not their {prompt}-token answer prompt, fed like a prompt in one step): "
          f"{(own + forced + generated) / (own + forced):.3f}x ({asked} probes).")


def compare(path, table, budgets, seeds) -> None:
    print("\n## Planned thinking budget vs the best plan without one (held-out halves)\n")
    print("| budget/query | seed | with budget: plan | acc | tokens | without: plan | acc | tokens "
          "| Δacc [95% paired] | token ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for b in budgets:
        diffs, ratios, chosen = [], [], 0
        for s in range(seeds):
            test = split_problems(table, 0.5, s).test
            w = plan(path, budget=b, seed=s).plan
            try:
                wo = plan(path, budget=b, seed=s, thinking_budgets=False).plan
            except InfeasibleError as e:  # plain caps cannot get under the budget; a thinking budget may
                aw, cw = heldout(table, w, test)
                print(f"| {b:g} | {s} | {describe(w)} | {100 * aw.mean():.1f}% | {cw.mean():.0f} | none fits: {e} "
                      "| | | | |")
                continue
            (aw, cw), (ao, co) = heldout(table, w, test), heldout(table, wo, test)
            d, lo, hi = bootstrap_diff(aw, ao, 0.95, 2000, s)
            diffs.append(float(d))
            ratios.append(cw.mean() / co.mean())
            chosen += w.thinking is not None
            print(f"| {b:g} | {s} | {describe(w)} | {100 * aw.mean():.1f}% | {cw.mean():.0f} | {describe(wo)} | "
                  f"{100 * ao.mean():.1f}% | {co.mean():.0f} | {100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] | "
                  f"{cw.mean() / co.mean():.2f} |")
        if diffs:
            summary[b] = (np.mean(diffs), np.std(diffs) / np.sqrt(len(diffs)), np.mean(ratios), chosen)
    print("\n| budget/query | mean Δacc (SE over splits) | mean token ratio | splits that chose a thinking budget |")
    print("|---|---|---|---|")
    for b, (d, se, r, c) in summary.items():
        print(f"| {b:g} | {100 * d:+.2f} ({100 * se:.2f}) | {r:.2f} | {c}/{seeds} |")


def target(path, table, budgets, seeds) -> None:
    print("\n## Tokens to the same accuracy (target mode: the accuracy the plan without a budget reached "
          "on its training half at each budget)\n")
    print("| budget/query | seed | target | with: held-out acc | tokens | without: held-out acc | tokens | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for b in budgets:
        for s in range(seeds):
            test = split_problems(table, 0.5, s).test
            try:
                ref = plan(path, budget=b, seed=s, thinking_budgets=False)
            except InfeasibleError:
                continue
            goal = float(np.mean(ref.train_per_problem))
            w = plan(path, target_accuracy=goal, seed=s).plan
            wo = plan(path, target_accuracy=goal, seed=s, thinking_budgets=False).plan
            (aw, cw), (ao, co) = heldout(table, w, test), heldout(table, wo, test)
            print(f"| {b:g} | {s} | {100 * goal:.1f}% | {100 * aw.mean():.1f}% | {cw.mean():.0f} | "
                  f"{100 * ao.mean():.1f}% | {co.mean():.0f} | {cw.mean() / co.mean():.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budgets", default="300,600,1200", help="token budgets per query")
    a = ap.parse_args()
    table = load_profile(a.profile)
    if table.probes is None:
        sys.exit(f"{a.profile}: no forced answers recorded (profile with --probes)")
    budgets = [float(x) for x in a.budgets.split(",")]
    P = len(set(table.problem.tolist()))
    n = np.bincount(np.bincount(table.problem)).nonzero()[0]
    print(f"# Thinking budgets on {a.profile}\n\n{P} problems, {table.n_samples} samples "
          f"({', '.join(map(str, n))} per problem), depths {table.probes.depths}")
    curve(table)
    probe_cost(table)
    compare(a.profile, table, budgets, a.seeds)
    target(a.profile, table, budgets, a.seeds)


if __name__ == "__main__":
    main()

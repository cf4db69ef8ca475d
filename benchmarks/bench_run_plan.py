"""Throughput of `run --plan` over a file of queries vs a fixed-N run of the same queries.

Both use one loaded engine (load time excluded) and the same prompts; the fixed-N
run draws the plan's mean samples per query in one request each, which keeps the
batch full — the ceiling for this workload. Prints completion tokens/s and tokens/s
counting the prompt prefill, and their ratio.

    python benchmarks/bench_run_plan.py PLAN.json QUERIES.jsonl
"""

from __future__ import annotations

import argparse
import time

import inferplan as ip
from inferplan.runner.plan_runner import PlanOverrides, effective_max_tokens
from inferplan.runner.queries import Query, read_queries
from inferplan.tasks.prompt_spec import PromptSpec


def _rates(results, seconds: float) -> tuple[float, float]:
    comp = sum(r.completion_tokens + getattr(r, "wasted_tokens", 0) for r in results)
    prompt = sum(r.prompt_tokens for r in results)
    return comp / seconds, (comp + prompt) / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("plan")
    ap.add_argument("queries")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    plan = ip.load_plan(args.plan)
    queries = read_queries(args.queries)
    backend = ip.open_backend("smollm2", ip.BackendSettings(threads=args.threads))
    try:
        t0 = time.perf_counter()
        planned = ip.run(plan, queries, model=backend)
        t_plan = time.perf_counter() - t0
        n = max(1, round(sum(r.samples for r in planned) / len(planned)))
        # The same prompts, rendered as the plan renders them, sent as raw text.
        rendered = [(plan.prompt or PromptSpec()).render(q.prompt) for q in queries]
        fixed_q = [Query(id=q.id, prompt=r.prompt, messages=r.messages) for q, r in zip(queries, rendered)]
        temps = tuple(float(plan.configs[c].temperature or 0.0) for c in plan.mix)
        fixed_plan = ip.fixed_plan(n, temperatures=temps, raw=True, stop=rendered[0].stop,
                                   max_tokens=effective_max_tokens(plan, PlanOverrides()))
        t0 = time.perf_counter()
        fixed = ip.run(fixed_plan, fixed_q, model=backend)
        t_fixed = time.perf_counter() - t0
    finally:
        backend.close()
    pc, pa = _rates(planned, t_plan)
    fc, fa = _rates(fixed, t_fixed)
    print(f"{len(queries)} queries; plan {plan.rule.spec}: {sum(r.samples for r in planned)} samples in {t_plan:.1f} s; "
          f"fixed-{n}: {sum(r.samples for r in fixed)} samples in {t_fixed:.1f} s")
    print(f"{'':12} {'completion tok/s':>18} {'incl. prefill':>14}")
    print(f"{'run --plan':12} {pc:18.1f} {pa:14.1f}")
    print(f"{'fixed-N':12} {fc:18.1f} {fa:14.1f}")
    print(f"{'ratio':12} {pc / fc:17.0%} {pa / fa:14.0%}")


if __name__ == "__main__":
    main()

"""`inferplan serve` under concurrent OpenAI clients vs `run --plan` over the same queries.

Both execute the same plan on the same questions, asked as the profile asked them
(``"inferplan": {"prompts": "as-profiled"}``); model loading is excluded. The run
is one process reading a file (the ceiling: every query queued at once); the
server is a separate process answering ``--clients`` threads of the official
``openai`` client, one request per question, so the ratio is what HTTP, JSON and
per-request arrival cost. ``--lm-eval`` then runs lm-evaluation-harness
(``local-chat-completions``) through the same server on a local task file of
the same questions and reports its score and wall time.

    python benchmarks/bench_serve.py PLAN.json [--queries 45] [--clients 16] [--lm-eval]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import inferplan as ip
from inferplan.tasks.builtin import builtin_set

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from lmeval_task import write_task  # noqa: E402
from plan_server import PlanServer  # noqa: E402


def _served(server: PlanServer, questions: list[str], clients: int) -> tuple[float, list, list[float]]:
    import openai

    client = openai.OpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=600)

    def ask(q: str):
        start = time.perf_counter()
        reply = client.chat.completions.create(model="x", messages=[{"role": "user", "content": q}],
                                               extra_body={"inferplan": {"prompts": "as-profiled"}})
        return reply, time.perf_counter() - start

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        out = list(pool.map(ask, questions))
    return time.perf_counter() - t0, [r for r, _ in out], [s for _, s in out]


def _lm_eval(server: PlanServer, tasks, root: Path, clients: int) -> tuple[float, float]:
    write_task(root, "bench_arith", tasks, prompt="{{question}}", max_tokens=256, last=True)
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "OPENAI_API_KEY": "unused"}
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "lm_eval", "--model", "local-chat-completions", "--model_args",
                          f"base_url={server.url}/chat/completions,model=smollm2,num_concurrent={clients}",
                          "--tasks", "bench_arith", "--include_path", str(root), "--apply_chat_template",
                          "--output_path", str(root / "out")], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if run.returncode != 0:
        raise SystemExit(f"lm_eval failed:\n{run.stderr[-2000:]}")
    results = json.loads(next((root / "out").rglob("results_*.json")).read_text())
    return results["results"]["bench_arith"]["exact_match,number"], seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("plan")
    ap.add_argument("--queries", type=int, default=45, help="the first questions of builtin:arith (it has 45)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--lm-eval", action="store_true")
    args = ap.parse_args()
    plan = ip.load_plan(args.plan)
    tasks = builtin_set("arith").tasks[:args.queries]
    questions = [t.text for t in tasks]

    backend = ip.open_backend("smollm2")
    try:
        t0 = time.perf_counter()
        ran = ip.run(plan, questions, model=backend)
        t_run = time.perf_counter() - t0
    finally:
        backend.close()
    server = PlanServer(Path(args.plan)).start()
    try:
        t_serve, replies, latency = _served(server, questions, args.clients)
        scored = _lm_eval(server, tasks, Path(tempfile.mkdtemp(prefix="bench-serve-")), args.clients) \
            if args.lm_eval else None
    finally:
        server.stop()
    run_tokens = sum(r.completion_tokens + r.wasted_tokens for r in ran)
    serve_tokens = sum(r.usage.completion_tokens for r in replies)
    print(f"{len(questions)} questions, plan {plan.rule.spec}; {args.clients} concurrent clients")
    print(f"{'':24} {'seconds':>8} {'samples':>8} {'completion tok/s':>17} {'queries/s':>10}")
    print(f"{'run --plan (one file)':24} {t_run:8.1f} {sum(r.samples for r in ran):8d} {run_tokens / t_run:17.1f} "
          f"{len(ran) / t_run:10.2f}")
    samples = sum(r.model_extra["inferplan"]["samples"] for r in replies)
    print(f"{'serve (openai clients)':24} {t_serve:8.1f} {samples:8d} {serve_tokens / t_serve:17.1f} "
          f"{len(replies) / t_serve:10.2f}")
    print(f"serve / run: {serve_tokens / t_serve / (run_tokens / t_run):.0%} of the tokens/s; request latency "
          f"p50 {statistics.median(latency):.2f} s, max {max(latency):.2f} s")
    if scored is not None:
        print(f"lm-eval through serve: exact_match {scored[0]:.3f} on {len(questions)} questions, "
              f"{scored[1]:.1f} s wall (lm_eval start-up included)")


if __name__ == "__main__":
    main()

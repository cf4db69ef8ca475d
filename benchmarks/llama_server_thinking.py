"""A thinking-budget plan against llama.cpp's own llama-server, the budget applied by the server.

Starts ``llama-server`` (``llama_server.py`` finds the build) on a model with a chat template
whose generation prompt opens a thinking block (``qwen_think.jinja``: Qwen2.5's ChatML plus
``<think>``), so the backend detects the server's own budget and sends it
(``reasoning_budget_tokens`` + ``reasoning_budget_message``) instead of continuing samples
itself. Runs the plan on the first held-out GSM8K problems at each budget and prints, per
budget: how many samples the server cut (the answer prompt and ``</think>`` in the text —
only the server's sampler puts that tag there), their thinking and answer tokens, the share
forced, and the answers against the gold ones. One thread, a handful of problems: a check, not
a benchmark.

    python benchmarks/llama_server_thinking.py --plan PLAN.json --budgets 128,192 --problems 8
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import inferplan
from inferplan.backends import BackendSettings
from inferplan.policy.forcing import THINK_END
from llama_server import LlamaCppServer, find_llama_server

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "qwen_think.jinja"
MODEL = Path("~/.cache/inferplan/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").expanduser()


def problems(plan: dict, count: int) -> list[dict]:
    """The plan's first ``count`` held-out problems of its task file: {id, question, gold}."""
    rows = Path(plan["prompt"]["tasks"]).read_text().splitlines()
    chosen = []
    for pid in plan["heldout_problems"][:count]:
        row = json.loads(rows[int(pid)])
        chosen.append({"id": pid, "question": row["input"], "gold": str(row["target"])})
    return chosen


def budget_rows(results, asked: list[dict], budget: int, cut: str) -> dict:
    """One budget's figures over every sample of every query."""
    gold = {q["id"]: q["gold"] for q in asked}
    samples = [(r, i) for r in results for i in range(r.samples)]
    forced = [(r, i) for r, i in samples if r.finishes[i] == "forced"]
    by_server = [(r, i) for r, i in forced if r.answer_texts[i].startswith(cut)]
    answer_tokens = [r.sample_tokens[i] - r.thinking_tokens[i] for r, i in forced]
    return {
        "budget": budget, "samples": len(samples), "forced": len(forced), "cut_by_server": len(by_server),
        "thinking_tokens_forced": sorted({r.thinking_tokens[i] for r, i in forced}),
        "thinking_tokens_mean": statistics.fmean(r.thinking_tokens[i] for r, i in samples),
        "answer_tokens_forced_mean": statistics.fmean(answer_tokens) if answer_tokens else None,
        "finishes": {f: sum(r.finishes[i] == f for r, i in samples) for f in ("stop", "forced", "length")},
        "correct": sum(r.answer is not None and _same(r.answer, gold[str(r.id)]) for r in results),
        "problems": len(results),
        "answers": [(str(r.id), r.answer, gold[str(r.id)]) for r in results],
        "forced_answer_texts": [r.answer_texts[i][:80] for r, i in forced],
    }


def _same(answer: str, gold: str) -> bool:
    try:
        return abs(float(answer) - float(gold)) < 1e-6
    except ValueError:
        return answer.strip() == gold.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan", required=True, help="a thinking-budget plan (inferplan plan … -o PLAN.json)")
    ap.add_argument("--budgets", default=None, help="thinking budgets, comma-separated (default: the plan's)")
    ap.add_argument("--problems", type=int, default=8)
    ap.add_argument("--model", default=str(MODEL))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--own-template", action="store_true",
                    help="the model's own template (no thinking block): the backend continues samples itself, "
                         "for comparison on the same server and problems")
    args = ap.parse_args()
    plan = json.loads(Path(args.plan).read_text())
    if not plan.get("thinking"):
        raise SystemExit("the plan has no thinking budget (its profile forced no answers)")
    binary = find_llama_server()
    if binary is None:
        raise SystemExit("no llama-server build found; run benchmarks/llama_server.py --build")
    budgets = [int(b) for b in args.budgets.split(",")] if args.budgets else [int(plan["max_tokens"])]
    asked = problems(plan, args.problems)
    cut = plan["thinking"]["text"].split(THINK_END)[-1] + THINK_END
    extra = () if args.own_template else ("--chat-template-file", str(TEMPLATE))
    server = LlamaCppServer(binary, Path(args.model), slots=1, ctx=1024, threads=1, extra=extra)
    print(f"llama-server {binary} on {Path(args.model).name}, template {extra[-1] if extra else 'its own'}")
    try:
        queries = [{"id": q["id"], "question": q["question"]} for q in asked]
        for budget in budgets:
            results = inferplan.run(args.plan, queries, model=server.url + "/v1", max_tokens=budget, seed=args.seed,
                                    settings=BackendSettings(parallel=1, timeout=600.0), model_mismatch="ok")
            print(json.dumps(budget_rows(results, asked, budget, cut)))
    finally:
        server.stop()


if __name__ == "__main__":
    main()

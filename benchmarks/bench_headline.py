"""The headline: inferplan's plan against llama.cpp's own ``llama-server``, end to end.

What a user would do without inferplan: start ``llama-server``, ask each question with
``n`` = 16 and take the majority of the answers. On one task set and one model file:

1. a profile of training problems (recorded once under ``--runs``, reused after);
2. a plan made from it in tokens: the cheapest plan whose accuracy on the planner's training
   half reaches the profile's own fixed-16 majority minus ``--slack`` (default 1 point), or
   (``--mode budget``, and where no plan reaches that) the plan the planner picks at
   ``--budget-share`` (0.3) × fixed-16's tokens;
3. on ``--test`` held-out questions (the shuffled task set after the training problems),
   one arm after another on the same prompts, threads and model file, load time excluded:

   server   llama-server ``-np 16``, one chat request per question with ``n`` = 16, the
            same sampler (temperature only), majority of the answers read as the profile's
            grader reads them (a capped answer abstains where the profile's did);
   fixed16  ``inferplan run -n 16`` on inferplan's own engine (what the engine gives);
   plan     ``inferplan run --plan`` (what the plan gives).

It prints per arm the wall clock, completion tokens and accuracy (95% Jeffreys), the ratios
against the server, the plan's accuracy difference against each fixed-16 with its paired 95%
bootstrap interval over questions, and the token and wall-clock ratios replay predicted
(the plan against fixed-16 on the profile's held-out half) beside the realised ones.
``--readme`` writes the table between the README's ``headline`` markers. ``--fewshot K`` puts K
worked examples (benchmarks/worked_examples.py) before every question as earlier chat turns —
the long shared prompt many calibration setups send, where sharing it across samples matters.

    python benchmarks/llama_server.py --build
    python benchmarks/bench_headline.py --tasks ../shared/data/tasks/asdiv.jsonl
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

import inferplan as ip
from inferplan.backends import token_counter
from inferplan.errors import InfeasibleError
from inferplan.policy.vote import vote_counts
from inferplan.replay.cost import cost_model_for
from inferplan.runner.evaluate import answer_right, answered_right
from inferplan.runner.queries import Query
from inferplan.stats.intervals import beta_interval, bootstrap_diff
from inferplan.tasks.task_grader import TaskGrader
from inferplan.tasks.taskset import load_tasks
from llama_server import LlamaCppServer, choice_tokens, find_llama_server
from worked_examples import few_shot_messages

REALISTIC = Path("~/.cache/inferplan/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").expanduser()
SLOTS = 16  # the server's parallel slots and the samples per question of both fixed-16 arms


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Arm:
    """One way of answering the held-out questions."""

    name: str
    seconds: float
    tokens: np.ndarray  # completion tokens per question (every sample drawn)
    correct: np.ndarray  # per question: was the answer right


def _done(arm: Arm) -> Arm:
    log(f"{arm.name}: {arm.seconds:.0f} s, {arm.tokens.mean():.0f} tokens/question, "
        f"{arm.correct.sum()}/{len(arm.correct)} right")
    return arm


def few_shot_tasks(args) -> str:
    """``--tasks``, or with ``--fewshot K`` a copy under ``--runs`` whose questions come after K worked
    examples as earlier chat turns (every arm then sends the same turns)."""
    if not args.fewshot:
        return args.tasks
    out = Path(args.runs).expanduser() / f"{Path(args.tasks).stem}-fewshot{args.fewshot}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in Path(args.tasks).read_text().splitlines() if line.strip()]
    lines = [json.dumps({"messages": few_shot_messages(r.get("input") or r.get("question") or r["prompt"], args.fewshot),
                         **{k: v for k, v in r.items() if k not in ("input", "question", "prompt")}})
             for r in rows]
    text = "\n".join(lines) + "\n"
    if not out.exists() or out.read_text() != text:  # the profile's header pins the file's hash
        out.write_text(text)
    return str(out)


def training_profile(args) -> Path:
    """The profile of the first ``--train`` shuffled problems, recorded once (it resumes)."""
    out = Path(args.runs).expanduser() / (f"{Path(args.tasks).stem}-{Path(args.model).stem}-train{args.train}"
                                          f"x{args.samples}-t{args.temperature}-m{args.max_tokens}.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    log(f"profile: {out}")
    ip.profile(str(args.model), out=out, tasks=args.tasks, temperatures=(args.temperature,), samples=args.samples,
               max_tokens=args.max_tokens, limit=args.train, shuffle=True, seed=args.seed, template=args.template,
               backend=ip.BackendSettings(threads=args.threads))
    return out


def fixed16(sim) -> object:
    return next(b for b in sim.baselines if b.name == f"fixed-{SLOTS}")


def make_plan(args, profile: Path):
    """The plan, and replay's prediction of it beside fixed-16 on the profile's held-out half."""
    everywhere = ip.simulate(profile, rule="fixed", max_samples=SLOTS, unit="tokens", holdout=None)
    share_budget = args.budget_share * everywhere.estimate.cost.point
    if args.mode == "budget":
        res = ip.plan(profile, budget=share_budget, unit="tokens")
    else:
        try:
            res = ip.plan(profile, target_accuracy=max(0.01, everywhere.estimate.accuracy.point - args.slack), unit="tokens")
        except InfeasibleError as e:  # the training half is harder than the whole: plan at the share instead
            log(f"target mode: {e}; planning at {args.budget_share:g}× fixed-16's tokens instead")
            res = ip.plan(profile, budget=share_budget, unit="tokens")
    path = ip.save_plan(res.plan, profile.with_suffix(".plan.json"), force=True)
    return res.plan, ip.simulate(profile, plan=path, unit="tokens")


def heldout(args):
    tasks = load_tasks(args.tasks, shuffle=True, seed=args.seed)
    chosen = tasks.tasks[args.train:args.train + args.test]
    if len(chosen) < args.test:
        raise SystemExit(f"{args.tasks}: only {len(chosen)} problems after the {args.train} training ones")
    return replace(tasks, tasks=chosen)


def _chat(server: LlamaCppServer, messages, stop, args, seed: int) -> list[dict]:
    return server.chat({"messages": list(messages), "n": SLOTS, "max_tokens": args.max_tokens,
                        "temperature": args.temperature, "top_k": 0, "top_p": 1.0, "min_p": 0.0, "seed": seed,
                        "stop": list(stop)}, timeout=1800)


def server_arm(args, plan, taskset, grader: TaskGrader) -> Arm:
    binary = find_llama_server()
    if binary is None:
        raise SystemExit("no llama-server build: python benchmarks/llama_server.py --build")
    rendered = [plan.prompt.render_messages(t.messages) if t.messages else plan.prompt.render(t.text)
                for t in taskset.tasks]
    ctx = (2048 if args.fewshot else 1024) + args.max_tokens  # per slot: the prompt and one sample
    server = LlamaCppServer(binary, Path(args.model), slots=SLOTS, ctx=ctx, threads=args.threads)
    try:
        _chat(server, rendered[0].messages, rendered[0].stop, args, seed=10**6)  # warm-up, not timed
        t0 = time.perf_counter()
        replies = [_chat(server, r.messages, r.stop, args, seed=i) for i, r in enumerate(rendered)]
        seconds = time.perf_counter() - t0
    finally:
        server.stop()
    count = token_counter(str(args.model))
    tokens, correct = [], []
    for task, choices in zip(taskset.tasks, replies):
        texts = [c["message"]["content"] or "" for c in choices]
        tokens.append(sum(choice_tokens(c, args.max_tokens, count) for c in choices))
        answers = [plan.prompt.read_answer(t, c["finish_reason"]) for t, c in zip(texts, choices)]
        # vote_counts orders by count, first seen first among ties: a tie goes to the first answer.
        correct.append(answer_right(task, next(iter(vote_counts(answers)), None), answers, texts, grader))
    return _done(Arm("llama-server, n = 16, majority", seconds, np.array(tokens), np.array(correct)))


def engine_arms(args, plan, taskset, grader: TaskGrader, wanted: list[str]) -> list[Arm]:
    queries = [Query(id=t.id, prompt=t.text, messages=t.messages) for t in taskset.tasks]
    fixed = replace(ip.fixed_plan(SLOTS, temperatures=(args.temperature,), max_tokens=args.max_tokens,
                                  model=str(args.model)), prompt=plan.prompt)
    runs = [(name, p) for key, name, p in (("plan", "inferplan run --plan", plan), ("fixed16", "inferplan run -n 16", fixed))
            if key in wanted]
    if not runs:
        return []
    backend = ip.open_backend(str(args.model), ip.BackendSettings(threads=args.threads))
    arms = []
    try:
        ip.run(fixed, queries[:1], model=backend, seed=10**6)  # warm-up, not timed
        for name, p in runs:
            t0 = time.perf_counter()
            results = ip.run(p, queries, model=backend, seed=args.seed)
            seconds = time.perf_counter() - t0
            arms.append(_done(Arm(name, seconds, np.array([r.completion_tokens + r.wasted_tokens for r in results]),
                                  np.array([answered_right(t, r, grader) for t, r in zip(taskset.tasks, results)]))))
    finally:
        backend.close()
    return arms


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def table(arms: list[Arm]) -> list[str]:
    server = arms[0]
    rows = ["| | wall clock | completion tokens / question | accuracy [95%] | wall clock × server | tokens × server |",
            "|---|---|---|---|---|---|"]
    for a in arms:
        low, high = beta_interval(a.correct.sum(), len(a.correct), 0.95)
        rows.append(f"| {a.name} | {a.seconds:.0f} s | {a.tokens.mean():.0f} | {_pct(a.correct.mean())} "
                    f"[{_pct(low)}, {_pct(high)}] | {a.seconds / server.seconds:.2f}× | "
                    f"{a.tokens.sum() / server.tokens.sum():.2f}× |")
    return rows


def _cap(plan) -> str:
    if plan.max_tokens is None:
        return ""
    return f"; thinks at most {plan.max_tokens} tokens, then answers" if plan.thinking else \
        f"; at most {plan.max_tokens} tokens a sample"


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else ():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def prompt_per_query(profile: Path, plan) -> float:
    """Mean prompt tokens of the plan's held-out problems: what replay's token cost adds to each query."""
    table = ip.open_profile(profile).table
    held = set(plan.heldout)
    problems = np.array([i for i, pid in enumerate(table.problems) if pid in held])
    return float(cost_model_for(table, "tokens").query_overhead(table, problems).mean())


def comparisons(arms: list[Arm], plan, replayed, profile: Path) -> list[str]:
    """The plan against each fixed-16 (paired over questions), and replay's ratios beside the realised."""
    by = {a.name: a for a in arms}
    planned = by["inferplan run --plan"]
    lines = []
    for a in arms:
        if a is planned:
            continue
        d, low, high = bootstrap_diff(planned.correct, a.correct, level=0.95)
        lines.append(f"- plan − {a.name}: {100 * d:+.1f} points [{100 * low:+.1f}, {100 * high:+.1f}] "
                     f"(paired, {len(a.correct)} questions)")
    # Without the fixed16 arm, the server's n = 16 (the same sampler, the same cap) stands for
    # fixed-16's tokens; its wall clock is another engine's, so no wall-clock ratio then.
    f16 = by.get("inferplan run -n 16", arms[0])
    # Replay's tokens count each query's prompt once; the arms count completion tokens alone.
    prompt = prompt_per_query(profile, plan)
    predicted = (replayed.estimate.cost.point - prompt) / (fixed16(replayed).cost.point - prompt)
    clock = f", {planned.seconds / f16.seconds:.2f}× the wall clock" if f16 is not arms[0] else ""
    lines.append(f"- plan ÷ fixed-16, predicted by replay ({replayed.problems} held-out training problems): "
                 f"{predicted:.2f}× the completion tokens; realised {planned.tokens.sum() / f16.tokens.sum():.2f}× "
                 f"the tokens of {f16.name}{clock}")
    e = replayed.estimate
    lines.append(f"- the plan: {plan.rule.describe()}{_cap(plan)}; predicted "
                 f"{_pct(e.accuracy.point)}% [{_pct(e.accuracy.interval[0])}, {_pct(e.accuracy.interval[1])}] at {e.cost.point:.0f} "
                 f"tokens / question")
    return lines


def write_readme(block: list[str], key: str) -> None:
    """Replace the README's ``headline:KEY`` block (between its markers) with ``block``."""
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text()
    start, end = f"<!-- headline:{key} -->", f"<!-- /headline:{key} -->"
    if start not in text or end not in text:
        raise SystemExit(f"README.md has no {start} … {end} markers")
    head, rest = text.split(start, 1)
    readme.write_text(head + start + "\n" + "\n".join(block) + "\n" + end + rest.split(end, 1)[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", required=True, help="a task file (JSONL of questions with answers)")
    ap.add_argument("--model", default=str(REALISTIC), help="a GGUF file (default: the realistic model)")
    ap.add_argument("--train", type=int, default=50, help="training problems profiled")
    ap.add_argument("--test", type=int, default=100, help="held-out questions answered by every arm")
    ap.add_argument("--samples", type=int, default=16, help="samples per training problem")
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--template", default="chat")
    ap.add_argument("--fewshot", type=int, default=0, help="K worked examples before each question (chat turns)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--slack", type=float, default=0.01, help="target = the profile's fixed-16 accuracy − this")
    ap.add_argument("--mode", choices=("target", "budget"), default="target",
                    help="target: the cheapest plan at fixed-16's accuracy; budget: the best at --budget-share")
    ap.add_argument("--budget-share", type=float, default=0.3, help="a share of fixed-16's tokens per question")
    ap.add_argument("--arms", default="server,fixed16,plan", help="server and plan, and fixed16 unless left out")
    ap.add_argument("--runs", default="~/.cache/inferplan/bench-headline", help="where profiles and plans are kept")
    ap.add_argument("--readme", action="store_true", help="write the table into README.md's headline block")
    args = ap.parse_args()
    command = (f"python benchmarks/bench_headline.py --tasks {args.tasks} --train {args.train} --test {args.test}"
               + (f" --max-tokens {args.max_tokens}" if args.max_tokens != ap.get_default("max_tokens") else "")
               + (f" --fewshot {args.fewshot}" if args.fewshot else "")
               + (f" --arms {args.arms}" if args.arms != ap.get_default("arms") else ""))
    args.tasks = few_shot_tasks(args)
    wanted = args.arms.split(",")
    if "server" not in wanted or "plan" not in wanted:
        raise SystemExit("--arms must hold server and plan: every ratio is against the server, every difference the plan's")
    profile = training_profile(args)
    plan, replayed = make_plan(args, profile)
    taskset = heldout(args)
    grader = TaskGrader(taskset, plan.prompt.grader)
    arms = [server_arm(args, plan, taskset, grader), *engine_arms(args, plan, taskset, grader, wanted)]
    when = datetime.date.today().isoformat()
    head = (f"{Path(args.tasks).stem}, {Path(args.model).name}, {args.test} held-out questions "
            f"(plan from {args.train} training problems × {args.samples}), T = {args.temperature}, "
            f"≤ {args.max_tokens} tokens, {args.threads} threads, {_cpu()}, "
            f"{os.cpu_count()} cores, {when}:")
    block = [head, "", *table(arms), "", *comparisons(arms, plan, replayed, profile),
             "", f"`{command}`"]
    print("\n".join(block))
    if args.readme:
        write_readme(block, Path(args.tasks).stem)


if __name__ == "__main__":
    main()

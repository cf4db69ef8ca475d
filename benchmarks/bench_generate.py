"""Multi-sample generation speed: the inferplan engine vs a create_completion loop vs raw decode.

    python benchmarks/bench_generate.py [--ns 1,4,8,16] [--max-tokens 64] [--threads T]
    python benchmarks/bench_generate.py --model realistic --server   # Qwen2.5-Coder-0.5B, plus llama-server
    python benchmarks/bench_generate.py --busy 2   # engine beside 2 CPU hogs: default vs each --threads

Same model (the embedded SmolLM2-135M), prompt, N, max_tokens and seeds for every
method. The loop loads the Q4_1 file as a user would; engine and raw decode with
the weights the engine chose (``--weights auto``: the F16 copy, for every N, since
the engine is opened once with parallel = the largest N):

* engine   — ``LlamaCppBackend``: prompt once, KV shared, one batch per step,
             per-sequence llama.cpp samplers, logprobs in numpy;
* loop     — N calls of ``Llama.create_completion`` (the usual high-level way);
* raw      — the ceiling: ``llama_decode`` of a full batch of N sequences for
             max_tokens steps with logits on and no sampling at all;
* server   — with ``--server``: llama.cpp's own ``llama-server`` (benchmarks/llama_server.py
             finds or builds it), one chat request with ``n`` = N, ``-np`` = the largest N,
             the same ctx per slot; what a user could start instead of inferplan.

``--model`` is ``smollm2`` (the embedded model), ``realistic`` (Qwen2.5-Coder-0.5B-Instruct
Q4_K_M, assembled by benchmarks/realistic_model.py) or a GGUF path.

Two workloads: "long" (end-of-generation banned, every sample runs to max_tokens,
so the batch stays full) and "short" (a short-answer question; samples stop on
their own). Tokens/s = completion tokens / wall seconds, prompt evaluation
included. The machine is shared, so compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from inferplan.backends import BackendSettings, SampleRequest, token_counter
from inferplan.backends.llamacpp.engine import LlamaCppBackend

LONG = "Write a very long story about a lighthouse keeper who finds a map. Describe everything in detail."
SHORT = "What is 17 + 25? Answer with just the number."
TEMPERATURE = 0.8


def engine_run(backend: LlamaCppBackend, prompt: str, n: int, max_tokens: int, ignore_eos: bool) -> int:
    backend.settings.extra["ignore_eos"] = ignore_eos
    req = SampleRequest(messages=({"role": "user", "content": prompt},), n=n, temperatures=(TEMPERATURE,),
                        seeds=tuple(range(n)), max_tokens=max_tokens)
    return sum(c.completion_tokens for c in backend.sample([req]))


def loop_run(llm, prompt_tokens: list[int], n: int, max_tokens: int, eog: list[int]) -> int:
    from llama_cpp import LogitsProcessorList

    def ban_eog(_ids, scores):
        scores[eog] = -np.inf
        return scores

    procs = LogitsProcessorList([ban_eog]) if eog else None
    # Forget the previous cell's prompt: like the engine, evaluate it once per cell
    # (Llama reuses the evaluated prefix for the n - 1 later calls by itself).
    llm.reset()
    total = 0
    for i in range(n):
        out = llm.create_completion(prompt_tokens, max_tokens=max_tokens, temperature=TEMPERATURE, seed=i,
                                    top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0, logits_processor=procs)
        total += out["usage"]["completion_tokens"]
    return total


def raw_run(backend: LlamaCppBackend, prompt_tokens: list[int], n: int, max_tokens: int) -> int:
    """Prompt once, copy to n sequences, decode n tokens per step; no sampling at all."""
    L, ctx, mem = backend._L, backend._ctx, backend._memory
    batch = L.llama_batch_init(max(len(prompt_tokens), n), 0, 1)
    try:
        for s in range(n):
            L.llama_memory_seq_rm(mem, s, -1, -1)
        batch.n_tokens = len(prompt_tokens)
        for i, t in enumerate(prompt_tokens):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = t, i, 1
            batch.seq_id[i][0], batch.logits[i] = 0, i == len(prompt_tokens) - 1
        assert L.llama_decode(ctx, batch) == 0
        for s in range(1, n):
            L.llama_memory_seq_cp(mem, 0, s, -1, -1)
        pos = len(prompt_tokens)
        for step in range(max_tokens - 1):  # the first token comes from the prompt's logits
            batch.n_tokens = n
            for s in range(n):
                batch.token[s], batch.pos[s], batch.n_seq_id[s] = 100 + s + step, pos, 1
                batch.seq_id[s][0], batch.logits[s] = s, True
            assert L.llama_decode(ctx, batch) == 0
            pos += 1
        return n * max_tokens
    finally:
        for s in range(n):
            L.llama_memory_seq_rm(mem, s, -1, -1)
        L.llama_batch_free(batch)


def make_llama(backend: LlamaCppBackend, threads: int):
    import llama_cpp
    import llama_cpp.llama_cpp as low

    from inferplan.backends.llamacpp.guard import extra_bufts_safe

    # Llama() has no use_extra_bufts argument: apply the AMX verdict for the file it loads
    # (the engine's may be for its F16 copy) by patching the default model params it
    # starts from (else it may SIGSEGV here).
    original = low.llama_model_default_params
    safe = extra_bufts_safe(backend.path, backend.gguf.quantization)

    def params():
        p = original()
        p.use_extra_bufts = safe
        return p

    low.llama_model_default_params = params
    try:
        return llama_cpp.Llama(str(backend.path), n_ctx=2048, n_threads=threads, n_threads_batch=threads,
                               verbose=False)
    finally:
        low.llama_model_default_params = original


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def timed(clock: str, repeat: int, cells: dict) -> dict[str, tuple[float, int]]:
    """Best tokens/s of each method over ``repeat`` rounds.

    Methods alternate within a round, so a burst of load from other processes on
    a shared machine hits all of them alike; the best round is the least disturbed.
    """
    best: dict[str, tuple[float, int]] = {name: (0.0, 0) for name in cells}
    for _ in range(repeat):
        for name, (fn, args) in cells.items():
            t = CLOCKS[clock]()
            tokens = fn(*args)
            rate = tokens / (CLOCKS[clock]() - t)
            if rate > best[name][0]:
                best[name] = (rate, tokens)
    return best


HOG = "while True: pass"


def busy_run(hogs: int, n: int, max_tokens: int, repeat: int) -> None:
    """Engine tok/s with ``hogs`` CPU-bound processes beside it: the default threads
    (what a user gets) against every explicit --threads, in one run."""
    import subprocess

    procs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(hogs)]
    try:
        time.sleep(1.0)  # let the hogs take their cores
        rows = []
        for threads in [None] + list(range(1, (os.cpu_count() or 1) + 1)):
            backend = LlamaCppBackend("smollm2", BackendSettings(threads=threads, parallel=n, ctx=CTX, extra={}))
            engine_run(backend, LONG, 2, 4, True)  # warm-up
            best = 0.0
            for _ in range(repeat):
                t0 = time.perf_counter()
                tokens = engine_run(backend, LONG, n, max_tokens, True)
                best = max(best, tokens / (time.perf_counter() - t0))
            rows.append((f"default ({backend.threads})" if threads is None else str(threads), best))
            backend.close()
    finally:
        for p in procs:
            p.kill()
            p.wait()
    top = max(rate for _, rate in rows[1:])
    print(f"engine, {n} samples × {max_tokens} tokens, beside {hogs} CPU hog(s) on {os.cpu_count()} cores "
          f"(best of {repeat})")
    for name, rate in rows:
        print(f"  threads {name:<12} {rate:7.1f} tok/s  {100 * rate / top:5.0f}% of the best --threads")


CTX = 512  # tokens per sample for every method


def model_path(spec: str) -> str:
    if spec == "realistic":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from realistic_model import realistic_model_path

        return str(realistic_model_path())
    return spec


def start_server(model: str, slots: int, threads: int):
    """llama-server on ``model``: with its repacked CPU kernels, or ``--no-repack`` where those
    crash at start (the AMX bug the engine's probe also meets); says which on stderr."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from llama_server import LlamaCppServer, find_llama_server

    binary = find_llama_server()
    if binary is None:
        raise SystemExit("no llama-server build: python benchmarks/llama_server.py --build")
    from inferplan.backends.embedded import resolve_model_path

    path = resolve_model_path(model)
    try:
        return LlamaCppServer(binary, path, slots=slots, ctx=CTX, threads=threads)
    except RuntimeError as e:
        print(f"llama-server: {e}; rerunning it with --no-repack", file=sys.stderr)
        return LlamaCppServer(binary, path, slots=slots, ctx=CTX, threads=threads, repack=False)


def server_run(server, prompt: str, n: int, max_tokens: int, ignore_eos: bool, count) -> int:
    return server.complete([{"role": "user", "content": prompt}], n, max_tokens, TEMPERATURE, ignore_eos, count)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2", help="smollm2, realistic, or a .gguf path")
    ap.add_argument("--server", action="store_true", help="add llama.cpp's llama-server as a column")
    ap.add_argument("--ns", default="1,4,8,16")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--short-max-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--workloads", default="long,short")
    ap.add_argument("--repeat", type=int, default=2, help="rounds per cell; the best of each method is kept")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                    help="wall seconds, or this process's CPU seconds (robust to other load; use with --threads 1)")
    ap.add_argument("--busy", type=int, default=0, help="run beside this many CPU hogs (threads comparison only)")
    args = ap.parse_args()
    ns = [int(x) for x in args.ns.split(",")]
    if args.busy:
        busy_run(args.busy, max(ns), args.max_tokens, args.repeat)
        return
    model = model_path(args.model)
    backend = LlamaCppBackend(model, BackendSettings(threads=args.threads, parallel=max(ns), ctx=CTX, extra={}))
    llm = make_llama(backend, args.threads)
    server = start_server(model, max(ns), args.threads) if args.server else None
    count = token_counter(model)
    eog = backend.eog_tokens()
    print(f"model {backend.path.name} · threads {args.threads} · clock {args.clock} · extra_bufts {backend.extra_bufts} · weights {backend.weights} · "
          f"llama-cpp-python {backend.info.settings['llama_cpp']}", file=sys.stderr)
    header = f"{'workload':<8} {'N':>3} {'engine':>8} {'loop':>8} {'raw':>8} {'eng/loop':>9} {'eng/raw':>8}"
    if server:
        header += f" {'server':>8} {'eng/server':>10}"
    rows = [header, "-" * len(header)]
    for workload in args.workloads.split(","):
        long = workload == "long"
        prompt = LONG if long else SHORT
        max_tokens = args.max_tokens if long else args.short_max_tokens
        tokens = backend.prompt_tokens(SampleRequest(messages=({"role": "user", "content": prompt},)))
        engine_run(backend, prompt, 2, 4, long)  # warm-up: page in weights, compile nothing
        for n in ns:
            cells = {
                "engine": (engine_run, (backend, prompt, n, max_tokens, long)),
                "loop": (loop_run, (llm, tokens, n, max_tokens, eog if long else [])),
                "raw": (raw_run, (backend, tokens, n, max_tokens)),
            }
            if server:
                cells["server"] = (server_run, (server, prompt, n, max_tokens, long, count))
            best = timed(args.clock, args.repeat, cells)
            (eng, eng_tok), (loop, _), (raw, _) = best["engine"], best["loop"], best["raw"]
            row = (f"{workload:<8} {n:>3} {eng:>8.1f} {loop:>8.1f} {raw:>8.1f} {eng / loop:>8.2f}x "
                   f"{100 * eng / raw:>7.0f}%")
            if server:
                row += f" {best['server'][0]:>8.1f} {eng / best['server'][0]:>9.2f}x"
            rows.append(row)
            print(row, f"  ({eng_tok} engine tokens)", file=sys.stderr, flush=True)
    print(f"\ntokens/s (completion tokens / {args.clock} s, best of {args.repeat}); "
          "raw = llama_decode of a full batch, no sampling")
    print("\n".join(rows))
    backend.close()
    if server:
        server.stop()


if __name__ == "__main__":
    main()

"""The engine on the shapes a profile has, beyond bench_generate's 64-token samples.

    python benchmarks/bench_engine_shapes.py [--model realistic] [--parts layouts,length,starts,kv]

* ``layouts`` — raw batched decode (bench_generate's ``raw_run``: N sequences, no sampling)
  of the model file as given and of copies llama.cpp's own quantizer makes of it (Q8_0,
  Q4_0, F16, BF16, written to a temporary directory): does another weight layout decode
  faster in batches than the file a user has?
* ``length`` — the engine (``engine_run``) on N samples of ``--length`` tokens (every sample
  runs to the cap; once, as these runs are long), at ``--parallel`` N and 2N: the batch rate a profile of completions
  that long can at best reach (longer contexts decode slower than 64-token ones).
* ``starts`` — what a sample start costs under a long few-shot prompt: 16 one-token samples
  against one (the same prompt's prefill either way); the difference over 15 is the copy
  of the prompt's KV stream into a sample's slot.
* ``kv`` — the two KV cache layouts (``--kv-cache split|unified``) on N samples of ``--length``
  tokens under that few-shot prompt, the cache sized by ``--ctx auto`` as a profile sizes it:
  the memory each allocates and the rate (prefill included; every sample runs to the cap).

Tokens/s are completion tokens over wall seconds, best of ``--repeat``; compare within one
run on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_generate import LONG, engine_run, model_path, raw_run  # noqa: E402
from inferplan.backends import BackendSettings, SampleRequest  # noqa: E402
from inferplan.backends.llamacpp.engine import LlamaCppBackend  # noqa: E402

LAYOUTS = ("MOSTLY_Q8_0", "MOSTLY_Q4_0", "MOSTLY_F16", "MOSTLY_BF16")


def best_rate(fn, repeat: int) -> float:
    best = 0.0
    for _ in range(repeat):
        t = time.perf_counter()
        tokens = fn()
        best = max(best, tokens / (time.perf_counter() - t))
    return best


def layouts(model: str, n: int, steps: int, repeat: int) -> None:
    import llama_cpp.llama_cpp as L

    with tempfile.TemporaryDirectory(prefix="bench_layouts_") as tmp:
        files = [("as given", Path(model))]
        for name in LAYOUTS:
            out = Path(tmp) / f"{name}.gguf"
            params = L.llama_model_quantize_default_params()
            params.ftype, params.allow_requantize = getattr(L, f"LLAMA_FTYPE_{name}"), True
            params.nthread = os.cpu_count() or 1
            if L.llama_model_quantize(str(model).encode(), str(out).encode(), params) == 0:
                files.append((name.removeprefix("MOSTLY_"), out))
        for label, path in files:
            b = LlamaCppBackend(str(path), BackendSettings(parallel=n, ctx=512, weights="native", extra={}))
            tokens = b.prompt_tokens(SampleRequest(messages=({"role": "user", "content": LONG},)))
            raw_run(b, tokens, n, 2)  # warm-up
            rate = best_rate(lambda b=b, tokens=tokens: raw_run(b, tokens, n, steps), repeat)
            print(f"layouts  {label:<9} raw decode, {n} sequences × {steps} steps: {rate:7.1f} tok/s "
                  f"(extra_bufts {b.extra_bufts})", flush=True)
            b.close()


def length(model: str, n: int, tokens: int, repeat: int) -> None:
    for parallel in (n, 2 * n):
        b = LlamaCppBackend(model, BackendSettings(parallel=parallel, ctx=tokens + 256, extra={}))
        engine_run(b, LONG, 2, 4, True)  # warm-up
        rate = best_rate(lambda b=b, parallel=parallel: engine_run(b, LONG, parallel, tokens, True), repeat)
        print(f"length   engine, {parallel} samples × {tokens} tokens: {rate:7.1f} tok/s", flush=True)
        b.close()


SHOTS = " ".join(f"Example {i}: the sum of {i} and {i + 1} is {2 * i + 1}." for i in range(60))


def starts(model: str, n: int, repeat: int) -> None:
    shots = SHOTS
    b = LlamaCppBackend(model, BackendSettings(parallel=n, ctx=1280, extra={}))
    seconds, prompt = {}, 0
    for k in (1, n):
        times = []
        for r in range(repeat + 1):  # a new question each time: the prompt is never cached
            req = SampleRequest(messages=({"role": "user", "content": f"{shots} Q{k}-{r}: what is 2 + 2?"},), n=k,
                                temperatures=(0.8,), seeds=tuple(range(k)), max_tokens=1)
            t = time.perf_counter()
            prompt = list(b.sample([req]))[0].prompt_tokens
            times.append(time.perf_counter() - t)
        seconds[k] = min(times[1:])  # the first is a warm-up
    b.close()
    print(f"starts   {prompt}-token prompt, one-token samples: 1 in {1000 * seconds[1]:.0f} ms, {n} in "
          f"{1000 * seconds[n]:.0f} ms: {1000 * (seconds[n] - seconds[1]) / (n - 1):.1f} ms per extra sample start")


def kv(model: str, n: int, tokens: int, repeat: int) -> None:
    from inferplan.backends.llamacpp.sizing import kv_bytes_per_cell

    for layout in ("split", "unified"):
        b = LlamaCppBackend(model, BackendSettings(parallel=n, kv_cache=layout, extra={"ignore_eos": True}))
        rates, prompt = [], 0
        for r in range(repeat + 1):  # a new question each time (prefill included); the first sizes the cache
            req = SampleRequest(messages=({"role": "user", "content": f"{SHOTS} Q{r}: what is 2 + 2?"},), n=n,
                                temperatures=(0.8,), seeds=tuple(range(n)), max_tokens=tokens)
            t = time.perf_counter()
            done = list(b.sample([req]))
            rates.append(sum(c.completion_tokens for c in done) / (time.perf_counter() - t))
            prompt = done[0].prompt_tokens
        gib = b.kv.cells * kv_bytes_per_cell(b.gguf) / 2**30
        print(f"kv       {layout:<7} {prompt}-token prompt, {n} × {tokens} tokens: {b.kv.cells:6d} cells = "
              f"{gib:.3f} GiB, {max(rates[1:]):7.1f} tok/s", flush=True)
        b.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="realistic", help="smollm2, realistic, or a .gguf path")
    ap.add_argument("--parts", default="layouts,length,starts")
    ap.add_argument("--n", type=int, default=16, help="samples (sequences) at once")
    ap.add_argument("--length", type=int, default=320, help="tokens per sample for 'length' and 'kv'")
    ap.add_argument("--steps", type=int, default=24, help="decode steps per 'layouts' run")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    model = model_path(args.model)
    if args.model == "smollm2":
        from inferplan.backends.embedded import resolve_model_path

        model = str(resolve_model_path(model))
    parts = args.parts.split(",")
    if "layouts" in parts:
        layouts(model, args.n, args.steps, args.repeat)
    if "length" in parts:
        length(model, args.n, args.length, 1)
    if "starts" in parts:
        starts(model, args.n, args.repeat)
    if "kv" in parts:
        kv(model, args.n, args.length, args.repeat)


if __name__ == "__main__":
    main()

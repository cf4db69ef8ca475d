"""Command-line options shared by the commands that load a model."""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Callable, Optional

import typer

from inferplan.api import DEFAULT_MODEL, BackendSettings
from inferplan.errors import InputError

MODEL = typer.Option(
    DEFAULT_MODEL, "--model", "-m",
    help="Model: 'smollm2' (embedded default), a .gguf path, hf:DIR (transformers), or http(s)://HOST:PORT/v1.",
)
PLAN_MODEL = typer.Option(
    None, "--model", "-m",
    help="Model (default: the one the plan was made for; without --plan, 'smollm2'): 'smollm2', a .gguf path, "
    "hf:DIR, or http(s)://HOST:PORT/v1. Another model than the plan's must have the same sha256.",
    show_default=False,
)
PLAN_MODELS = typer.Option(
    None, "--model", "-m",
    help="Model (default: the one the plan was made for; without --plan, 'smollm2'): 'smollm2', a .gguf path, "
    "hf:DIR, or http(s)://HOST:PORT/v1. Another model than the plan's must have the same sha256. A cascade "
    "or mix plan: NAME=SPEC runs its model NAME (its file name, e.g. big.gguf) on SPEC instead.",
    show_default=False,
)
MODEL_MISMATCH = typer.Option(
    "refuse", "--model-mismatch",
    help="refuse: a --model that is not the plan's model stops with an error; ok: run it anyway, with a "
    "warning (the plan's predictions are for its own model).",
)
THREADS = typer.Option(None, "--threads", help="CPU threads for llama.cpp (default: the cores other programs leave idle).")
CTX = typer.Option(
    "auto", "--ctx",
    help="llama.cpp: tokens per sample, prompt + completion; auto sizes it from the longest prompt plus "
    "--max-tokens (KV memory grows with --ctx x --parallel; printed at load).",
)
GPU_LAYERS = typer.Option(0, "--gpu-layers", help="Layers to offload to the GPU (-1 = all) when the build supports it.")
PARALLEL = typer.Option(16, "--parallel", help="Samples decoded at once (batch width), or concurrent server requests.")
MODEL_NAME = typer.Option(None, "--model-name", help="Model name to send to an OpenAI-compatible server.")
WEIGHTS = typer.Option(
    "auto", "--weights",
    help="llama.cpp weights: native (the file as is), f16 (a cached F16 copy, faster in batches on CPU), "
    "or auto (f16 for small models whose quantization is slow in batches).",
)
KV_CACHE = typer.Option(
    "auto", "--kv-cache",
    help="llama.cpp KV cache: split (a stream per sample, fastest), unified (one cache whose samples share "
    "their prompt's cells: far less memory for long prompts at high --parallel, 8-14% slower with many "
    "distinct prompts), or auto "
    "(split when it fits in memory, else unified).",
)
THINKING_CUT = typer.Option(
    "auto", "--thinking-cut",
    help="OpenAI-compatible servers: who cuts a sample's thinking at its budget. auto: llama-server's or "
    "vLLM's own budget parameter where the server has one (one request a sample; the server forces its answer "
    "text before the end tag and samples the answer at the sample's temperature); client: inferplan's "
    "continuation (the end tag, the answer text and a greedy answer, as the in-process engine forces).",
)
TASKS_HELP = ("Task set: a file (JSONL, CSV, Parquet, Arrow), a datasets save_to_disk directory, hf:OWNER/NAME from "
              "the local Hugging Face cache, 'humaneval', or builtin:arith / builtin:word[:COUNT[:SEED]].")
FIELD = typer.Option(
    None, "--field",
    help="Task columns and parts: question=COLUMN,answer=COLUMN,id=…,split=…,config=… (kept with the task source).",
)
API_KEY_ENV = typer.Option(None, "--api-key-env", help="Environment variable holding the server's API key.")


def parse_ctx(text: str | int | None) -> int | None:
    """``--ctx``: a token count, or ``auto`` (None)."""
    if text is None or isinstance(text, int):
        return text
    if text.strip().lower() == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise InputError(f"--ctx must be a number of tokens or auto, got {text!r}") from None


def backend_settings(
    threads: int | None, ctx: str | int | None, gpu_layers: int, parallel: int,
    model_name: str | None = None, api_key_env: str | None = None, weights: str = "auto", kv_cache: str = "auto",
    thinking_cut: str = "auto",
) -> BackendSettings:
    return BackendSettings(
        threads=threads, ctx=parse_ctx(ctx), gpu_layers=gpu_layers, parallel=parallel,
        model_name=model_name, api_key_env=api_key_env, weights=weights, kv_cache=kv_cache, thinking_cut=thinking_cut,
    )


def plan_models(values: list[str] | None, cascade: bool) -> str | dict[str, str] | None:
    """``--model`` as the API takes it: one spec, or for a cascade or mix plan NAME=SPEC pairs (a mapping)."""
    values = list(values or [])
    if not values:
        return None
    if not cascade:
        if len(values) > 1:
            raise InputError("--model once: this plan runs one model (several --model NAME=SPEC name the "
                             "models of a cascade or mix plan)")
        return values[0]
    if len(values) == 1 and "=" not in values[0]:
        return values[0]  # a plain spec: the API says in one line that a cascade wants NAME=SPEC
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, spec = value.partition("=")
        if not (sep and name and spec):
            raise InputError(f"--model {value!r}: a plan across models takes --model NAME=SPEC, NAME one of its models")
        if name in pairs:
            raise InputError(f"--model {name}=… given twice")
        pairs[name] = spec
    return pairs


def parse_temperatures(text: str) -> tuple[float, ...]:
    """Comma-separated temperatures; a bad list is the same input error (exit 3) in every command."""
    try:
        values = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise InputError(f"--temperatures must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise InputError("--temperatures needs at least one value")
    return values


def parse_ints(text: str | None, flag: str) -> tuple[int, ...]:
    """Comma-separated whole numbers (token counts); a bad list is one input error (exit 3)."""
    if not text:
        return ()
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise InputError(f"{flag} must be comma-separated whole numbers, got {text!r}") from None


def task_spec(tasks: str, field: str | None) -> str:
    """The task source with ``--field`` options attached (``PATH#question=q,answer=a``)."""
    if not field:
        return tasks
    return f"{tasks},{field}" if "#" in tasks else f"{tasks}#{field}"


def _bundle(api_key_flag: str) -> list[tuple[str, object, object]]:
    """(parameter, type, typer option) of the backend options, in the order --help lists them."""
    key = API_KEY_ENV if api_key_flag == "--api-key-env" else typer.Option(
        None, api_key_flag, help="With --model http(s)://…: variable holding that server's API key.")
    return [("threads", Optional[int], THREADS), ("ctx_tokens", str, CTX), ("gpu_layers", int, GPU_LAYERS),
            ("weights", str, WEIGHTS), ("kv_cache", str, KV_CACHE), ("parallel", int, PARALLEL),
            ("model_name", Optional[str], MODEL_NAME), ("backend_api_key_env", Optional[str], key),
            ("thinking_cut", str, THINKING_CUT)]


def backend_options(api_key_flag: str = "--api-key-env") -> Callable:
    """Give a command the options of every command that opens a model (threads, --ctx, GPU layers,
    weights, KV cache, batch width, a server's model name and key), handed to it as one
    ``settings: BackendSettings`` keyword: one definition, one place that builds the settings."""

    def decorate(command: Callable) -> Callable:
        bundle = _bundle(api_key_flag)
        hints = typing.get_type_hints(command)
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in inspect.signature(command).parameters.values() if p.name != "settings"]
        added = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=option, annotation=kind)
                 for name, kind, option in bundle]

        @functools.wraps(command)
        def run(**kwargs):
            values = {name: kwargs.pop(name) for name, _, _ in bundle}
            settings = backend_settings(values["threads"], values["ctx_tokens"], values["gpu_layers"],
                                        values["parallel"], values["model_name"], values["backend_api_key_env"],
                                        values["weights"], values["kv_cache"], values["thinking_cut"])
            return command(**kwargs, settings=settings)

        del run.__wrapped__  # typer must read the new signature, not the command's
        run.__signature__ = inspect.Signature(own + added)
        run.__annotations__ = {p.name: p.annotation for p in own + added}
        return run

    return decorate


def per_model(items: list[str], flag: str, pair: bool = False) -> dict:
    """``MODEL=N`` (or ``MODEL=IN,OUT``) flags as a mapping; a malformed one is one line (exit 2)."""
    from inferplan.errors import InvalidValue

    found = {}
    for item in items:
        name, eq, value = item.rpartition("=")
        try:
            numbers = tuple(float(x) for x in value.split(","))
            if not eq or not name or len(numbers) != (2 if pair else 1):
                raise ValueError
        except ValueError:
            shape = "MODEL=IN,OUT" if pair else "MODEL=N"
            raise InvalidValue(flag.lstrip("-"), f"{{name}} {item!r}: expected {shape}") from None
        found[name] = numbers if pair else numbers[0]
    return found

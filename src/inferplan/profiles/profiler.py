"""The core of ``inferplan profile``: sample every task many times per temperature, grade, record.

Only the samples not yet on disk are scheduled, so a rerun of the same command
continues where a killed or interrupted one stopped. Each task becomes ONE request
carrying all its missing samples (per-sample temperatures and seeds), so the
backend evaluates its prompt once and problems share the decode batch. Records are
appended and flushed in small batches; seeds derive from (seed, task, config,
index) alone, so a resumed sample is the sample the first run would have drawn.
"""

from __future__ import annotations

import hashlib
import os
import platform
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from inferplan import __version__
from inferplan.backends import DEFAULT_MODEL, Backend, BackendSettings, open_backend, prepare
from inferplan.backends.base import SampleRequest
from inferplan.errors import InvalidValue
from inferplan.tasks import builtin
from inferplan.tasks import templates as prompts
from inferplan.grading.task_grader import TaskGrader, truncated_default
from inferplan.profiles.header import ConfigSpec
from inferplan.profiles.store import ProfileWriter
from inferplan.tasks.taskset import load_tasks

DEFAULT_MAX_TOKENS = 128
_RUN_ONLY = ("threads", "parallel", "extra_bufts", "ctx", "gpu_layers")  # speed, not samples
FLUSH_SECONDS = 1.0  # flush at least this often, and every `parallel` records


@dataclass(frozen=True)
class ProfileOptions:
    """Everything ``inferplan profile`` takes (CLI flags map one to one)."""

    out: Path
    model: str = DEFAULT_MODEL
    tasks: str = builtin.DEFAULT
    temperatures: tuple[float, ...] = (0.2, 0.6, 1.0)
    samples: int = 16
    max_tokens: int | None = None  # None → the task set's default, else 128
    limit: int | None = None
    shuffle: bool = False
    seed: int = 0
    grader: str | None = None  # None → each task's own, else the set's default
    template: str | None = None  # None → the set's default
    truncated: str | None = None  # a sample cut at the token cap: "abstain" or "grade"; None → by template
    allow_code_execution: bool = False
    force: bool = False
    keep_text: bool = True
    backend: BackendSettings = field(default_factory=BackendSettings)


@dataclass(frozen=True)
class Progress:
    """Reported after every graded sample."""

    done: int  # samples finished in this run
    total: int  # samples scheduled in this run
    completion_tokens: int
    elapsed: float
    accuracy: dict[str, tuple[int, int]]  # config → (correct, graded) in this run


@dataclass(frozen=True)
class ProfileResult:
    """What a profiling run did."""

    path: Path
    problems: int
    configs: tuple[str, ...]
    written: int  # samples written by this run
    already: int  # samples that were on disk before
    completion_tokens: int
    seconds: float


def sample_seed(seed: int, task: str, config: str, index: int) -> int:
    """A 31-bit seed determined by (seed, task, config, index) only."""
    digest = hashlib.blake2b(f"{seed}|{task}|{config}|{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


def config_name(temperature: float) -> str:
    return f"t{temperature:g}"


def machine() -> dict:
    """CPU model, core count and OS, for the header (not part of a profile's identity)."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu or platform.machine(), "cores": os.cpu_count(), "os": platform.platform()}


def _check(opts: ProfileOptions) -> None:
    if opts.samples < 1:
        raise InvalidValue("samples", f"{{name}} must be at least 1, got {opts.samples}")
    if not opts.temperatures:
        raise InvalidValue("temperatures", "{name} needs at least one value")
    if any(t < 0 for t in opts.temperatures) or len(set(opts.temperatures)) != len(opts.temperatures):
        raise InvalidValue("temperatures", "{name} must be distinct and non-negative")
    if opts.max_tokens is not None and opts.max_tokens < 1:
        raise InvalidValue("max_tokens", f"{{name}} must be at least 1, got {opts.max_tokens}")


def run_profile(opts: ProfileOptions, *, backend: Backend | None = None,
                on_progress: Callable[[Progress], None] | None = None) -> ProfileResult:
    """Profile ``opts.model`` on ``opts.tasks`` into ``opts.out`` (resuming it if it matches)."""
    _check(opts)
    taskset = load_tasks(opts.tasks, limit=opts.limit, shuffle=opts.shuffle, seed=opts.seed)
    template = prompts.check_template(opts.template or taskset.default_template)
    grader = TaskGrader(taskset, opts.grader, allow_code_execution=opts.allow_code_execution,
                        truncated=opts.truncated or truncated_default(template))
    max_tokens = opts.max_tokens or taskset.default_max_tokens or DEFAULT_MAX_TOKENS
    configs = [ConfigSpec(config_name(t), float(t), {"top_p": 1.0, "top_k": 0, "min_p": 0.0})
               for t in opts.temperatures]
    own = backend is None
    backend = backend or open_backend(opts.model, opts.backend)
    try:
        # llama.cpp --ctx auto: sized for every problem, before the header records the context
        prepare(backend, [_asked(task, template, taskset, max_tokens) for task in taskset.tasks])
        info = backend.info
        header = {
            "model": {"spec": opts.model, "path": info.model, "sha256": info.model_sha256,
                      "parameters": info.parameters},  # for the planner's flops unit
            # Only what changes the samples' distribution guards a resume; threads, batch
            # width or the AMX fallback may differ between a run and its continuation.
            "backend": {"name": info.name, "device": info.device,
                        "supports_shared_prefix": info.supports_shared_prefix,
                        "settings": {k: v for k, v in info.settings.items() if k not in _RUN_ONLY}},
            "engine": dict(info.settings),
            "tasks": {**taskset.header(), "limit": opts.limit, "shuffle": opts.shuffle},
            "grader": grader.describe(),
            "prompt_template": prompts.describe(template, taskset),
            "max_tokens": max_tokens,
            "configs": [c.to_json() for c in configs],
            "seed": opts.seed,
            "problem_ids": [t.id for t in taskset.tasks],
            "machine": machine(),
            "inferplan": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        with ProfileWriter(opts.out, header, force=opts.force) as writer:
            already = len(writer.done)
            written, tokens, seconds = _sample_all(
                backend, writer, taskset, template, grader, configs, opts, max_tokens, on_progress)
    finally:
        if own:
            backend.close()
    return ProfileResult(opts.out, len(taskset.tasks), tuple(c.name for c in configs),
                         written, already, tokens, seconds)


def _asked(task, template, taskset, max_tokens: int) -> SampleRequest:
    """One sample of ``task`` as the profile asks it (the prompt, its stop strings, the cap)."""
    rp = prompts.render(task, template, taskset.shots)
    return SampleRequest(prompt=rp.prompt, messages=rp.messages, stop=rp.stop, max_tokens=max_tokens)


def _sample_all(backend, writer, taskset, template, grader, configs, opts, max_tokens, on_progress):
    requests, plan = [], []
    for task in taskset.tasks:
        missing = [(c, i) for c in configs for i in range(opts.samples)
                   if (task.id, c.name, i) not in writer.done]
        if not missing:
            continue
        requests.append(replace(
            _asked(task, template, taskset, max_tokens), n=len(missing),
            temperatures=tuple(c.temperature for c, _ in missing),
            seeds=tuple(sample_seed(opts.seed, task.id, c.name, i) for c, i in missing),
        ))
        plan.append((task, missing))
    total = sum(len(m) for _, m in plan)
    run_id = int(time.time() * 1000)
    start = time.monotonic()
    done = tokens = 0
    acc = {c.name: [0, 0] for c in configs}
    buffer: list[dict] = []
    last_flush = start
    flush_every = max(1, getattr(backend.info, "parallel_slots", 1))
    try:
        if not requests:
            return 0, 0, 0.0
        # Completions number requests from 0 in submission order.
        for comp in backend.sample(requests):
            task, missing = plan[comp.request]
            config, index = missing[comp.index]
            grade = grader.grade(task, comp.text, comp.finish)
            rec = {
                "problem": task.id, "config": config.name, "index": index, "seed": comp.seed,
                "answer": grade.answer, "correct": grade.correct,
                "completion_tokens": comp.completion_tokens, "prompt_tokens": comp.prompt_tokens,
                "seconds": round(comp.seconds, 4), "logprob": comp.logprob, "finish": comp.finish,
                "run": run_id, "t": round(time.monotonic() - start, 3),
            }
            if comp.confidence is not None:  # windowed logprob confidence (backends/confidence.py)
                conf = comp.confidence
                rec.update(conf_low=round(conf.lowest, 5), conf_low_at=conf.lowest_at, conf_tail=round(conf.tail, 5))
            if opts.keep_text:
                rec["text"] = comp.text
            buffer.append(rec)
            done += 1
            tokens += comp.completion_tokens
            acc[config.name][0] += grade.correct
            acc[config.name][1] += 1
            now = time.monotonic()
            if len(buffer) >= flush_every or now - last_flush >= FLUSH_SECONDS:
                writer.write(buffer)
                buffer, last_flush = [], now
            if on_progress is not None:
                on_progress(Progress(done, total, tokens, now - start, {k: (v[0], v[1]) for k, v in acc.items()}))
    finally:
        writer.write(buffer)  # keep every graded sample, also on Ctrl-C
    return done, tokens, time.monotonic() - start

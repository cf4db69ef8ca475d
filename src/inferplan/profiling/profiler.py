"""The core of ``inferplan profile``: sample every task many times per temperature, grade, record.

Only the samples not yet on disk are scheduled, so a rerun of the same command
continues where a killed or interrupted one stopped (``live_sampler.py`` draws and
records them). Without a budget every (task, temperature) gets ``--samples``; with
``--budget`` the strategy (``adaptive.py``) decides which samples to draw, from what
is on disk, until the budget (earlier runs' spending included) is spent.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from inferplan._version import __version__
from inferplan.backends import DEFAULT_MODEL, Backend, BackendSettings, open_backend, prepare
from inferplan.backends.base import SampleRequest
from inferplan.errors import InvalidValue
from inferplan.policy.forcing import ANSWER_TOKENS, Forcing, check_forcing, force_text, probe_depths_for
from inferplan.profiles.header import ConfigSpec
from inferplan.profiles.store import ProfileWriter, check_profile_output, iter_records
from inferplan.profiling.adaptive import AdaptiveResult, run_adaptive, run_uniform
from inferplan.profiling.adaptive_allocation import Ledger
from inferplan.profiling.budget import ProfileBudget
from inferplan.profiling.live_sampler import LiveSampler, Progress, asked
from inferplan.tasks import builtin
from inferplan.tasks import templates as prompts
from inferplan.tasks.task_grader import TaskGrader, truncated_default
from inferplan.tasks.taskset import load_tasks

DEFAULT_MAX_TOKENS = 128
_RUN_ONLY = ("threads", "parallel", "extra_bufts", "ctx", "gpu_layers", "kv_cache")  # speed, not samples


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
    # A budget ("400k" tokens, "30m") makes --samples the most any (problem, config) gets;
    # "uniform" fills every pair level by level, "adaptive" spends where it settles most.
    budget: str | None = None
    strategy: str = "uniform"
    # Thinking budgets (issue 30): a sample at max_tokens is made to answer (``force_answer``,
    # the answer prompt; None → the default when forcing), and answer-now probes ask the same
    # at ``probe_depths`` (or at ``probes`` depths spread over max_tokens) while it goes on.
    force_answer: str | None = None
    answer_tokens: int = ANSWER_TOKENS
    probes: int = 0
    probe_depths: tuple[int, ...] = ()
    backend: BackendSettings = field(default_factory=BackendSettings)


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
    budgeted: AdaptiveResult | None = None  # how a --budget run ended (None: plain uniform)


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
    if opts.strategy not in ("uniform", "adaptive"):
        raise InvalidValue("strategy", f"{{name}} must be uniform or adaptive, got {opts.strategy!r}")
    if opts.strategy == "adaptive" and opts.budget is None:
        raise InvalidValue("strategy", "{name} adaptive needs --budget (completion tokens like 400k, or a time like 30m)")
    if opts.budget is not None:
        ProfileBudget.parse(opts.budget)  # a bad budget fails before the model loads
    if opts.max_tokens is not None and opts.max_tokens < 1:
        raise InvalidValue("max_tokens", f"{{name}} must be at least 1, got {opts.max_tokens}")
    if opts.probes < 0 or opts.probes > 16:
        raise InvalidValue("probes", f"{{name}} must be between 0 and 16, got {opts.probes}")


def profile_forcing(opts: ProfileOptions, backend: Backend, max_tokens: int) -> Forcing | None:
    """The profile's forced answers and probes (None: samples at the cap just stop), checked
    against ``max_tokens`` before anything is sampled."""
    depths = tuple(sorted(set(opts.probe_depths))) or (probe_depths_for(max_tokens, opts.probes) if opts.probes else ())
    if opts.force_answer is None and not depths:
        return None
    template = getattr(getattr(backend, "gguf", None), "chat_template", None)
    forcing = Forcing(force_text(template, opts.force_answer), opts.answer_tokens, depths)
    check_forcing(forcing.apply(SampleRequest(prompt="?", max_tokens=max_tokens)))
    return forcing


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
    check_profile_output(opts.out, force=opts.force)  # a foreign or unwritable -o fails before the model loads
    own = backend is None
    backend = backend or open_backend(opts.model, opts.backend)
    try:
        # llama.cpp --ctx auto: sized for every problem, before the header records the context
        forcing = profile_forcing(opts, backend, max_tokens)
        prepare(backend, [asked(task, template, taskset, max_tokens, forcing) for task in taskset.tasks])
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
            "forcing": forcing.to_json() if forcing else None,
            "configs": [c.to_json() for c in configs],
            "seed": opts.seed,
            "problem_ids": [t.id for t in taskset.tasks],
            "machine": machine(),
            "inferplan": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        if opts.budget is not None:
            header["strategy"] = {"name": opts.strategy, "budget": opts.budget, "most_per_pair": opts.samples}
        with ProfileWriter(opts.out, header, force=opts.force) as writer:
            already = len(writer.done)
            sampler = LiveSampler(backend, writer, taskset, template, grader, configs, opts, max_tokens, on_progress,
                                  forcing)
            budgeted = _sample(sampler, opts)
    finally:
        if own:
            backend.close()
    return ProfileResult(opts.out, len(taskset.tasks), tuple(c.name for c in configs),
                         sampler.done, already, sampler.tokens, sampler.seconds, budgeted)


def _sample(sampler: LiveSampler, opts: ProfileOptions) -> AdaptiveResult | None:
    """Every (task, config, index) up to ``opts.samples``; or, under a budget, what the strategy allocates."""
    P, C = len(sampler.taskset.tasks), len(sampler.configs)
    # The progress total: every (task, config) up to --samples, less what is on disk (a budget may stop sooner).
    sampler.planned = sum((t.id, c.name, i) not in sampler.writer.done
                          for t in sampler.taskset.tasks for c in sampler.configs for i in range(opts.samples))
    if opts.budget is None:
        for _ in sampler([(p, c, i, "uniform") for p in range(P) for c in range(C) for i in range(opts.samples)]):
            pass
        return None
    budget = ProfileBudget.parse(opts.budget)
    ledger = Ledger(tuple(t.id for t in sampler.taskset.tasks), tuple(c.name for c in sampler.configs))
    earlier = list(iter_records(opts.out))  # what earlier runs into this profile spent
    for rec in earlier:
        ledger.add(rec)
    before = budget.spent(earlier)
    if budget.unit == "tokens":
        def spent() -> float:
            return before + sampler.tokens
    else:
        def spent() -> float:
            return before + sampler.seconds
    if opts.strategy == "adaptive":
        return run_adaptive(ledger, budget, sampler, cap=opts.samples, spent=spent, seed=opts.seed)
    return run_uniform(ledger, budget, sampler, cap=opts.samples, spent=spent)

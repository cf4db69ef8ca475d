"""The whole loop on the embedded model, small enough for a few minutes on a laptop.

profile (sample a built-in task set at two temperatures) → fit (accuracy-vs-samples
curves) → plan (how many samples, which temperatures, when to stop, for a token
budget; chosen on half of the problems) → evaluate (run the plan for real on the
other half and compare with its prediction) → answer a few example questions.

Each step reports through ``on_step`` as soon as it is done, so the CLI can
explain it while the next one runs. Files go to ``workdir``; a rerun resumes the
profile instead of sampling again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from inferplan import api  # the demo is a client of the API, like the CLI
from inferplan.backends import DEFAULT_MODEL, BackendSettings, open_backend
from inferplan.fitting.report import FitReport
from inferplan.planner.plan_file import save_plan
from inferplan.planner.search import PlanResult
from inferplan.profiles.profile import Profile
from inferplan.profiling.profiler import ProfileResult, Progress
from inferplan.runner.evaluate import EvaluationResult
from inferplan.runner.results import QueryResult
from inferplan.tasks import builtin

EXAMPLES = ("What is 23 + 19?", "What is 8 × 7?", "Tom has 12 apples and gives away 5. How many are left?")
BUDGET_SAMPLES = 4  # the demo's budget: about this many samples' worth of tokens per question


@dataclass(frozen=True)
class DemoSettings:
    workdir: Path = Path("inferplan-demo")
    model: str = DEFAULT_MODEL
    tasks: str = builtin.DEFAULT
    problems: int = 40
    samples: int = 8
    temperatures: tuple[float, ...] = (0.4, 1.0)
    budget: float | None = None  # tokens per question; None → BUDGET_SAMPLES samples' worth
    seed: int = 0
    examples: tuple[str, ...] = EXAMPLES
    backend: BackendSettings = field(default_factory=BackendSettings)


@dataclass(frozen=True)
class DemoResult:
    profile: ProfileResult
    fit: FitReport
    plan: PlanResult
    plan_path: Path
    evaluation: EvaluationResult
    answers: tuple[QueryResult, ...]


def default_budget(profile: Profile, samples: int = BUDGET_SAMPLES) -> float:
    """Tokens per question of ``samples`` typical samples plus the (shared) prompt."""
    table = profile.table
    prompt = float(np.nanmedian(table.prompt_tokens)) if table.n_samples else 0.0
    completion = float(np.nanmean(table.completion_tokens)) if table.n_samples else 0.0
    return round(prompt + samples * completion, 1)


def run_demo(settings: DemoSettings, *, on_step: Callable[[str, object], None] = lambda name, value: None,
             on_progress: Callable[[Progress], None] | None = None) -> DemoResult:
    """Run every step through the public API on one loaded model; report each through ``on_step(name, result)``."""
    work = settings.workdir
    work.mkdir(parents=True, exist_ok=True)
    backend = open_backend(settings.model, settings.backend)
    try:
        on_step("model", backend.info)
        prof = api.profile(settings.model, out=work / "profile.jsonl", tasks=settings.tasks,
                           temperatures=settings.temperatures, samples=settings.samples, limit=settings.problems,
                           seed=settings.seed, backend=backend, on_progress=on_progress)
        on_step("profile", prof.run)
        report = api.fit(prof, at=(32, 100), seed=settings.seed)
        on_step("fit", report)
        budget = settings.budget or default_budget(prof)
        planned = api.plan(prof, budget=budget, unit="tokens", seed=settings.seed, fit=report)
        plan_path = save_plan(planned.plan, work / "plan.json")
        on_step("plan", planned)
        evaluation = api.evaluate(planned.plan, model=backend, seed=settings.seed + 1)
        on_step("evaluate", evaluation)
        answers = tuple(api.run(planned.plan, list(settings.examples), model=backend))
        on_step("answers", answers)
    finally:
        backend.close()
    return DemoResult(prof.run, report, planned, plan_path, evaluation, answers)


def demo(settings: DemoSettings | None = None, *, on_step: Callable[[str, object], None] | None = None,
         on_progress: Callable[[Progress], None] | None = None) -> DemoResult:
    """The whole loop on the embedded model (``inferplan demo``): a ``DemoResult``.

    ``settings`` is a :class:`DemoSettings` (work directory, problems, samples, budget,
    seed); ``on_step(name, result)`` hears each step as it ends.
    """
    return run_demo(settings or DemoSettings(), on_step=on_step or (lambda name, value: None), on_progress=on_progress)

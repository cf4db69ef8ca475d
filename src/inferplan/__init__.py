"""inferplan: budget-optimal LLM inference.

Profile a model on a calibration set, fit accuracy-versus-samples curves, plan how
many samples to draw at which temperatures and when to stop, then run the plan::

    import inferplan as ip
    prof = ip.profile("smollm2", tasks="builtin:arith", temperatures=(0.4, 1.0), samples=8, out="p.jsonl")
    report = ip.fit(prof, at=(32, 100))
    result = ip.plan(prof, budget=150, unit="tokens", fit=report)
    answers = ip.run(result.plan, ["What is 23 + 19?"], model="smollm2")

See :mod:`inferplan.api` (and docs/api.md) for every function.
"""

from inferplan._version import __version__
from inferplan.api import (
    describe_models,
    evaluate,
    fit,
    fit_models,
    fixed_plan,
    import_profile,
    import_profiles,
    load_plan,
    open_profile,
    plan,
    plan_models,
    profile,
    run,
    run_iter,
    run_total,
    save_plan,
    serve,
    simulate,
    summarize,
)
from inferplan.backends import BackendSettings, open_backend
from inferplan.errors import ExitCode, InferplanError
from inferplan.profiles.profile import Profile
from inferplan.stats.estimate import Estimate, PerQuery

__all__ = [
    "BackendSettings",
    "Estimate",
    "ExitCode",
    "InferplanError",
    "PerQuery",
    "Profile",
    "__version__",
    "demo",
    "describe_models",
    "evaluate",
    "fit",
    "fit_models",
    "fixed_plan",
    "import_profile",
    "import_profiles",
    "load_plan",
    "open_backend",
    "open_profile",
    "plan",
    "plan_models",
    "profile",
    "run",
    "run_iter",
    "run_total",
    "save_plan",
    "serve",
    "simulate",
    "summarize",
]


def __getattr__(name: str):
    """``demo`` and ``DemoSettings`` load the demo (a client of the API) on first use."""
    if name in ("demo", "DemoSettings"):
        from inferplan import demo_loop

        return getattr(demo_loop, name)
    raise AttributeError(f"module 'inferplan' has no attribute {name!r}")

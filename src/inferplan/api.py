"""The public API: one function per CLI verb, keyword arguments, typed results.

```python
import inferplan as ip
prof = ip.profile("smollm2", tasks="builtin:arith", temperatures=(0.4, 1.0), samples=8, out="p.jsonl")
report = ip.fit(prof, at=(32, 100))
result = ip.plan(prof, budget=150, unit="tokens", fit=report)
answers = ip.run(result.plan, ["What is 23 + 19?"], model="smollm2")
check = ip.evaluate(result.plan, model="smollm2")
```

The CLI is one client of these functions: it parses flags, calls one of them and
renders what comes back. Heavy modules are imported inside the functions, so that
``import inferplan`` stays fast and ``fit`` never loads llama.cpp.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from inferplan.api_models import ProfileLike, active_parameters, check_model_names, fit_models, plan_models  # noqa: F401  (re-exported)
from inferplan.api_run import (  # noqa: F401  (the verbs that answer queries, re-exported)
    PlanLike,
    QueriesLike,
    evaluate,
    load_plan,
    one_model,
    run,
    run_iter,
    run_total,
    serve,
)
from inferplan.api_types import client_attribute
from inferplan.backends import DEFAULT_MODEL, Backend, BackendSettings
from inferplan.errors import InvalidValue
from inferplan.profiles.profile import Profile, as_profile

if TYPE_CHECKING:
    from inferplan.fitting.report import FitReport
    from inferplan.importers.published import ImportResult
    from inferplan.planner.batch_simulate import TotalSimulation
    from inferplan.planner.models import ModelsPlanResult
    from inferplan.planner.plan_file import Plan
    from inferplan.planner.search import PlanResult
    from inferplan.planner.simulate import SimulationResult


__getattr__ = client_attribute  # the types and helpers a client needs beside the verbs (api_types)


def open_profile(path: Path | str) -> Profile:
    """An existing profile file (header read and checked now, samples on first use)."""
    return Profile.open(path)


def profile(model: str = DEFAULT_MODEL, *, out: Path | str, tasks: str = "builtin:arith",
            temperatures: Sequence[float] = (0.2, 0.6, 1.0), samples: int = 16, max_tokens: int | None = None,
            limit: int | None = None, shuffle: bool = False, seed: int = 0, grader: str | None = None,
            template: str | None = None, truncated: str | None = None, allow_code_execution: bool = False,
            force: bool = False, keep_text: bool = True, backend: Backend | BackendSettings | None = None,
            on_progress: Callable | None = None, budget: str | None = None, strategy: str = "uniform",
            force_answer: str | None = None, answer_tokens: int = 32, probes: int = 0,
            probe_depths: Sequence[int] = ()) -> Profile:
    """Sample ``model`` on a task set into ``out`` (resuming it); the profile, with ``.run`` set.

    ``budget`` ("400k" completion tokens, "30m" of sampling) caps the whole profile, earlier
    runs included; then ``samples`` is the most any (problem, temperature) gets, and
    ``strategy`` "adaptive" spends the budget where the answers are least settled.

    Thinking budgets: ``probes`` (a count, spread over max_tokens) or ``probe_depths`` (token
    counts) record an answer-now probe of every sample at those depths, and a sample at
    ``max_tokens`` is made to answer; ``force_answer`` alone does the latter (its text is the
    answer prompt), ``answer_tokens`` bounds each forced answer. See docs/thinking-budgets.md."""
    from inferplan.profiling.profiler import ProfileOptions, run_profile

    settings = backend if isinstance(backend, BackendSettings) else BackendSettings()
    opts = ProfileOptions(out=Path(out), model=model, tasks=tasks, temperatures=tuple(temperatures), samples=samples,
                          max_tokens=max_tokens, limit=limit, shuffle=shuffle, seed=seed, grader=grader,
                          template=template, truncated=truncated, allow_code_execution=allow_code_execution,
                          force=force, keep_text=keep_text, backend=settings, budget=budget, strategy=strategy,
                          force_answer=force_answer, answer_tokens=answer_tokens, probes=probes,
                          probe_depths=tuple(probe_depths))
    result = run_profile(opts, backend=None if isinstance(backend, BackendSettings) else backend,
                         on_progress=on_progress)
    return replace(Profile.open(result.path), run=result)


def import_profile(kind: str, source: Path | str, *, out: Path | str, force: bool = False, model: str | None = None,
                   filter_name: str | None = None) -> ImportResult:
    """Convert a sample set (``boinf``, ``osca``, ``esc``, ``lm-eval``) into a profile at ``out``.

    ``lm-eval``: ``filter_name`` picks the task's filter; ``model`` counts tokens with its tokenizer.
    """
    from inferplan.importers.published import run_import

    return run_import(kind, source, out, force=force, model=model, filter_name=filter_name)


def import_profiles(kind: str, sources: Sequence[Path | str], *, out_dir: Path | str,
                    force: bool = False) -> tuple[ImportResult, ...]:
    """Import several files of one benchmark (``boinf``: one model each) as one profile per file in
    ``out_dir``, named as its source, after checking they hold the same problems; plan across them
    with ``plan([...])`` or ``inferplan plan DIR/*.jsonl``. ``osca`` (one file of two models'
    configurations): one profile per model, ``<file>_<model>.jsonl``."""
    from inferplan.importers.profile_set import import_set

    return import_set(kind, sources, out_dir, force=force)


def fit(profile: ProfileLike, *, at: Sequence[int] = (32, 100, 300), level: float = 0.9, seed: int = 0,
        threshold: float = 1e-3) -> FitReport:
    """Observed and extrapolated accuracy-vs-samples curves with intervals, per configuration."""
    from inferplan.fitting.report import fit_profile

    if not 0 < level < 1:
        raise InvalidValue("level", f"{{name}} must lie strictly between 0 and 1, got {level}")
    prof = as_profile(profile)
    return fit_profile(prof.table, tuple(at), level=level, seed=seed, threshold=threshold, profile=str(prof.path))


def plan(profile: ProfileLike | Sequence[ProfileLike], *, budget: float | None = None, unit: str = "tokens",
         target_accuracy: float | None = None, aggregate: str = "vote", keep: float = 0.9, false_positive: float = 0.0,
         penalty: float = 0.0, holdout: float = 0.5, seed: int = 0, price_in: float = 0.0, price_out: float = 0.0,
         fit: FitReport | Path | str | None = None, parallel: int = 16,
         prices: Mapping[str, tuple[float, float]] | None = None, parameters: Mapping[str, float] | None = None,
         same_token_cost: bool = False, thinking_budgets: bool = True, batch: bool = False) -> PlanResult | ModelsPlanResult:
    """Choose mix, stopping rule, caps and aggregation on a training split; predict on held-out problems.

    Several profiles (a list: the same problems, one model each) plan across models: choose
    the model, or a cascade from one to another (:func:`plan_models`).

    Under ``unit="latency"`` a plan is one round of at most ``parallel`` samples launched at
    once (the engine's batch width), read as they finish. Under ``unit="tokens"`` such rounds
    (charged every token generated, cancelled samples' too) compete with the sequential rules
    and win only by more than one paired standard error on the training problems;
    ``parallel=1`` offers sequential plans only.

    ``fit`` (a report of this profile, or its ``inferplan.fit/1`` file) decides the curve
    family that predicts beyond the recorded samples; without one the planner chooses it
    the way ``fit`` does, on the training problems.

    ``aggregate="auto"`` (under a budget) plans with majority vote and with conf-vote and
    keeps conf-vote only where it clearly wins on the training problems.

    A profile with answer-now probes (``profile(probes=…)``) lets the planner choose a thinking
    budget too (a sample still thinking there is made to answer); ``thinking_budgets=False``
    plans without one.

    ``batch=True`` also chooses, on the training problems, how ``run_total`` shares one total of
    ``budget`` × the queries (the plan's ``batch_allocation``), and predicts its held-out accuracy.
    """
    from inferplan.fitting.report import FitReport, read_family
    from inferplan.planner.aggregation_choice import choose_aggregation
    from inferplan.planner.models import model_name
    from inferplan.planner.search import plan as search_plan

    if isinstance(profile, (list, tuple)):
        if fit is not None or batch:  # (the aggregation is checked across models: vote or a verifier)
            raise InvalidValue(("fit", "batch"), "{0} and {1} plan one model; across models give neither")
        return plan_models(profile, budget=budget, unit=unit, target_accuracy=target_accuracy, holdout=holdout,
                           seed=seed, prices=prices, parameters=parameters, same_token_cost=same_token_cost,
                           aggregate=aggregate, false_positive=false_positive, penalty=penalty)
    prof = as_profile(profile)
    check_model_names([model_name(prof)], None, parameters, unit)
    family = None if fit is None else fit.selection.family if isinstance(fit, FitReport) else read_family(fit)

    def plan_with(kind: str, share: float) -> PlanResult:
        return search_plan(prof, budget=budget, unit=unit, target_accuracy=target_accuracy, aggregate=kind, keep=share,
                           false_positive=false_positive, penalty=penalty, holdout=holdout, seed=seed,
                           price_in=price_in, price_out=price_out, family=family,
                           parameters=active_parameters(prof, parameters) if unit == "flops" else None,
                           parallel=parallel, thinking_budgets=thinking_budgets)

    if batch:
        from inferplan.planner.batch_choice import check_batch, with_batch

        check_batch(unit, budget, price_in, price_out)  # before the search, not after it
    result = plan_with(aggregate, keep) if aggregate != "auto" else choose_aggregation(plan_with, prof.table, budget)
    return with_batch(prof, result, holdout, seed) if batch else result


def simulate(profile: ProfileLike, *, plan: PlanLike | None = None, rule: str | None = None,
             max_samples: int | None = None, min_samples: int | None = None, aggregate: str = "vote", keep: float = 0.9,
             unit: str | None = None, holdout: float | None = None, seed: int = 0, reps: int = 20,
             price_in: float = 0.0, price_out: float = 0.0, parallel: int | None = None,
             terminate: str | None = None, total_budget: float | None = None,
             parameters: float | None = None) -> SimulationResult | TotalSimulation:
    """Replay a plan (on its held-out problems) or a stopping rule on the recorded samples;
    ``parallel=K``: the rule on one round of K samples read in finish order; ``terminate="W:η"``:
    with online low-confidence termination (policy/termination.py); ``total_budget``: one total over the
    held-out problems, batch allocation beside uniform and the per-query plan (planner/batch_simulate.py), in
    the plan's unit (no plan: ``unit``, default tokens). ``unit`` of a rule: default samples. FLOPs are
    charged with the active parameters a plan recorded, else ``parameters``, else the profile's."""
    from inferplan.planner.batch_simulate import simulate_total
    from inferplan.planner.simulate import simulate as replay

    prof = as_profile(profile)
    the_plan = None if plan is None else one_model(load_plan(plan), "simulate")  # replays one model's plan
    if total_budget is not None:
        return simulate_total(prof, total_budget, plan=the_plan, holdout=holdout or 0.5, seed=seed, reps=reps,
                              unit=unit or "tokens", price_in=price_in, price_out=price_out)
    unit = unit or "samples"
    flops = (the_plan.unit if the_plan is not None else unit) == "flops"
    planned = the_plan.model.parameters if the_plan is not None and the_plan.model else None
    if parameters is not None and (not flops or planned):
        raise InvalidValue("parameters", "{name} prices a replay in flops only" if not flops else
                           f"{{name}}: the plan was made with {planned:g} active parameters and replays with them")
    return replay(prof, plan=the_plan, rule=rule, max_samples=max_samples, min_samples=min_samples,
                  aggregate=aggregate, keep=keep, unit=unit, holdout=holdout, seed=seed, reps=reps, price_in=price_in,
                  price_out=price_out, parameters=(planned or parameters or active_parameters(prof)) if flops else None,
                  parallel=parallel, terminate=terminate)


def save_plan(plan: Plan, path: Path | str, *, force: bool = False) -> Path:
    """Write a plan file atomically (over nothing but another plan unless ``force``)."""
    from inferplan.planner.plan_file import save_plan as write

    return write(plan, path, force=force)


def fixed_plan(n: int = 8, *, temperatures: Sequence[float] = (0.7,), max_tokens: int = 256,
               system: str | None = None, raw: bool = False, extract: str = "auto", stop: Sequence[str] = (),
               top_p: float = 1.0, thinking_budget: int | None = None, model: str = DEFAULT_MODEL) -> Plan:
    """The plan of a fixed-N majority-vote run (what ``run -n`` executes).

    ``thinking_budget``: each sample thinks at most this many tokens, then is made to answer
    (``model``'s end-of-thinking marker where its template has one, then an answer prompt)."""
    from inferplan.backends import chat_template_of
    from inferplan.policy.forcing import ANSWER_TOKENS, Forcing, force_text
    from inferplan.runner.fixed import RunSettings
    from inferplan.runner.fixed import fixed_plan as build

    plan = build(RunSettings(n=n, temperatures=tuple(temperatures), system=system, raw=raw, extract=extract,
                             stop=tuple(stop), top_p=top_p,
                             max_tokens=max_tokens if thinking_budget is None else thinking_budget))
    if thinking_budget is None:
        return plan
    return replace(plan, thinking=Forcing(force_text(chat_template_of(model)), ANSWER_TOKENS))


def describe_models(model: str | None = None, *, with_hash: bool = True) -> list:
    """The embedded default model (``model`` None) or one GGUF file, described (``inferplan models``)."""
    from inferplan.backends.describe import describe_models as describe

    return describe(model, with_hash=with_hash)


def summarize(profile: ProfileLike):
    """What a profile holds, per configuration (``inferplan profile show``)."""
    from inferplan.profiling.summary import summarize as summary

    return summary(as_profile(profile).path)

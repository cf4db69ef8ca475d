"""The public API's verbs across models (plan them, fit them on one cost axis), and how a FLOPs
cost finds each model's active parameters.

Part of :mod:`inferplan.api` (which re-exports :func:`plan_models` and :func:`fit_models`); apart only to keep each
module short. Heavy modules load inside the functions, as in ``api``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence, Union

from inferplan.errors import InvalidValue
from inferplan.profiles.profile import Profile, as_profile

if TYPE_CHECKING:
    from inferplan.planner.model_curves import ModelsFit
    from inferplan.planner.models import ModelsPlanResult

ProfileLike = Union[Profile, Path, str]


def active_parameters(prof: Profile, given: Mapping[str, float] | None = None) -> float | None:
    """The active parameters a FLOPs cost charges this model's token with: ``given`` by model name
    (``--params``), else the profile's count or its GGUF's."""
    from inferplan.backends.describe import model_parameters
    from inferplan.planner.models import model_name

    return (given or {}).get(model_name(prof)) or model_parameters(prof.header.parameters, prof.header.model_path)


def check_model_names(names: list[str], prices: Mapping | None, parameters: Mapping | None, unit: str) -> None:
    """Prices and parameter counts name models that are there, in the unit that reads them."""
    if parameters and unit != "flops":
        raise InvalidValue(("parameters", "unit"), f"{{0}} prices unit flops only, not {unit!r}")
    unknown = sorted(set(prices or {}) - set(names)) + sorted(set(parameters or {}) - set(names))
    if unknown:
        raise InvalidValue(("prices", "parameters"), f"no profile of model {unknown[0]!r} (have {', '.join(names)})")


def priced_models(profiles: Sequence[ProfileLike], unit: str, prices: Mapping[str, tuple[float, float]] | None,
                  parameters: Mapping[str, float] | None, same_token_cost: bool) -> list:
    """Each profile as a planner.models.ModelProfile: its model's name and its cost in ``unit``,
    comparable across models (see :func:`plan_models`), on the same problems."""
    from inferplan.planner.models import ModelProfile, model_name, shared_problems
    from inferplan.replay.cost import cost_model_for

    profs = [as_profile(p) for p in profiles]
    if unit in ("tokens", "samples") and not same_token_cost:
        raise InvalidValue(("unit", "same_token_cost"), f"{{0}} {unit!r} counts a small and a large model's {unit} "
                                                        "alike; compare models in seconds, usd or flops, or say "
                                                        "with {1} that they cost the same")
    names = [model_name(p) for p in profs]
    check_model_names(names, prices, parameters, unit)
    models = []
    for name, prof in zip(names, profs):
        p_in, p_out = (prices or {}).get(name, (0.0, 0.0))
        if unit == "usd" and p_in <= 0 and p_out <= 0:
            raise InvalidValue("prices", f"unit usd needs a price for every model; {{name}} has none for {name!r}")
        n_params = active_parameters(prof, parameters) if unit == "flops" else None
        models.append(ModelProfile(name, prof, cost_model_for(prof.table, unit, price_in=p_in, price_out=p_out,
                                                              profile=prof.path, parameters=n_params)))
    if len(models) > 1:
        shared_problems(models)  # profiles of different problem sets: one clear error naming the difference
    return models


def plan_models(profiles: Sequence[ProfileLike], *, budget: float | None = None, unit: str = "seconds",
                target_accuracy: float | None = None, holdout: float = 0.5, seed: int = 0,
                prices: Mapping[str, tuple[float, float]] | None = None, parameters: Mapping[str, float] | None = None,
                same_token_cost: bool = False, policy: str = "auto", aggregate: str = "vote",
                false_positive: float = 0.0, penalty: float = 0.0) -> ModelsPlanResult:
    """Plan across models: profiles of the same problems, one model each. Chooses the best single
    model's plan, a cascade (a cheap model's vote stands when it agrees enough, otherwise a
    stronger model answers) or a mix (several models' samples in one vote), on a shared training
    split; predicts on the held-out problems.

    Costs must be comparable across models: ``unit="seconds"`` (each profile's measured rate),
    ``"usd"`` (``prices={model: (in, out)}`` per million tokens), ``"flops"`` (2 × active
    parameters per token, from each profile or ``parameters={model: N}``), or ``"tokens"``/
    ``"samples"`` only with ``same_token_cost=True``. ``policy``: "auto" (a cascade or a mix in one
    vote only where it beats the best single model on the training problems by the guard), "choose"
    (one model), "cascade" or "mix" (the best cascade or mix even where it does not win, to run or
    evaluate it). ``aggregate="oracle"``: a verifier answers (the first sample it accepts, with
    ``false_positive`` and ``penalty`` as for one model); a cascade's stage then stands when the
    verifier accepted one of its samples, and mixes (one vote) are not searched."""
    from inferplan.planner.model_choice import searches_mixes
    from inferplan.planner.models import plan_models as search
    from inferplan.policy.aggregate import Aggregation, check_answers

    if unit == "latency":  # its rounds of parallel samples are searched per model, not across models
        raise InvalidValue("unit", "{name} 'latency' is not planned across models yet; plan them in seconds, "
                                   "usd or flops, or plan each model alone in latency")
    if aggregate not in ("vote", "oracle"):
        raise InvalidValue("aggregate", f"{{name}} {aggregate!r}: plans across models vote, or a verifier answers (oracle)")
    if aggregate == "vote" and (false_positive or penalty):  # a mix's vote scores a wrong answer 0: no penalty
        raise InvalidValue(("false_positive", "penalty"), "{0} and {1} go with a verifier (aggregate oracle)")
    agg = Aggregation(aggregate, false_positive=false_positive, penalty=penalty)
    searches_mixes(agg, policy, [])  # a mix asked for under a verifier: refused before any profile is read
    models = priced_models(profiles, unit, prices, parameters, same_token_cost)
    for m in models:  # a vote over no answers would score every plan 0% with a straight face
        check_answers(m.profile.table, agg, whose=f"{m.name}'s profile")
    return search(models, budget=budget, target_accuracy=target_accuracy, unit=unit, holdout=holdout, seed=seed,
                  policy=policy, agg=agg)


def fit_models(profiles: Sequence[ProfileLike], *, unit: str = "seconds", at: Sequence[int] = (32, 100, 300),
               level: float = 0.9, seed: int = 0, threshold: float = 1e-3,
               prices: Mapping[str, tuple[float, float]] | None = None, parameters: Mapping[str, float] | None = None,
               same_token_cost: bool = False) -> ModelsFit:
    """Fit every profile (one model each, the same problems) as :func:`inferplan.api.fit` does, and
    put each model's maj@k curve (pass@k where a profile has no answers to vote on) against its cost
    per query in ``unit``, priced as :func:`plan_models` prices models."""
    from inferplan.fitting.report import fit_profile
    from inferplan.planner.model_curves import model_curves

    if not 0 < level < 1:
        raise InvalidValue("level", f"{{name}} must lie strictly between 0 and 1, got {level}")
    if unit == "latency":
        raise InvalidValue("unit", "{name} 'latency' is a round's wall clock, not a cost per sample; compare "
                                   "models in seconds, usd or flops")
    models = priced_models(profiles, unit, prices, parameters, same_token_cost)
    reports = [fit_profile(m.profile.table, tuple(at), level=level, seed=seed, threshold=threshold,
                           profile=str(m.profile.path)) for m in models]
    return model_curves(models, reports, level)

"""Which model runs a plan: the one it was made for, unless the user names another that is the same.

A plan's predictions hold for the model its profile sampled, nowhere else. So
``run --plan``, ``evaluate`` and ``serve`` open the plan's own model by default;
a ``--model`` given beside the plan must be the same weights (same sha256), or the
user says ``--model-mismatch ok`` and every output carries a warning. A plan
made from published samples (``inferplan import``) has no model to open: the user
must name one, and is told that the predictions are for another model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from inferplan.backends import DEFAULT_MODEL, Backend, backend_kind, model_sha256
from inferplan.errors import InputError, InvalidValue, ModelError
from inferplan.planner.plan_file import Plan, PlanModel, model_label

log = logging.getLogger(__name__)

MISMATCH = ("refuse", "ok")  # --model-mismatch


@dataclass(frozen=True)
class ModelChoice:
    """The model to open (a spec string) and, where it is not the plan's, the warning to carry."""

    spec: str
    label: str  # how output names the model that answered
    warning: str | None = None


def _check_mismatch(mismatch: str) -> None:
    if mismatch not in MISMATCH:
        raise InvalidValue("model_mismatch", f"{{name}} must be one of {', '.join(MISMATCH)}, got {mismatch!r}")


def plan_model(plan: Plan) -> PlanModel | None:
    """The plan's model; for a plan file older than the model block, read from its profile if it is there."""
    if plan.model is not None or not plan.profile:
        return plan.model
    path = Path(plan.profile)
    if not path.exists():
        return None
    from inferplan.profiles.profile import Profile

    return PlanModel.of(Profile.open(path).header)


def _same(made_for: PlanModel, spec: str, sha256: str | None) -> bool:
    if made_for.sha256 and sha256:
        return made_for.sha256 == sha256
    return spec == made_for.spec  # nothing to compare but the names (a server, a transformers folder)


def choose_model(plan: Plan, model: str | None, mismatch: str = "refuse", *, source: str = "the plan",
                 flag: str = "--model") -> ModelChoice:
    """The model that runs ``plan``: ``model`` when given (checked against the plan's), else the plan's own.

    Checked before anything loads: a missing model file is one line (ModelError, exit 4),
    and so is a model that is not the plan's unless ``mismatch`` is "ok". ``flag``: how the
    messages tell the user to name another model (a cascade's stage: ``--model NAME=PATH``).
    """
    _check_mismatch(mismatch)
    made_for = plan_model(plan)
    if model is None:
        return _the_plans_own(plan, made_for, source, flag)
    return _given(made_for, model, lambda: model_sha256(model), mismatch, source, flag)


def _given(made_for: PlanModel | None, model: str, sha256, mismatch: str, source: str,
           flag: str = "--model") -> ModelChoice:
    """``model``, named by the user, checked against the plan's (``sha256()`` computed only if needed)."""
    if made_for is None:  # a fixed-N plan, or an old plan whose profile is gone: nothing to compare
        return ModelChoice(model, model_label(model))
    if made_for.spec is None:
        return ModelChoice(model, model_label(model), f"{source} was made from published samples of "
                           f"{made_for.label}, not of {model_label(model)}: its predictions are for that model")
    given = sha256()
    if _same(made_for, model, given):
        return ModelChoice(model, model_label(model))
    plans = made_for.label + (f", sha256 {made_for.sha256[:12]}…" if made_for.sha256 else "")
    what = (f"{model_label(model)} is not the model {source} was made for ({plans})" if given or not made_for.sha256
            else f"inferplan cannot check that {model_label(model)} serves the model {source} was made for ({plans})")
    if mismatch != "ok":
        raise ModelError(f"{what}; run it on its own model (leave out {flag}), or say --model-mismatch ok "
                         "to run it on this one anyway")
    return ModelChoice(model, model_label(model), f"{what}: its predictions do not apply to this model")


def _the_plans_own(plan: Plan, made_for: PlanModel | None, source: str, flag: str) -> ModelChoice:
    if made_for is None:
        if not plan.profile:  # a fixed-N plan (`run -n`) runs on the default model
            return ModelChoice(DEFAULT_MODEL, DEFAULT_MODEL)
        raise InputError(f"{source} does not say which model it was made for (an older plan file, and its "
                         f"profile {plan.profile} is gone): give {flag}")
    if made_for.spec is None:
        raise InputError(f"{source} was made from published samples of {made_for.label} (imported), which "
                         f"inferplan cannot run: give {flag} (its predictions are for that model)")
    spec = made_for.spec
    if backend_kind(spec) == "llamacpp" and spec != DEFAULT_MODEL and not Path(spec).expanduser().exists():
        raise ModelError(f"the model {source} was made for is not there: {spec}; give {flag} with the same "
                         "file where it lives now")
    return ModelChoice(spec, made_for.label)


def check_open_backend(plan: Plan, backend: Backend, mismatch: str = "refuse", *,
                       source: str = "the plan", flag: str = "--model") -> ModelChoice:
    """The same check for a backend the caller opened: its sha256 (or model id) against the plan's."""
    _check_mismatch(mismatch)
    info = backend.info
    return _given(plan_model(plan), info.model, lambda: info.model_sha256, mismatch, source, flag)


def model_for(plan: Plan, model: str | Backend | None, mismatch: str = "refuse", *, source: str = "the plan",
              flag: str = "--model") -> tuple[ModelChoice, Backend | None]:
    """The model that runs ``plan`` — a spec string (or None: the plan's own) checked before anything
    loads, or a backend the caller opened — and that backend (None: open ``choice.spec``). The
    warning of an accepted mismatch is logged here, once."""
    if isinstance(model, (str, type(None))):
        choice, given = choose_model(plan, model, mismatch, source=source, flag=flag), None
    else:
        choice, given = check_open_backend(plan, model, mismatch, source=source, flag=flag), model
    if choice.warning:
        log.warning(choice.warning)
    return choice, given

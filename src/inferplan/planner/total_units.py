"""What a total over a batch counts (issue 33): tokens, samples, seconds or usd — hard limits only.

A total is kept hard by charging each sample, before it starts, the most it can cost: its token
cap in the total's unit. That works for every unit whose cost is a fixed function of the tokens a
sample generates: tokens; samples (one each); seconds as the planner counts them (the profile's
measured decode seconds per token × tokens generated, not wall clock); usd at the plan's price per
completion token. A prompt's tokens are known only once its first sample returns, so a plan that
prices prompt tokens (``price_in`` > 0) cannot have a hard total in usd; flops and latency are not
totals of generated tokens either. Those are refused in one line (exit 3).
"""

from __future__ import annotations

from inferplan.errors import InvalidValue
from inferplan.planner.plan_file import Plan
from inferplan.replay.cost import CostModel

TOTAL_UNITS = ("tokens", "samples", "seconds", "usd")


def total_cost_model(plan: Plan, unit: str | None = None, *, seconds_per_token: float | None = None) -> CostModel:
    """The cost model of a total in ``unit`` (default: the plan's; a plan that was not planned: tokens).

    ``seconds_per_token`` stands in where the plan does not record its profile's rate (older plans)."""
    unit = unit or _default_unit(plan)
    check_total_unit(unit, plan.price_in, plan.price_out if plan.unit == "usd" else 0.0)
    if unit == "usd":
        return CostModel(unit="usd", price_out=plan.price_out)
    if unit == "seconds":
        rate = plan.seconds_per_token or seconds_per_token
        if not rate:
            raise InvalidValue("total_budget", "{name} in seconds needs the profile's measured seconds per token, "
                               "which this plan does not record: make it with `plan --unit seconds`")
        return CostModel(unit="seconds", seconds_per_token=rate)
    return CostModel(unit=unit)


def check_total_unit(unit: str, price_in: float = 0.0, price_out: float = 0.0) -> None:
    """Refuse (one line, exit 3) a unit no total can be kept hard in; usd needs completion prices only."""
    if unit not in TOTAL_UNITS:
        raise InvalidValue("total_budget", f"{{name}} counts {', '.join(TOTAL_UNITS)}; not {unit} (its cost is not "
                           "a fixed price of the tokens a sample generates, so no total of it can be kept hard)")
    if unit == "usd" and price_out <= 0:
        raise InvalidValue("total_budget", "a total in usd needs a price per completion token: make the plan "
                           "with --unit usd --price-out P, or give {name} in tokens")
    if unit == "usd" and price_in > 0:
        raise InvalidValue("total_budget", "{name} in usd cannot be kept hard where prompt tokens have a price "
                           "(--price-in): a prompt's tokens are known only after its first sample; give it in tokens")


def _default_unit(plan: Plan) -> str:
    # "fixed": runner.fixed.FIXED, a plan `run -n` builds (its unit "samples" is nominal)
    return "tokens" if plan.objective == "fixed" else plan.unit


def sample_cap(cost: CostModel, max_tokens: int) -> float:
    """The most one sample can cost in the total's unit (what is reserved while it is in flight)."""
    return 1.0 if cost.unit == "samples" else float(cost.token_cost(max_tokens, 0.0))


def sample_cost(cost: CostModel, completion_tokens: float) -> float:
    """What one sample that generated ``completion_tokens`` costs in the total's unit."""
    return 1.0 if cost.unit == "samples" else float(cost.token_cost(completion_tokens, 0.0))

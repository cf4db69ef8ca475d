"""The plan files of plans across models: one model's plan, a cascade's chain, a mix's pool.

Every model's part is an ordinary complete plan (its own profile, prompt, configuration, rule and
model block), so ``run`` resolves and opens each one as it would open a plan of that model alone;
the first part carries what the whole plan predicts and its notes.
"""

from __future__ import annotations

from inferplan.planner.cascade_search import ModelProfile
from inferplan.planner.plan_file import Escalation, Plan, PlanModel, PoolMember, Prediction
from inferplan.policy.aggregate import Aggregation
from inferplan.policy.stopping import StoppingRule, make_rule
from inferplan.tasks.prompt_spec import from_header


def stage_plan(m: ModelProfile, *, mix: dict[str, float], rule: StoppingRule, unit: str, budget: float | None,
               target_accuracy: float | None, cap: int | None = None, term=None, prediction: Prediction | None = None,
               heldout: tuple[str, ...] = (), seed: int = 0, notes: tuple[str, ...] = (),
               escalate: Escalation | None = None, pool: tuple[PoolMember, ...] = (),
               aggregation: Aggregation = Aggregation("vote")) -> Plan:
    """One model's plan in a plan across models: its own profile, prompt, configurations and model."""
    table = m.profile.table
    return Plan(profile=str(m.profile.path), profile_sha256=m.profile.sha256,
                objective="max-accuracy" if budget is not None else "min-cost", budget=budget,
                target_accuracy=target_accuracy, unit=unit, mix=mix,
                configs={c.name: c for c in table.configs if c.name in mix}, aggregation=aggregation,
                rule=rule, max_tokens=cap, prediction=prediction, heldout=heldout, seed=seed, notes=notes,
                prompt=from_header(table.header), price_in=m.cost.price_in, price_out=m.cost.price_out,
                terminate=term, model=PlanModel.of(table.header, m.cost.parameters if unit == "flops" else None),
                escalate=escalate, pool=pool)


def chain_stages(searches, c, common: dict, notes: list[str]) -> Plan:
    """The cascade's plan file (``c`` a models.CascadePlan): each stage's own plan, chained from the
    last through ``escalate``; the first carries the prediction and the notes."""
    by_name = {s.model.name: s.model for s in searches}
    plan = None
    for number, st in reversed(list(enumerate(c.cascade.stages))):
        head = dict(prediction=Prediction.of(c.heldout, escalation=c.escalation), notes=tuple(notes)) \
            if number == 0 else {}
        plan = stage_plan(by_name[st.model], mix={st.config: 1.0}, rule=st.rule,
                          escalate=None if plan is None else Escalation(st.accept_share, plan), **head, **common)
    return plan


def mix_plan(searches, mix, common: dict, notes: list[str]) -> Plan:
    """The mix's plan file (``mix`` a model_mix.MixPlan): the first model's plan drawing its fixed
    number of samples, with a ``pool`` of every other model's plan and its number; the first
    carries the mix's prediction and the notes."""
    parts = []
    for s in searches:
        k = mix.counts.get(s.model.name, 0)
        if k > 0:
            config = s.search.table.configs[s.configs()[0]].name  # the configuration the mix was replayed on
            parts.append((k, s.model, config))
    plans = [stage_plan(m, mix={config: 1.0}, rule=make_rule("fixed", (k,)), **common) for k, m, config in parts]
    pool = tuple(PoolMember(k, p) for (k, _, _), p in zip(parts[1:], plans[1:]))
    k, m, config = parts[0]
    return stage_plan(m, mix={config: 1.0}, rule=make_rule("fixed", (k,)), prediction=Prediction.of(mix.heldout),
                      notes=tuple(notes), pool=pool, **common)

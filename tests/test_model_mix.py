"""Mixes across models in one vote (issue 31): the replay against a direct simulation from the raw
answers, a one-model mix against that model's fixed-N replay, and the planner's mix beside the plan."""

from __future__ import annotations

import json

import numpy as np
import pytest

import inferplan as ip
from gpqa_models import ACTIVE, import_gpqa
from inferplan.planner.cascade_search import ModelProfile
from inferplan.planner.models import ModelsSearch
from inferplan.policy.aggregate import Aggregation
from inferplan.policy.stopping import make_rule
from inferplan.profiles.store import load_profile
from inferplan.replay.cost import CostModel
from inferplan.replay.model_mix import mix_outcome, pool
from inferplan.replay.traces import densify, evaluate, trace


@pytest.fixture(scope="module")
def gpqa(shared_data, tmp_path_factory) -> list:
    return list(import_gpqa(shared_data, tmp_path_factory.mktemp("gpqa-mix")).values())


def _direct(answers, k, gold, rng: np.random.Generator, reps: int) -> float:
    """k[m] of model m's answers drawn without replacement, all in one majority vote (ties at random)."""
    right = 0.0
    for p, g in enumerate(gold):
        for _ in range(reps):
            drawn = [x for a, n in zip(answers, k) if n for x in rng.choice(np.array(a[p], dtype=object), n, replace=False)]
            values, counts = np.unique([x for x in drawn if x is not None], return_counts=True)
            if len(counts):
                right += np.mean([v == g for v in values[counts == counts.max()]])
    return right / (len(gold) * reps)


@pytest.mark.data
def test_mix_replay_matches_its_definition(gpqa) -> None:
    tables = [load_profile(p) for p in gpqa]
    assert all(t.problems == tables[0].problems for t in tables)
    pl = pool([(t, densify(t, CostModel("tokens")), 0) for t in tables])

    def answers(t):
        return [[t.answer_names[p][a] if a >= 0 else None for a in t.answer[t.problem == p]]
                for p in range(len(t.problems))]

    gold = [tables[0].header.raw["gold"][pid] for pid in tables[0].problems]
    raw = [answers(t) for t in tables]
    k = (3, 2, 0)
    replayed = mix_outcome(pl, k, reps=200, seed=1)
    assert abs(replayed.accuracy.mean() - _direct(raw, k, gold, np.random.default_rng(2), 60)) < 0.01
    # Each sample costs its own tokens: k_m times model m's mean tokens on the problem, in expectation.
    mean_tokens = [np.array([t.completion_tokens[t.problem == p].mean() for p in range(len(t.problems))])
                   for t in tables]
    expected = 3 * mean_tokens[0] + 2 * mean_tokens[1]
    assert np.mean(np.abs(replayed.cost - expected) / expected) < 0.05
    # A mix of one model is that model's fixed-N majority vote.
    alone = mix_outcome(pl, (0, 0, 5), reps=200, seed=3).accuracy.mean()
    fixed = evaluate(trace(densify(tables[2], CostModel("samples")), np.array([1.0]), 5, Aggregation("vote"),
                           reps=200, seed=4), make_rule("fixed", (5,))).accuracy.mean()
    assert abs(alone - fixed) < 0.01


@pytest.mark.data
def test_the_plan_reports_the_best_mix_beside_it(gpqa) -> None:
    models = [ModelProfile(n, ip.open_profile(p), CostModel("flops", parameters=ACTIVE[n])) for n, p in zip(ACTIVE, gpqa)]
    ms = ModelsSearch(models, unit="flops", seed=0)
    budget = 2e15
    r = ms.plan(budget=budget)
    m = r.mix
    assert m is not None and sum(n > 0 for n in m.counts.values()) >= 2
    assert m.train_cost <= 1.05 * budget  # within the budget in each model's mean cost per sample
    assert m.beats == (m.gain > max(m.se, 1e-3))
    assert any("mix in one vote" in n for n in r.notes)  # chosen, or why not
    assert r.kind != "mix" or m.beats  # chosen only past the guard over the best single-model plan
    lo, hi = m.heldout.accuracy.interval
    assert lo < m.heldout.accuracy.point < hi
    assert ms.plan(target_accuracy=0.6).mix is None  # a target accuracy plans no mix


@pytest.mark.data
def test_a_mix_plan_file_names_every_model_and_its_samples(gpqa, tmp_path) -> None:
    """policy "mix": the best mix as the plan, its file a pool of each model's own plan drawing its
    fixed number of samples, read back as written; a broken pool is refused in one line."""
    from inferplan.errors import InfeasibleError, InputError, InvalidValue
    from inferplan.planner.plan_file import load_plan, save_plan

    models = [ModelProfile(n, ip.open_profile(p), CostModel("flops", parameters=ACTIVE[n])) for n, p in zip(ACTIVE, gpqa)]
    r = ModelsSearch(models, unit="flops", seed=0).plan(budget=2e15, policy="mix")
    assert r.kind == "mix" and r.heldout == r.mix.heldout and r.escalation is None
    plan = load_plan(save_plan(r.plan, tmp_path / "mix.json"))
    assert plan == r.plan and plan.escalate is None and len(plan.pool) >= 1
    drawn = {p.model.name: p.max_samples for p in plan.members}
    assert drawn == {m: n for m, n in r.mix.counts.items() if n > 0}
    assert all(p.rule.name == "fixed" and p.model is not None for p in plan.members)
    assert plan.prediction.accuracy == r.mix.heldout.accuracy

    broken = plan.to_json()
    broken["pool"][0]["samples"] += 1  # no longer what its plan draws
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    with pytest.raises(InputError, match="pool"):
        load_plan(tmp_path / "broken.json")
    with pytest.raises(InvalidValue, match="mix of several models"):  # replay takes one model's plan
        ip.simulate(gpqa[0], plan=plan)
    with pytest.raises(InfeasibleError, match="budget"):
        ModelsSearch(models, unit="flops", seed=0).plan(target_accuracy=0.6, policy="mix")

"""``plan --batch``: the batch allocator's parameters, chosen on the training problems (issue 33).

A plan's budget per query × a batch's queries is one total (in tokens, less the prompt the plan
charges per query: a total counts generated tokens only). Seven allocators share it on the
training problems, each read in ``TRAIN_REPS`` seeded orders of every problem's recorded samples:
knowledge-gradient allocation within the plan's stopping rule and cap, or plain (a query ends only
at the samples its problem recorded, PETS's offline setting), each after 1, 2 or 4 first samples
per query in turn, and the hybrid (within the rule until every query is ended by it, then what the
rule left of the total plainly, up to the recorded samples; one first sample). The default — within the rule, one first sample, what ``run --total-budget``
did before the block existed — is kept unless another beats it on the training problems by more
than one paired standard error (as the planner's parallel rounds and thinking budgets must), so
seven tries do not pick noise. The choice is then replayed once on the held-out problems at the
same budget per query: that replay, never the training one, is the prediction.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from inferplan.errors import InvalidValue
from inferplan.planner.batch import Streams, make_streams, replay_uniform
from inferplan.planner.batch_policy import BatchPolicy, BatchPrediction
from inferplan.planner.batch_simulate import replay_policy, streams_input, total_cost_of
from inferplan.planner.plan_file import Plan
from inferplan.planner.total_units import check_total_unit
from inferplan.profiles.profile import Profile
from inferplan.replay.cost import cost_model_for
from inferplan.replay.split import split_problems
from inferplan.replay.traces import Outcome, estimate

WARMUPS = (1, 2, 4)
TRAIN_REPS = 4  # orders of each training problem's samples per candidate
HELDOUT_REPS = 8  # orders of each held-out problem's samples for the prediction


def candidates(recorded: int) -> list[BatchPolicy]:
    """The default first, then the rest of the small grid; the hybrid starts as the default does
    (one first sample, the rule), so only its one warm-up is tried."""
    return ([BatchPolicy("within-rule", w) for w in WARMUPS]
            + [BatchPolicy("plain", w, max_samples=recorded) for w in WARMUPS]
            + [BatchPolicy("hybrid", 1, max_samples=recorded)])


def _per_problem(streams: list[Streams], run) -> tuple[np.ndarray, np.ndarray, float]:
    """Per problem, the share of orders whose vote is correct and agrees; the mean total spent."""
    correct, agree, spent = 0.0, 0.0, 0.0
    for r, st in enumerate(streams):
        tr = run(st, r)
        correct, agree, spent = correct + tr.final_correct, agree + tr.final_agree, spent + float(tr.cost[-1])
    n = len(streams)
    return correct / n, agree / n, spent / n


def _orders(profile: Profile, plan: Plan, problems: np.ndarray, reps: int, seed: int) -> list[Streams]:
    answers, costs, correct = streams_input(profile, plan, problems, total_cost_of(profile, plan))
    return [make_streams(answers, costs, correct, seed=seed + 1000 * r) for r in range(reps)]


def pick(scores: list[np.ndarray]) -> int:
    """The candidate to keep: the best mean if it beats the default (index 0) by more than one paired SE."""
    means = [float(s.mean()) for s in scores]
    best = int(np.argmax(means))
    if best == 0:
        return 0
    diff = scores[best] - scores[0]
    se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("inf")
    return best if diff.mean() > se else 0


def choose_batch(profile: Profile, plan: Plan, train: np.ndarray, test: np.ndarray, *, seed: int = 0,
                 train_reps: int = TRAIN_REPS, heldout_reps: int = HELDOUT_REPS) -> BatchPolicy:
    """The allocator for ``plan`` at its budget per query: chosen on ``train``, predicted on ``test``
    (problem indices of the profile's table)."""
    if plan.budget is None:
        raise InvalidValue("batch", "{name} chooses an allocation of one total: plan at a --budget per query, "
                           "not a --target-accuracy")
    if len(train) < 2 or len(test) < 1:
        raise InvalidValue("batch", "{name} needs at least 2 training and 1 held-out problem")
    per_query = generation_budget(profile, plan)
    tr = _orders(profile, plan, train, train_reps, seed)
    recorded = max(len(a) for a in tr[0].answers)
    grid = candidates(recorded)
    scores = []
    for c in grid:
        acc, _, _ = _per_problem(tr, lambda st, r, c=c: replay_policy(st, c, plan, per_query * len(train), seed + r))
        scores.append(acc)
    chosen = grid[pick(scores)]
    te = _orders(profile, plan, test, heldout_reps, seed + 1)
    total = per_query * len(test)
    acc, agree, spent = _per_problem(te, lambda st, r: replay_policy(st, chosen, plan, total, seed + r))
    u_acc, _, _ = _per_problem(te, lambda st, r: replay_uniform(st, total, hard=True))
    a, s, u = (estimate(Outcome(x, np.zeros_like(x), np.zeros_like(x)), seed=seed) for x in (acc, agree, u_acc))
    prediction = BatchPrediction(a.accuracy, s.accuracy, spent / len(test), heldout_reps, u.accuracy)
    return replace(chosen, per_query=per_query, prediction=prediction,
                   train=tuple((c.name, float(x.mean())) for c, x in zip(grid, scores)))


def generation_budget(profile: Profile, plan: Plan) -> float:
    """The plan's budget per query as a total counts it: in tokens, less the prompt the plan charges
    (a total counts generated tokens only — planner/total_units.py); other units unchanged."""
    budget = float(plan.budget)
    if plan.unit != "tokens":
        return budget
    table = profile.table
    cost = cost_model_for(table, "tokens")
    prompt = cost.mean_overhead(table)  # a shared prompt, once a query
    if not cost.shared_prefix:  # every sample reads its prompt: as many times as the plan draws samples
        samples = plan.prediction.samples if plan.prediction is not None else plan.rule.max_samples
        prompt = float(np.nanmean(np.nan_to_num(table.prompt_tokens, nan=0.0))) * samples
    return budget - prompt  # positive: a plan's budget covers its cheapest query, prompt and one sample


def check_batch(unit: str, budget: float | None, price_in: float = 0.0, price_out: float = 0.0) -> None:
    """Refuse ``batch`` before any search where no total of the plan's unit can be kept hard (one line)."""
    if budget is None:
        raise InvalidValue("batch", "{name} chooses an allocation of one total: plan at a --budget per query, "
                           "not a --target-accuracy")
    try:
        check_total_unit(unit, price_in, price_out)
    except InvalidValue as e:
        raise InvalidValue("batch", e.template.replace("{name}", "the total of {name}")) from None


def with_batch(profile: Profile, result, holdout: float, seed: int):
    """``result`` (a planner.search.PlanResult) with the batch allocation chosen for its plan."""
    table = profile.table
    ids = {pid: i for i, pid in enumerate(table.problems)}
    test = np.array(sorted(ids[x] for x in result.plan.heldout if x in ids))
    train = np.array(sorted(set(split_problems(table, holdout, seed).train) - set(test.tolist())))
    policy = choose_batch(profile, result.plan, train, test, seed=seed)
    return replace(result, plan=replace(result.plan, batch_allocation=policy))

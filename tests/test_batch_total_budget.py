"""A hard total over a file of queries, on the real embedded model (SmolLM2 under llama.cpp)."""

from __future__ import annotations

from dataclasses import replace

import pytest

import inferplan as ip
from engines import embedded_engine
from inferplan.errors import InvalidValue
from inferplan.planner.batch_policy import BatchPolicy
from inferplan.runner.queries import Query
from inferplan.runner.total_budget import run_total_budget
from inferplan.tasks.builtin import builtin_set

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    with embedded_engine(tmp_path_factory, ctx=1024) as b:
        yield b


def arith(n: int) -> list[Query]:
    return [Query(t.id, prompt=t.text) for t in builtin_set(f"arith:{n}").tasks]


@pytest.mark.parametrize("total", [1_500, 6_000])
def test_spend_never_exceeds_the_total(backend, total):
    queries = arith(200)
    plan = ip.fixed_plan(6, temperatures=(0.8,), max_tokens=24)
    run = run_total_budget(queries, backend, plan, total)
    assert run.spent <= total
    assert sum(a.completion_tokens for a in run.answers) == run.spent
    assert run.spent > total - 24 * 4 - 24  # the batch was kept full until nothing more fit
    assert len(run.answers) == 200 and [a.id for a in run.answers] == [q.id for q in queries]
    assert run.unsettled == sum(not a.settled for a in run.answers) > 0  # 200 × 6 samples do not fit
    assert all(a.samples <= 6 for a in run.answers)
    got = [a.samples for a in run.answers]
    assert max(got) > min(got)  # not uniform: the allocator chose


def test_a_total_that_fits_everything_settles_every_query(backend):
    queries = arith(6)
    run = run_total_budget(queries, backend, ip.fixed_plan(3, temperatures=(0.8,), max_tokens=16), 10_000)
    assert run.unsettled == 0 and all(a.samples == 3 for a in run.answers)
    assert run.spent <= 10_000


def test_total_smaller_than_one_sample_runs_nothing(backend):
    run = run_total_budget(arith(3), backend, ip.fixed_plan(3, max_tokens=64), 50)
    assert run.spent == 0 and run.unsettled == 3 and all(a.samples == 0 and a.answer is None for a in run.answers)
    with pytest.raises(InvalidValue):
        run_total_budget(arith(3), backend, ip.fixed_plan(3), 0)


def test_the_plans_batch_allocation_is_what_runs(backend):
    """plan --batch's block decides: plain (only its cap ends a query) and its first samples in turn."""
    queries = arith(12)
    base = ip.fixed_plan(2, temperatures=(0.8,), max_tokens=16)
    total = 12 * 16 * 4
    plain = run_total_budget(queries, backend, replace(base, batch_allocation=BatchPolicy("plain", 3, max_samples=5)),
                             total)
    got = [a.samples for a in plain.answers]
    assert min(got) >= 3  # every query had its 3 first samples before the allocation (576 of 768 tokens at most)
    assert max(got) > 2 and max(got) <= 5  # the fixed:2 rule no longer ends a query; the block's cap does
    assert plain.spent <= total
    within = run_total_budget(queries, backend, replace(base, batch_allocation=BatchPolicy("within-rule", 1)), total)
    assert max(a.samples for a in within.answers) == 2 and within.unsettled == 0
    hybrid = run_total_budget(queries, backend, replace(base, batch_allocation=BatchPolicy("hybrid", 1, max_samples=5)),
                              total)
    got = [a.samples for a in hybrid.answers]
    assert min(got) >= 2 and 2 < max(got) <= 5  # the rule's 2 each first, then the rest of the total past it
    assert within.spent < hybrid.spent <= total and total - hybrid.spent < 16 * 4 + 16  # the leftover is spent
    assert hybrid.unsettled == 0  # the rule had ended every query before the rest was spent
    assert sum(a.completion_tokens for a in hybrid.answers) == hybrid.spent

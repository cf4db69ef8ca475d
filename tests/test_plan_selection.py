"""The planner keeps the reference rule (beta, no binding guard) unless a rival beats it clearly."""

from __future__ import annotations

import numpy as np

from inferplan.planner.candidates import Candidate, Mix
from inferplan.planner.selection import choose as _choose
from inferplan.policy.stopping import make_rule

MIX = Mix((1.0,), "T=0.7")


def _cand(rule, per_problem, cost, cap=None) -> Candidate:
    per_problem = np.asarray(per_problem, dtype=float)
    return Candidate(MIX, cap, rule, float(per_problem.mean()), cost, cost, per_problem=per_problem)


def test_noise_level_lead_keeps_beta() -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, 200)
    noise = rng.normal(0, 0.05, 200)
    ref = _cand(make_rule("beta", (0.95,), max_samples=40), base, 6.0)
    rival = _cand(make_rule("esc", (3,), max_samples=16), base + noise - noise.mean() + 0.002, 5.0)
    chosen, note = _choose([ref, rival], 6.4, None, "samples")
    assert chosen is ref
    assert note and "kept beta:0.95,min=1,max=40" in note and "esc:3" in note


def test_clear_lead_departs_from_beta() -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 0.9, 200)
    ref = _cand(make_rule("beta", (0.95,), max_samples=40), base, 6.0)
    rival = _cand(make_rule("esc", (3,), max_samples=16), base + 0.05 + rng.normal(0, 0.01, 200), 5.0)
    chosen, note = _choose([ref, rival], 6.4, None, "samples")
    assert chosen is rival and note is None


def test_reference_is_beta_with_the_longest_guard_and_no_cap() -> None:
    base = np.full(50, 0.8)
    short = _cand(make_rule("beta", (0.9,), max_samples=16), base + 0.0005, 5.0)
    capped = _cand(make_rule("beta", (0.9,), max_samples=40), base + 0.0005, 5.0, cap=256)
    ref = _cand(make_rule("beta", (0.9,), max_samples=40), base, 6.0)
    over_budget = _cand(make_rule("beta", (0.99,), max_samples=40), base + 0.1, 9.0)
    chosen, _ = _choose([short, capped, ref, over_budget], 6.4, None, "samples")
    assert chosen is ref


def test_a_cheaper_reference_does_not_replace_a_costlier_winner() -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(0, 1, 20)
    one_sample = _cand(make_rule("beta", (0.5,), max_samples=16), base, 75.0)
    adaptive = _cand(make_rule("beta", (0.9,), max_samples=4), base + rng.normal(0.025, 0.1, 20), 87.0)
    chosen, note = _choose([one_sample, adaptive], 90.8, None, "tokens")
    assert chosen is adaptive and note is None


def _round(rule, per_problem, cost, launch):
    from inferplan.planner.rounds import RoundCandidate

    per_problem = np.asarray(per_problem, dtype=float)
    return RoundCandidate(MIX, None, rule, float(per_problem.mean()), cost, cost, per_problem=per_problem,
                          launch=launch)


def test_a_parallel_round_replaces_the_sequential_plan_only_when_clearly_better() -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(0, 0.9, 200)
    seq = _cand(make_rule("fixed", (1,)), base, 1000.0)
    close = _round(make_rule("fixed", (1,)), base + rng.normal(0, 0.05, 200) + 0.002, 1400.0, 4)
    chosen, _ = _choose([seq, close], 1500.0, None, "tokens")
    assert chosen is seq  # a lead within selection noise does not move the plan to a round
    clear = _round(make_rule("fixed", (1,)), base + 0.08 + rng.normal(0, 0.01, 200), 1400.0, 4)
    chosen, note = _choose([seq, close, clear], 1500.0, None, "tokens")
    assert chosen is clear and "first@4" in note and "fixed:1" in note
    chosen, _ = _choose([seq, clear], 1200.0, None, "tokens")
    assert chosen is seq  # the round does not fit the budget


def _forced(rule, per_problem, cost, cap) -> Candidate:
    per_problem = np.asarray(per_problem, dtype=float)
    return Candidate(MIX, cap, rule, float(per_problem.mean()), cost, cost, forced=True, per_problem=per_problem)


def test_a_thinking_budget_must_beat_the_plain_plan_clearly() -> None:
    """A forced budget's lead within one paired SE on the training problems is noise: the plain plan
    stays; a lead well past it takes the budget, and the note says why."""
    rng = np.random.default_rng(3)
    base = rng.uniform(0, 0.8, 40)
    plain = _cand(make_rule("beta", (0.95,), max_samples=8), base, 290.0)
    noisy = _forced(make_rule("beta", (0.95,), max_samples=8), base + rng.normal(0.01, 0.1, 40), 280.0, 192)
    chosen, _ = _choose([plain, noisy], 300.0, None, "tokens")
    assert chosen is plain
    clear = _forced(make_rule("beta", (0.95,), max_samples=8), base + 0.1 + rng.normal(0, 0.01, 40), 280.0, 192)
    chosen, note = _choose([plain, noisy, clear], 300.0, None, "tokens")
    assert chosen is clear
    assert note.startswith("chose the thinking budget beta:0.95") and "+think≤192" in note


def test_a_note_says_below_where_a_candidate_lost_and_the_guard_only_where_it_won() -> None:
    from inferplan.planner.selection import scored_against

    below = scored_against(-0.1828, 0.0357, 1.0, "the single model's plan", False)
    assert below == "scored 18.28 pt below the single model's plan on the training problems (SE 3.57 pt)"
    near = scored_against(0.012, 0.02, 1.0, "the best two-stage one", False)
    assert near.endswith("+1.20 pt over the best two-stage one on the training problems, not more than "
                         "1 paired standard error (2.00 pt)")
    past = scored_against(0.05, 0.02, 2.0, "the best single-model plan", True)
    assert "more than 2 paired standard errors (2.00 pt)" in past and "not more" not in past


def test_guarded_model_choice_keeps_the_cheaper_model_unless_beaten_clearly() -> None:
    """select="guarded": the model whose sample costs least stays the choice unless the best-ranked
    model's reference rule beats it by more than one paired SE on the training problems."""
    from types import SimpleNamespace

    import numpy as np

    from inferplan.planner.candidates import Candidate, Mix
    from inferplan.planner.model_choice import model_by_reference
    from inferplan.policy.stopping import make_rule

    def model(name: str, unit: float, per_problem: list[float]):
        c = Candidate(Mix((1.0,), "t0.7"), None, make_rule("beta", (0.9,), max_samples=16), float(np.mean(per_problem)),
                      10.0, 4.0, per_problem=np.array(per_problem))
        return SimpleNamespace(cands=[c], search=SimpleNamespace(unit_cost=np.array([unit])),
                               model=SimpleNamespace(name=name))

    cheap = model("cheap", 1.0, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
    near = model("near", 4.0, [1, 1, 1, 0, 1, 0, 1, 0, 0, 1])  # +10 points net, inside its SE (18 points)
    clear = model("clear", 4.0, [1, 1, 1, 1, 1, 1, 1, 1, 1, 0])  # +40 points: beyond it
    assert model_by_reference([cheap, near], 20.0) == (near, None)  # unguarded: the best training score
    kept, why = model_by_reference([cheap, near], 20.0, guard=1.0)
    assert kept is cheap and why.startswith("kept cheap, whose sample costs least: near's reference rule scored "
                                            "+10.00 pt over it on the training problems, not more than 1 paired")
    assert model_by_reference([cheap, clear], 20.0, guard=1.0) == (clear, None)
    assert model_by_reference([cheap, near], 5.0, guard=1.0) == (None, None)  # no reference rule within 5
    # Under a verifier (plans are fixed N: no reference rule) each model's own best plan ranks it.
    kept, why = model_by_reference([cheap, near], 20.0, guard=1.0, verifier=True)
    assert kept is cheap and "near's best plan scored +10.00 pt" in why
    same_price = model("same", 1.0, [1, 1, 1, 0, 1, 0, 1, 0, 0, 1])  # as cheap a sample: nothing to guard
    assert model_by_reference([cheap, same_price], 20.0, guard=1.0) == (same_price, None)

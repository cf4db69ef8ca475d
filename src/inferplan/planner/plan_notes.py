"""The notes a plan carries: where it was planned and predicted, and the warnings a user must see."""

from __future__ import annotations

import numpy as np

from inferplan.planner.candidates import Candidate
from inferplan.planner.curve_predictions import NOTE
from inferplan.planner.simulate import Baseline
from inferplan.profiles.store import SampleTable
from inferplan.replay.budget_curve import budget_curve
from inferplan.stats.estimate import PerQuery

FEW_TRAINING_PROBLEMS = 20  # below this, the search's ranking is mostly noise


def plan_caveats(split, pred: PerQuery, baselines: tuple[Baseline, ...]) -> tuple[str, ...]:
    """Warnings a user must see: too few training problems, or a plan a baseline beats."""
    out = []
    if len(split.train) < FEW_TRAINING_PROBLEMS and not split.in_sample:
        out.append(f"warning: planned on only {len(split.train)} training problems; profile more problems "
                   f"(≥ {FEW_TRAINING_PROBLEMS}) before trusting the choice")
    best = max(baselines, key=lambda b: b.accuracy.point, default=None)
    if best is not None and best.accuracy.point - pred.accuracy.point >= 0.0005:  # at least the 0.1 point it prints
        out.append(f"warning: on the held-out problems the baseline '{best.name}' scores "
                   f"{100 * (best.accuracy.point - pred.accuracy.point):.1f} points higher "
                   f"({100 * best.accuracy.point:.1f}% at "
                   f"{best.samples:.2f} samples/query); consider it instead")
    return tuple(out)


def plan_notes(split, seed: int, kept_note: str | None, chosen: Candidate, recorded: int | None,
               family: str, family_note: str | None) -> tuple[str, ...]:
    notes = [f"planned on {len(split.train)} problems, predicted on {len(split.test)} held-out problems"
             + (" (the profile's own split)" if split.source == "profile" else f" (seeded split, seed {seed})")]
    if split.in_sample:
        notes = ["holdout 0: planned and evaluated on the same problems; the prediction is optimistic"]
    if kept_note:
        notes.append(kept_note)
    if chosen.extrapolated:
        notes.append(NOTE.format(n=recorded) + f" (N = {chosen.rule.max_samples}, {family}; interval: bootstrap "
                     "over held-out problems and posterior draws, spanning the difficulty families)")
        if family_note:
            notes.append(family_note)
    return tuple(notes)


def thinking_note(table: SampleTable, train: np.ndarray, chosen: Candidate) -> tuple[str, ...]:
    """For a plan with a thinking budget: how its samples behaved there on the training problems
    (made to answer, censored, escaped)."""
    if not chosen.forced:
        return ()
    row = next(r for r in budget_curve(table, train) if r.budget == chosen.cap)
    return (f"thinking budget {chosen.cap} tokens: on the training problems {100 * row.thinking:.0f}% of samples "
            f"were still thinking there and are made to answer; {100 * row.censored_forced:.0f}% of samples are "
            f"censored (no readable answer, an abstention) and {100 * row.escaped:.0f}% of forced answers escaped "
            "(still going at the answer budget)",)

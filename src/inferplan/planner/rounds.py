"""Parallel-round plans: one round of K samples, read in the order they finish.

On a batched engine K samples launched at once finish in order of length
(:mod:`inferplan.replay.parallel`): majority@K waits for all, short-m@K for the first m
(``fixed:m``), an adaptive rule for the first finishers that satisfy it, and the
samples still running are cancelled at the stop. What such a round costs depends on
the unit:

* ``--unit latency``: its wall clock in tokens, the length of the last sample it
  waits for. Sequential rounds pay each round's slowest sample, so these are the
  only plans the latency search offers.
* ``--unit tokens``: every token generated, the cancelled samples' included. Here
  rounds compete with the sequential rules, and win where the first chains to
  finish are the right ones: on reasoning models that overthink, first@4 scores
  above one sample at a third of a fixed-16 budget's tokens.

Candidates are each configuration alone × K × rule, replayed on the training
problems; the held-out problems replay the chosen one, as for every plan. Whether
short chains are the right ones is the model's and the task's: on some sets the
first to finish are the confident right answers, on others the quick wrong ones, and
only the training problems can tell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inferplan.planner.candidates import RULE_GRID, Candidate, Mix
from inferplan.planner.mix_allocation import recorded_slots
from inferplan.policy.aggregate import Aggregation
from inferplan.policy.stopping import StoppingRule, make_rule
from inferplan.replay.parallel import ParallelOutcome, ParallelTrace, evaluate_parallel, parallel_trace
from inferplan.replay.traces import Dense, estimate
from inferplan.stats.estimate import PerQuery

LAUNCH_K = (1, 2, 4, 8, 16, 32, 64, 128, 256)
SHORT_M = (1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


def parallel_rules(k: int, agg: Aggregation) -> list[StoppingRule]:
    """Rules on the finishers of a round of k: majority@k, short-m@k, adaptive rules."""
    rules = [make_rule("fixed", (m,)) for m in SHORT_M if m <= k]
    if not agg.first_pass and k > 2:  # answer-agreement rules; a verifier stops at its first accept
        # θ = 0.5 is first@k under another name (1 − I½(2, 1) = 0.75 holds at the first answer, so
        # 0.6 and 0.7 are too; they stay, as the reference rule selection reads beta's thresholds).
        rules += [make_rule("beta", (t,), max_samples=k) for t in RULE_GRID["beta"] if t > 0.5]
    return rules


def launch_sizes(dense: Dense, used: int) -> list[int]:
    """K the recorded samples of configuration ``used`` can replay on every problem."""
    have = int(dense.count[:, used].min())
    return [k for k in LAUNCH_K if k <= have]


def has_lengths(dense: Dense) -> bool:
    """Every recorded sample has a completion length: finish order needs them."""
    valid = recorded_slots(dense)
    return bool(valid.any()) and not np.isnan(dense.tokens[valid]).any()


def parallel_spec(k: int) -> str:
    return f"parallel:{k}"


@dataclass
class RoundSearch:
    """Parallel-round candidates on the training split, their held-out replays on demand.

    ``charge`` is what a round costs: ``latency`` (its wall clock) or ``tokens`` (all generated)."""

    names: tuple[str, ...]
    train: Dense
    test: Dense
    agg: Aggregation
    reps: int
    seed: int
    heldout_reps: int
    max_launch: int = 16  # the engine's batch width: a wider round would not decode at once
    charge: str = "latency"
    _traces: dict = field(default_factory=dict)
    _heldout: dict = field(default_factory=dict)

    def _trace(self, dense: Dense, which: str, used: int, k: int, reps: int) -> ParallelTrace:
        key = (which, used, k)
        if key not in self._traces:
            mix = np.eye(len(self.names))[used]
            self._traces[key] = parallel_trace(dense, mix, k, self.agg, reps=reps, seed=self.seed)
        return self._traces[key]

    def candidates(self) -> list[Candidate]:
        out = []
        for used, name in enumerate(self.names):
            mix = Mix(tuple(float(x) for x in np.eye(len(self.names))[used]), name)
            for k in (k for k in launch_sizes(self.train, used) if k <= self.max_launch):
                pt = self._trace(self.train, "train", used, k, self.reps)
                for rule in parallel_rules(k, self.agg):
                    o = evaluate_parallel(pt, rule)
                    out.append(RoundCandidate(mix, None, rule, float(o.accuracy.mean()), float(self._cost(o).mean()),
                                                float(o.samples.mean()), per_problem=o.accuracy, launch=k))
        return out

    def _cost(self, o: ParallelOutcome) -> np.ndarray:
        return o.latency if self.charge == "latency" else o.cost

    def outcome(self, c: RoundCandidate) -> ParallelOutcome:
        used = int(np.argmax(c.mix.shares))
        return evaluate_parallel(self._trace(self.test, "test", used, c.launch, self.heldout_reps), c.rule)

    def batch_of(self, c: RoundCandidate) -> str:
        return parallel_spec(c.launch)

    def round_notes(self, c: RoundCandidate) -> tuple[str, ...]:
        """What the round costs besides time: every sample it launched generates until the stop."""
        o = self.outcome(c)
        return (f"{c.policy}: launch {c.launch} samples at once and read them as they finish; on the held-out "
                f"problems it reads {o.samples.mean():.2f} and generates {o.cost.mean():,.0f} completion tokens per "
                "query (the samples cancelled at the stop included)",)

    def heldout(self, c: RoundCandidate) -> PerQuery:
        key = (c.mix.shares, c.launch, c.rule)
        if key not in self._heldout:
            o = self.outcome(c)
            self._heldout[key] = estimate(ParallelOutcome(o.accuracy, self._cost(o), o.samples), seed=self.seed)
        return self._heldout[key]


@dataclass(frozen=True)
class RoundCandidate(Candidate):
    """A candidate round: ``launch`` samples at once, ``rule`` on the finishers."""

    launch: int = 1

    @property
    def policy(self) -> str:
        """majority@K, short-m@K (first@K for m = 1) or RULE@K: the rule on the finishers of K."""
        k, r = self.launch, self.rule
        if r.name == "fixed":
            m = r.max_samples
            return f"majority@{k}" if m == k else f"first@{k}" if m == 1 else f"short-{m}@{k}"
        return f"{r.spec.split(',min')[0]}@{k}"

    @property
    def waits_for_all(self) -> bool:
        """Only majority@K (fixed:K of K) waits for every sample it launched."""
        return self.rule.name != "fixed" or self.rule.max_samples == self.launch

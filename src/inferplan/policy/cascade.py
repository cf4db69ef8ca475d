"""A cascade across models: a cheap model answers first, a stronger one only when it is unsure.

After the MoT cascade (Yue et al., ICLR 2024; MurongYue/LLM_MoT_cascade): the weaker model
draws its samples, and its majority answer stands when the answers agree enough — its rule
ends the query by itself (not by running into its max guard) and the leader holds at least
``accept_share`` of the samples drawn. Otherwise the query escalates to the next stage, whose
own vote is the final answer. Under a verifier (a plan whose answer is the first sample the
verifier accepts) a stage's answer stands when the verifier accepted one of its samples
(``verified``), and otherwise the next model tries. The same object serves replay
(``replay/cascade.py``) and the runner, so what was planned is what runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from inferplan.errors import InputError
from inferplan.policy.stopping import StoppingRule


def answer_stands(accept_share: float, leader_votes: int, samples: int, stopped_by_rule: bool) -> bool:
    """A non-final stage's answer stands: its rule ended the query by itself (not its max guard)
    and the leading answer holds at least ``accept_share`` of the samples drawn (abstentions count
    in the samples, as in replay)."""
    return stopped_by_rule and samples > 0 and leader_votes >= accept_share * samples - 1e-9


@dataclass(frozen=True)
class Stage:
    """One model's turn: which model and configuration draws, under which rule, and (for every
    stage but the last) how much agreement lets its answer stand."""

    model: str  # the model's name in the plan (its ``models`` entry)
    config: str  # the configuration (temperature …) of that model's profile
    rule: StoppingRule
    accept_share: float | None = None  # None: the last stage, whose answer always stands, or a verified one
    verified: bool = False  # under a verifier: the answer stands when the verifier accepted a sample

    def __post_init__(self) -> None:
        if self.accept_share is not None and not 0 < self.accept_share <= 1:
            raise InputError(f"a cascade's accept share must be in (0, 1] (got {self.accept_share})")
        if self.verified and self.accept_share is not None:
            raise InputError("a verified cascade stage stands on the verifier, not on an accept share")

    @classmethod
    def before_last(cls, model: str, config: str, rule: StoppingRule, accept_share: float | None) -> Stage:
        """A stage another follows: it stands at ``accept_share``, or on the verifier where that is None."""
        return cls(model, config, rule, accept_share, accept_share is None)

    @property
    def last(self) -> bool:
        """The final stage: its answer always stands."""
        return self.accept_share is None and not self.verified

    def describe(self) -> str:
        words = f"{self.model} ({self.config}): {self.rule.describe()}"
        if self.verified:
            return words + "; its answer stands if the verifier accepted a sample, otherwise escalate"
        if self.accept_share is None:
            return words + "; its answer is final"
        return words + (f"; its answer stands if the rule ends the query and the leading answer holds at least "
                        f"{100 * self.accept_share:.0f}% of the samples, otherwise escalate")

    def to_json(self) -> dict:
        return {"model": self.model, "config": self.config, "rule": self.rule.to_json(),
                "accept_share": self.accept_share, **({"verified": True} if self.verified else {})}

    @classmethod
    def from_json(cls, d: dict) -> Stage:
        try:
            share = d.get("accept_share")
            return cls(str(d["model"]), str(d["config"]), StoppingRule.from_json(d["rule"]),
                       None if share is None else float(share), bool(d.get("verified", False)))
        except (KeyError, TypeError, ValueError):
            raise InputError("plan's cascade has a malformed stage (model, config, rule, accept_share)") from None


@dataclass(frozen=True)
class Cascade:
    """Stages in order; every stage but the last has an accept share."""

    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        if len(self.stages) < 2:
            raise InputError("a cascade needs at least two stages")
        if any(s.last for s in self.stages[:-1]) or not self.stages[-1].last:
            raise InputError("every cascade stage but the last needs an accept share (or the verifier), and the "
                             "last none")

    def describe(self) -> str:
        return "cascade: " + " → then ".join(s.describe() for s in self.stages)

    @property
    def spec(self) -> str:
        """A short form for tables: ``A (fixed:4, stands at 75%) → B (beta:0.95,max=16)``."""
        def short(s: Stage) -> str:
            rule = f"fixed:{s.rule.max_samples}" if s.rule.name == "fixed" else s.rule.spec.replace(",min=1,", ",")
            stands = ", stands if verified" if s.verified else \
                f", stands at {100 * s.accept_share:.0f}%" if s.accept_share is not None else ""
            return f"{s.model} ({rule}{stands})"
        return " → ".join(short(s) for s in self.stages)

    def to_json(self) -> dict:
        return {"stages": [s.to_json() for s in self.stages]}

    @classmethod
    def from_json(cls, d: dict) -> Cascade:
        if not isinstance(d, dict) or not isinstance(d.get("stages"), list):
            raise InputError("plan's cascade is malformed (expected {\"stages\": [...]})")
        return cls(tuple(Stage.from_json(s) for s in d["stages"]))

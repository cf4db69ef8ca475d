"""The plan file (``inferplan.plan/1``): what ``plan`` chose and what it predicts.

A plan records the profile it came from (path and sha256), the objective and
budget, the configuration mix, the aggregation, the stopping rule with its
parameters and guards, the batch-size policy, the max-token cap, the predicted
accuracy (with interval) and cost measured on held-out problems, and those
problems' ids — so ``simulate`` can replay it and ``run`` can compare prediction
with reality.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from inferplan._util.files import check_replaceable, json_format_is, write_atomically
from inferplan.errors import InputError
from inferplan.planner.batch_policy import BatchPolicy
from inferplan.planner.model_block import PlanModel
from inferplan.planner.model_block import model_label as model_label  # where runner/plan_model.py reads it
from inferplan.policy.aggregate import Aggregation
from inferplan.policy.cascade import Cascade, Stage
from inferplan.policy.forcing import Forcing
from inferplan.policy.stopping import StoppingRule
from inferplan.policy.termination import Termination
from inferplan.profiles.header import ConfigSpec
from inferplan.profiles.store import check_format
from inferplan.stats.estimate import Estimate, PerQuery
from inferplan.tasks.prompt_spec import PromptSpec

FORMAT = "inferplan.plan/1"
# Blocks every plan file has: what it was planned on, and how it asks, samples, stops and votes.
REQUIRED = ("profile", "objective", "mix", "configs", "aggregation", "stopping", "prompt")


@dataclass(frozen=True)
class Prediction(PerQuery):
    """Held-out replay of the plan (95% bootstrap-over-problems intervals) and what only a plan knows."""

    extrapolated: bool = False  # predicted by the fitted curve: N exceeds the recorded samples
    recorded_samples: int | None = None  # draws of the mix the profile covers (when extrapolated)
    escalation: float | None = None  # a cascade: share of queries expected to reach its next stage

    @classmethod
    def of(cls, replayed: PerQuery, **extra) -> Prediction:
        """The plan's prediction from a held-out replay and what only the plan knows
        (``extrapolated``, ``recorded_samples``, ``escalation``)."""
        return cls(replayed.accuracy, replayed.cost, replayed.samples, **extra)

    def to_json(self) -> dict:
        return {"accuracy": self.accuracy.point, "accuracy_ci": list(self.accuracy.interval),
                "cost": self.cost.point, "cost_ci": list(self.cost.interval), "samples": self.samples,
                "problems": self.problems, "extrapolated": self.extrapolated,
                "recorded_samples": self.recorded_samples, "escalation": self.escalation}

    @classmethod
    def from_json(cls, d: dict) -> Prediction:
        n = d["problems"]
        return cls(Estimate(d["accuracy"], tuple(d["accuracy_ci"]), n), Estimate(d["cost"], tuple(d["cost_ci"]), n),
                   d["samples"], bool(d.get("extrapolated", False)), d.get("recorded_samples"), d.get("escalation"))


@dataclass(frozen=True)
class Escalation:
    """Where a cascade goes when this plan's answer does not stand: the next stage's plan.

    The answer stands when the plan's rule ended the query by itself (not its max guard) and
    the leading answer holds at least ``accept_share`` of the samples drawn (policy/cascade.py);
    under a verifier (``accept_share`` None, the plan's aggregation first-pass) when the verifier
    accepted one of its samples."""

    accept_share: float | None
    plan: Plan


@dataclass(frozen=True)
class PoolMember:
    """Another model of a mix in one vote: its own complete plan, whose rule draws exactly ``samples``
    (fixed:samples). Its answers are pooled with the head plan's and every other member's."""

    samples: int
    plan: Plan


@dataclass(frozen=True)
class Plan:
    """A sampling plan for one kind of task (see the module docstring).

    A cascade across models is a chain: this plan is its first stage, and ``escalate`` holds
    the next stage's own complete plan (its model, prompt, configuration and rule)."""

    profile: str
    profile_sha256: str
    objective: str  # "max-accuracy" or "min-cost"
    budget: float | None
    target_accuracy: float | None
    unit: str
    mix: dict[str, float]  # config name → share of the draws
    configs: dict[str, ConfigSpec]  # config name → its settings (temperature, …)
    aggregation: Aggregation
    rule: StoppingRule
    # "lookahead" (ConSol: draw the fewest samples that could end the query), or "parallel:K":
    # launch K samples at once and show the rule the answers in the order they finish.
    batch: str = "lookahead"
    max_tokens: int | None = None  # per-sample cap (None = the profile's)
    prediction: Prediction | None = None
    heldout: tuple[str, ...] = ()
    seed: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    prompt: PromptSpec | None = None  # how the profile asked (None: an imported sample set)
    price_in: float = 0.0  # USD per million prompt tokens (unit usd): simulate/evaluate cost with them
    price_out: float = 0.0  # USD per million completion tokens
    family: str | None = None  # the curve family that predicted beyond the recorded samples
    terminate: Termination | None = None  # online low-confidence termination (policy/termination.py)
    model: PlanModel | None = None  # the model it was made for (None: a fixed-N plan, or an older plan file)
    escalate: Escalation | None = None  # a cascade's next stage (None: one model answers)
    # A thinking budget: at max_tokens a sample is made to answer (this text, then a greedy
    # answer of at most answer_tokens) instead of being cut (None: a plain cap).
    thinking: Forcing | None = None
    batch_allocation: BatchPolicy | None = None  # how `run --total-budget` spends one total (plan --batch)
    seconds_per_token: float | None = None  # unit seconds: the profile's measured decode rate (run's totals)
    pool: tuple[PoolMember, ...] = ()  # a mix in one vote: the other models whose samples vote with this plan's

    @property
    def members(self) -> tuple[Plan, ...]:
        """A mix's plans in order, this one first (just this plan where one model answers)."""
        return (self,) + tuple(m.plan for m in self.pool)

    def __post_init__(self) -> None:
        if self.escalate is not None and self.escalate.accept_share is None and not self.aggregation.first_pass:
            raise InputError(f"a cascade stage without an accept share stands on a verifier, and this plan's "
                             f"aggregation ({self.aggregation.kind}) is not first-pass: give the stage an accept_share")

    @property
    def stages(self) -> tuple[Plan, ...]:
        """The cascade's stage plans in order (just this plan where one model answers)."""
        return (self,) + (self.escalate.plan.stages if self.escalate else ())

    @property
    def cascade(self) -> Cascade | None:
        """The cascade as a policy object (policy/cascade.Cascade), or None for one model."""
        if self.escalate is None:
            return None
        stages, plan = [], self
        while plan is not None:
            part = (plan.model.label if plan.model else "?", next(iter(plan.mix)), plan.rule)
            stages.append(Stage.before_last(*part, plan.escalate.accept_share) if plan.escalate else Stage(*part))
            plan = plan.escalate.plan if plan.escalate else None
        return Cascade(tuple(stages))

    @property
    def parallel(self) -> int | None:
        """K of a "parallel:K" plan (one round of K samples read in finish order), else None."""
        kind, _, k = self.batch.partition(":")
        return int(k) if kind == "parallel" else None

    @property
    def min_samples(self) -> int:
        return self.rule.min_samples

    @property
    def max_samples(self) -> int:
        return self.rule.max_samples

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "profile": {"path": self.profile, "sha256": self.profile_sha256},
            "objective": {"kind": self.objective, "budget": self.budget, "target_accuracy": self.target_accuracy,
                          "unit": self.unit,
                          **({"price_in": self.price_in, "price_out": self.price_out} if self.unit == "usd" else {}),
                          **({"seconds_per_token": self.seconds_per_token} if self.seconds_per_token else {})},
            "mix": self.mix,
            "configs": {name: c.to_json() for name, c in self.configs.items()},
            "aggregation": self.aggregation.to_json(),
            "stopping": {**self.rule.to_json(), "spec": self.rule.spec},
            "min_samples": self.min_samples,
            "max_samples": self.max_samples,
            "batch": self.batch,
            "max_tokens": self.max_tokens,
            "prediction": self.prediction.to_json() if self.prediction else None,
            "heldout_problems": list(self.heldout),
            "seed": self.seed,
            "notes": list(self.notes),
            "prompt": self.prompt.to_json() if self.prompt else {},
            **({"extrapolation_family": self.family} if self.family else {}),
            **({"terminate": self.terminate.to_json()} if self.terminate else {}),
            **({"model": self.model.to_json()} if self.model else {}),
            **({"thinking": self.thinking.to_json()} if self.thinking else {}),
            **({"batch_allocation": self.batch_allocation.to_json()} if self.batch_allocation else {}),
            **({"escalate": {"accept_share": self.escalate.accept_share, "plan": self.escalate.plan.to_json()}}
               if self.escalate else {}),
            **({"pool": [{"samples": m.samples, "plan": m.plan.to_json()} for m in self.pool]} if self.pool else {}),
        }

    @classmethod
    def from_json(cls, d: dict, path: Path | str = "plan") -> Plan:
        check_format(d.get("format"), "inferplan.plan", 1, path)
        missing = [k for k in REQUIRED if k not in d]
        if missing:  # a deleted block must not silently fall back to a default (another template …)
            raise InputError(f"{path}: malformed plan: no {', '.join(repr(k) for k in missing)} block")
        try:
            obj = d["objective"]
            return cls(
                profile=d["profile"]["path"], profile_sha256=d["profile"]["sha256"],
                objective=obj["kind"], budget=obj.get("budget"), target_accuracy=obj.get("target_accuracy"),
                unit=obj["unit"], mix={str(k): float(v) for k, v in d["mix"].items()},
                configs={str(k): ConfigSpec.from_json(v) for k, v in d.get("configs", {}).items()}, aggregation=Aggregation.from_json(d["aggregation"]),
                rule=StoppingRule.from_json(d["stopping"]), batch=d.get("batch", "lookahead"),
                max_tokens=d.get("max_tokens"),
                prediction=None if d.get("prediction") is None else Prediction.from_json(d["prediction"]),
                heldout=tuple(str(x) for x in d.get("heldout_problems", [])), seed=int(d.get("seed", 0)),
                notes=tuple(d.get("notes", [])), prompt=PromptSpec.from_json(d["prompt"]) if d.get("prompt") else None,
                family=d.get("extrapolation_family"), terminate=Termination.from_json(d.get("terminate")),
                price_in=float(obj.get("price_in", 0.0)), price_out=float(obj.get("price_out", 0.0)),
                model=PlanModel.from_json(d.get("model")),
                thinking=Forcing.from_json(d.get("thinking"), f"{path}: thinking"),
                batch_allocation=BatchPolicy.from_json(d.get("batch_allocation"), str(path)),
                seconds_per_token=obj.get("seconds_per_token"),
                escalate=None if d.get("escalate") is None else Escalation(
                    _share(d["escalate"].get("accept_share")), cls.from_json(d["escalate"]["plan"], f"{path} (escalate)")),
                pool=_pool(cls, d, path),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"{path}: malformed plan ({type(e).__name__}: {e})") from None
        except InputError as e:  # a check of the plan as a whole (Plan.__post_init__): name the file
            raise InputError(str(e) if str(e).startswith(str(path)) else f"{path}: {e}") from None


def _share(value) -> float | None:
    """An escalation's accept share as a plan file holds it (null: the stage stands on its verifier)."""
    return None if value is None else float(value)


def _pool(cls, d: dict, path) -> tuple[PoolMember, ...]:
    """A mix's other members; every part of a mix draws a fixed number of samples (its rule says
    so, and a member's says as many as its ``samples``), and a mix is no cascade."""
    members = tuple(PoolMember(int(m["samples"]), cls.from_json(m["plan"], f"{path} (pool {i})"))
                    for i, m in enumerate(d.get("pool") or (), start=1))
    if members:
        fixed = [m.plan.rule.name == "fixed" and m.plan.max_samples == m.samples > 0 for m in members]
        if d.get("escalate") is not None or d["stopping"].get("name") != "fixed" or not all(fixed) or \
                any(m.plan.pool or m.plan.escalate for m in members):
            raise InputError(f"{path}: malformed plan: a pool's plans each draw a fixed number of samples "
                             "(stopping fixed:N, N its 'samples'), and a pool is neither cascaded nor nested")
    return members


_IS_PLAN = json_format_is("inferplan.plan/")


def check_plan_output(path: Path | str, *, force: bool = False) -> None:
    """Refuse (exit 7) a path holding a file that is not a plan, unless ``force``: call before planning."""
    check_replaceable(Path(path), _IS_PLAN, "plan", force)


def save_plan(plan: Plan, path: Path | str, *, force: bool = False) -> Path:
    """Write atomically, over nothing but another plan unless ``force``."""
    return write_atomically(path, json.dumps(plan.to_json(), indent=2) + "\n", owned=_IS_PLAN, what="plan",
                            force=force)


def load_plan(path: Path | str) -> Plan:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such plan file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{path}: not a JSON plan file") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a JSON plan file")
    return Plan.from_json(data, path)

"""The plan file's ``batch_allocation`` block: how ``run --total-budget`` spends one total (issue 33).

``plan --batch`` chooses it on the training problems (planner/batch_choice.py) and predicts its
accuracy on the held-out ones; ``run --plan P --total-budget X`` executes it. A plan without the
block runs the default: knowledge-gradient allocation within the plan's rule and cap, one first
sample per query. A hybrid allocator runs the rule first and spends what it leaves of the total
plainly (policy/batch_allocation.py ``HybridAllocator``); :func:`allocator_for` builds the
allocator a block names, for the replay and for the run alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inferplan.errors import InputError
from inferplan.policy.batch_allocation import DRAWS, BatchAllocator, HybridAllocator
from inferplan.policy.stopping import StoppingRule
from inferplan.stats.estimate import Estimate

# The plan's stopping rule and cap end a query; only a sample cap; the rule, then the rest of the total plainly.
ALLOCATORS = ("within-rule", "plain", "hybrid")


@dataclass(frozen=True)
class BatchPrediction:
    """Held-out replay at ``per_query`` × the held-out problems: means with 95% intervals."""

    accuracy: Estimate
    self_consistency: Estimate  # the vote agrees with the vote of every recorded sample
    cost: float  # spent per query, in the plan's unit (≤ per_query: the total is hard)
    reps: int
    uniform_accuracy: Estimate  # round robin at the same total, the same orders

    @property
    def problems(self) -> int:
        return self.accuracy.n

    def to_json(self) -> dict:
        a, s, u = self.accuracy, self.self_consistency, self.uniform_accuracy
        return {"accuracy": a.point, "accuracy_ci": list(a.interval), "self_consistency": s.point,
                "self_consistency_ci": list(s.interval), "cost": self.cost, "problems": self.problems,
                "reps": self.reps, "uniform_accuracy": u.point, "uniform_accuracy_ci": list(u.interval)}

    @classmethod
    def from_json(cls, d: dict) -> BatchPrediction:
        def figure(key: str) -> Estimate:
            return Estimate(d[key], tuple(d[f"{key}_ci"]), d["problems"])

        return cls(figure("accuracy"), figure("self_consistency"), d["cost"], d["reps"], figure("uniform_accuracy"))


@dataclass(frozen=True)
class BatchPolicy:
    """The batch allocator's parameters, and what they were chosen and predicted at."""

    allocator: str = "within-rule"
    warmup: int = 1  # first samples every query gets, in turn, before the allocation starts
    max_samples: int | None = None  # "plain", "hybrid": the sample cap (the samples recorded per problem)
    n_options: int = 4  # answer slots of the Dirichlet (PETS: 4 for multiple choice)
    value: str = "optimistic"  # PETS's value of one more sample (policy/batch_allocation.py)
    per_query: float | None = None  # the budget per query it was chosen at (the plan's unit)
    train: tuple[tuple[str, float], ...] = field(default_factory=tuple)  # candidate → training accuracy
    prediction: BatchPrediction | None = None

    def __post_init__(self) -> None:
        if self.allocator not in ALLOCATORS or self.warmup < 1 or (self.max_samples or 1) < 1:
            raise InputError(f"batch_allocation: allocator must be one of {', '.join(ALLOCATORS)}, "
                             "warmup and max_samples ≥ 1")

    @property
    def within_rule(self) -> bool:
        return self.allocator == "within-rule"

    @property
    def name(self) -> str:
        """A candidate's short name: ``within-rule/1``, ``plain≤80/2``."""
        cap = "" if self.within_rule else f"≤{self.max_samples}"
        return f"{self.allocator}{cap}/{self.warmup}"

    def describe(self) -> str:
        """In words, as ``plan`` prints it."""
        first = "one first sample" if self.warmup == 1 else f"{self.warmup} first samples"
        ends = {"within-rule": "the plan's stopping rule and sample cap still end a query",
                "plain": f"no stopping rule: a query ends only at {self.max_samples} samples or when the total runs out",
                "hybrid": "the plan's stopping rule and sample cap end a query first; what they leave of the total "
                          f"then goes on plainly to the least settled queries, up to {self.max_samples} samples each",
                }[self.allocator]
        return (f"{first} for every query in turn, then each freed slot goes to the query whose next sample "
                f"is worth most (PETS's knowledge gradient); {ends}")

    def to_json(self) -> dict:
        p = self.prediction
        return {"allocator": self.allocator, "warmup": self.warmup, "max_samples": self.max_samples,
                "n_options": self.n_options, "value": self.value, "per_query": self.per_query,
                "train": [{"candidate": n, "accuracy": a} for n, a in self.train],
                "prediction": None if p is None else p.to_json()}

    @classmethod
    def from_json(cls, d: dict | None, where: str = "plan") -> BatchPolicy | None:
        if d is None:
            return None
        try:
            p = d.get("prediction")
            pred = None if p is None else BatchPrediction.from_json(p)
            return cls(str(d["allocator"]), int(d.get("warmup", 1)), d.get("max_samples"),
                       int(d.get("n_options", 4)), str(d.get("value", "optimistic")), d.get("per_query"),
                       tuple((str(t["candidate"]), float(t["accuracy"])) for t in d.get("train", [])), pred)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InputError(f"{where}: malformed batch_allocation ({type(e).__name__}: {e})") from None


def allocator_for(policy: BatchPolicy, n_queries: int, rule: StoppingRule, cap: int | None, *, draws: int = DRAWS,
                  random_state: int | None = 0) -> BatchAllocator:
    """The allocator ``policy`` runs over ``n_queries``: ``rule`` is the plan's stopping rule (its
    ``max_samples`` the rule's cap), ``cap`` the plain or hybrid sample cap (None: none but the
    samples there are). The replay and ``run --total-budget`` both build theirs here."""
    common = {"n_options": policy.n_options, "value": policy.value, "draws": draws, "random_state": random_state}
    if policy.allocator == "within-rule":
        return BatchAllocator(n_queries, rule=rule, max_samples=rule.max_samples, **common)
    if policy.allocator == "plain":
        return BatchAllocator(n_queries, max_samples=cap, **common)
    return HybridAllocator(n_queries, rule=rule, max_samples=rule.max_samples,
                           spill_cap=max(cap or rule.max_samples, rule.max_samples), **common)

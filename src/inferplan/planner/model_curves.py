"""Each model's accuracy-versus-samples curve against its cost per query: ``fit A B …`` (issue 31).

One model's ``fit`` puts samples on the x axis; across models a sample of a 0.5B and of a 7B model
cost different amounts, so each model's curve is drawn against cost per query in a unit that
compares them (seconds, usd, flops, or tokens where they cost the same — as ``plan A B`` prices
them). At k samples a query costs what the replay charges a fixed-k query: the query's overhead
(a shared prompt's tokens, where the unit counts them) plus k × the mean cost of one of the
configuration's recorded samples. Each point keeps its fit's interval and says whether it is
observed (exact over the recorded samples) or extrapolated by the fitted curve.

Per model the configuration shown is the one whose recorded curve is highest at its largest
recorded k (not at an extrapolated one: a guess must not pick what is shown), the cheaper per
sample on a tie; every configuration stays in the model's own fit report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.errors import InputError
from inferplan.fitting.report import ConfigFit, FitReport


@dataclass(frozen=True)
class CurvePoint:
    k: int
    cost: float  # per query, in the unit
    accuracy: float
    interval: tuple[float, float]
    observed: bool  # exact over the recorded samples; False: extrapolated by the fitted curve


@dataclass(frozen=True)
class ModelCurve:
    model: str
    config: str  # the configuration shown: highest at its largest recorded k
    per_sample: float  # the mean cost of one sample, in the unit
    overhead: float  # per query (a shared prompt), in the unit
    points: tuple[CurvePoint, ...]

    def to_json(self) -> dict:
        return {"model": self.model, "config": self.config, "cost_per_sample": self.per_sample,
                "overhead_per_query": self.overhead,
                "points": [{"k": p.k, "cost": p.cost, "accuracy": p.accuracy, "interval": list(p.interval),
                            "observed": p.observed} for p in self.points]}


@dataclass(frozen=True)
class ModelsFit:
    """Every model's curve against cost per query, and each model's own fit."""

    unit: str
    metric: str  # "maj@k", or "pass@k" where some profile has no answers to vote on
    level: float
    curves: tuple[ModelCurve, ...]
    reports: tuple[tuple[str, FitReport], ...]  # (model, its own fit: every configuration)

    def to_json(self) -> dict:
        return {"format": "inferplan.fit-models/1", "unit": self.unit, "metric": self.metric, "level": self.level,
                "models": [c.to_json() for c in self.curves],
                "fits": [{"model": name, **r.to_json()} for name, r in self.reports]}


def _points(c: ConfigFit, metric: str, per_sample: float, overhead: float) -> tuple[CurvePoint, ...]:
    observed = [CurvePoint(k, overhead + k * per_sample, v, tuple(c.observed_intervals[metric][k]), True)
                for k, v in sorted(c.observed.get(metric, {}).items())]
    top = max((p.k for p in observed), default=0)
    beyond = [CurvePoint(k, overhead + k * per_sample, v, tuple(c.predicted_intervals[metric][k]), False)
              for k, v in sorted(c.predicted.get(metric, {}).items()) if k > top]
    return tuple(observed + beyond)


def model_curves(models, reports: list[FitReport], level: float) -> ModelsFit:
    """``models``: planner.models.ModelProfile (name, profile, cost model), each with its fit report."""
    metric = "maj@k" if all(c.observed.get("maj@k") for r in reports for c in r.configs) else "pass@k"
    curves = []
    for m, report in zip(models, reports):
        table = m.profile.table
        costs = m.cost.sample_costs(table)
        overhead = m.cost.mean_overhead(table)
        names = [c.name for c in table.configs]
        best = None
        for c in report.configs:
            rows = table.config == names.index(c.config)
            per_sample = float(np.mean(costs[rows]))
            pts = _points(c, metric, per_sample, overhead)
            recorded = [p for p in pts if p.observed]
            if not recorded:
                continue
            rank = (recorded[-1].accuracy, -per_sample)
            if best is None or rank > best[0]:
                best = (rank, c, per_sample, pts)
        if best is None:
            raise InputError(f"{m.name}: its profile has no recorded {metric} to draw")
        _, c, per_sample, pts = best
        curves.append(ModelCurve(m.name, c.config, per_sample, overhead, pts))
    return ModelsFit(models[0].cost.unit, metric, level, tuple(curves),
                     tuple((m.name, r) for m, r in zip(models, reports)))

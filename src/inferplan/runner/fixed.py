"""Fixed-N runs as plans: ``run -n N --temperatures …`` is the plan ``fixed:N``.

There is one run engine (:mod:`inferplan.runner.plan_runner`); a fixed-N run builds the
plan it would be — one configuration per listed temperature, in equal shares, so
the planned round robin draws them in the listed order, cycled — and runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from inferplan.errors import InvalidValue
from inferplan.planner.plan_file import Plan
from inferplan.policy.aggregate import Aggregation
from inferplan.policy.stopping import make_rule
from inferplan.profiles.header import ConfigSpec
from inferplan.tasks.prompt_spec import PromptSpec

FIXED = "fixed"  # the objective of a plan that was not planned


@dataclass(frozen=True)
class RunSettings:
    """How to sample and aggregate a fixed-N run."""

    n: int = 8
    temperatures: tuple[float, ...] = (0.7,)  # cycled over the samples
    max_tokens: int = 256
    system: str | None = None  # system message for chat prompts
    raw: bool = False  # send prompts as raw text, without the chat template
    extract: str = "auto"
    stop: tuple[str, ...] = ()
    top_p: float = 1.0

    def validate(self) -> None:
        """InvalidValue (one line) for values no run can use."""
        if self.n < 1:
            raise InvalidValue("n", f"{{name}} must be at least 1, got {self.n}")
        if not self.temperatures:
            raise InvalidValue("temperatures", "{name} needs at least one value")
        bad = [t for t in self.temperatures if not t >= 0]
        if bad:
            raise InvalidValue("temperatures", f"{{name}} must be >= 0, got {bad[0]}")
        if self.max_tokens < 1:
            raise InvalidValue("max_tokens", f"{{name}} must be at least 1, got {self.max_tokens}")
        if not 0 < self.top_p <= 1:
            raise InvalidValue("top_p", f"{{name}} must be in (0, 1], got {self.top_p}")


def fixed_plan(settings: RunSettings) -> Plan:
    """The plan a fixed-N run executes (validated first)."""
    settings.validate()
    prompt = PromptSpec(template="raw" if settings.raw else "chat", grader=f"extract:{settings.extract}",
                        stop=tuple(settings.stop), system=settings.system, max_tokens=settings.max_tokens)
    configs: dict[str, ConfigSpec] = {}
    for i, t in enumerate(settings.temperatures):
        name = f"t{t:g}" if f"t{t:g}" not in configs else f"t{t:g}#{i}"
        configs[name] = ConfigSpec(name, float(t), {"top_p": settings.top_p, "top_k": 0, "min_p": 0.0})
    return Plan(profile="", profile_sha256="", objective=FIXED, budget=None, target_accuracy=None, unit="samples",
                mix={name: 1.0 / len(configs) for name in configs}, configs=configs, aggregation=Aggregation("vote"),
                rule=make_rule("fixed", (settings.n,), min_samples=settings.n, max_samples=settings.n),
                max_tokens=settings.max_tokens, prompt=prompt)

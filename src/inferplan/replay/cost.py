"""Cost model: what one sample and one query cost, in the unit the user budgets in.

Units: ``samples``; ``tokens`` (completion tokens, plus the prompt counted once
per query where the backend shares the prefix across samples and once per
sample where it cannot); ``seconds`` (completion tokens divided by the measured
batched decoding throughput); ``usd`` (``--price-in``/``--price-out`` per million
tokens); ``flops`` (2 × parameters × tokens processed); ``latency`` (tokens of wall
clock per query on a parallel engine: a round of samples decoded together lasts as
long as the last sample it waits for — :mod:`inferplan.replay.parallel`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inferplan.errors import InputError, InvalidValue
from inferplan.profiles.store import SampleTable
from inferplan.profiles.throughput import measured_throughput

UNITS = ("tokens", "samples", "seconds", "usd", "flops", "latency")


@dataclass(frozen=True)
class CostModel:
    """Turns recorded samples into per-sample and per-query costs."""

    unit: str = "tokens"
    shared_prefix: bool = True
    price_in: float = 0.0  # USD per million prompt tokens
    price_out: float = 0.0  # USD per million completion tokens
    parameters: float | None = None  # model parameters, for flops
    seconds_per_token: float | None = None  # measured batched decode time per token
    charge_prompt: bool = True  # False: completion tokens only (what evaluate checks beside the total)

    def sample_costs(self, table: SampleTable) -> np.ndarray:
        """Cost of each recorded sample (aligned with the table's rows)."""
        n = table.n_samples
        if self.unit == "samples":
            return np.ones(n)
        comp = table.completion_tokens
        if np.isnan(comp).all():
            raise InvalidValue("unit", f"profile records no completion token counts; {{name}} {self.unit!r} "
                                       "needs them (use {name} samples)")
        comp = _fill_missing(comp, table.problem)
        prompt = np.nan_to_num(table.prompt_tokens, nan=0.0)
        return self.token_cost(comp, 0.0 if self.shared_prefix or not self.charge_prompt else prompt)

    def token_cost(self, completion: Any, prompt: Any) -> Any:
        """Cost of generating ``completion`` tokens after processing ``prompt`` tokens (scalars or arrays).

        Not for unit ``samples``, which counts samples, not tokens. ``seconds``
        charges decoding only: prefill is not in the measured decode rate.
        """
        if self.unit == "tokens":
            return completion + prompt
        if self.unit == "latency":  # a sample's own length; a round's latency is read in replay/parallel
            return completion
        if self.unit == "seconds":
            return completion * self._spt()
        if self.unit == "usd":
            return (completion * self.price_out + prompt * self.price_in) / 1e6
        if self.unit == "flops":
            return 2.0 * self._params() * (completion + prompt)
        raise InputError(f"unknown unit {self.unit!r} (choose from {', '.join(UNITS)})")

    def query_overhead(self, table: SampleTable, problem_index: np.ndarray) -> np.ndarray:
        """Per-query cost paid once whatever N is (a shared prompt's prefill)."""
        out = np.zeros(len(problem_index))
        if self.unit in ("samples", "seconds", "latency") or not self.shared_prefix or not self.charge_prompt:
            return out
        prompt = np.nan_to_num(table.prompt_tokens, nan=0.0)
        # The prompt is the same for every sample of a problem: take its maximum.
        per_problem = np.zeros(len(table.problems))
        np.maximum.at(per_problem, table.problem, prompt)
        return self.token_cost(0.0, per_problem[problem_index])

    def mean_overhead(self, table: SampleTable) -> float:
        """The mean per-query overhead (:meth:`query_overhead`) over the table's problems."""
        return float(np.mean(self.query_overhead(table, np.unique(table.problem))))

    def _spt(self) -> float:
        if not self.seconds_per_token:
            raise InputError("profile records no timing; unit 'seconds' needs measured seconds per sample")
        return self.seconds_per_token

    def _params(self) -> float:
        if not self.parameters:
            raise InputError("profile header does not give the model's parameter count; unit 'flops' needs it "
                             "(give it with --params, re-profile with this inferplan, or budget in tokens)")
        return float(self.parameters)


def cost_model_for(table: SampleTable, unit: str, *, price_in: float = 0.0, price_out: float = 0.0,
                   profile: Path | str | None = None, parameters: float | None = None) -> CostModel:
    """A cost model configured from the profile header and its measured timings.

    Pass the ``profile`` path to time unit ``seconds`` by the profiling runs' wall
    clock (records' ``run``/``t``) rather than per-sample times / batch width.
    ``parameters`` (for flops) overrides the header's count: older profiles lack it,
    and only the caller may read a model file for it (the planner never does).
    """
    if unit not in UNITS:
        raise InputError(f"unknown unit {unit!r} (choose from {', '.join(UNITS)})")
    if unit == "usd" and price_in <= 0 and price_out <= 0:
        raise InvalidValue(("price_in", "price_out"), "unit 'usd' needs {0} and/or {1} (USD per million tokens)")
    header = table.header
    return CostModel(unit=unit, shared_prefix=header.shared_prefix, price_in=price_in, price_out=price_out,
                     parameters=(parameters or header.parameters) if unit == "flops" else None,
                     seconds_per_token=_timing(table, profile) if unit == "seconds" else None)


def _timing(table: SampleTable, profile: Path | str | None) -> float | None:
    wall = measured_throughput(profile).seconds_per_token if profile is not None and not table.header.throughput else None
    return wall or seconds_per_token(table)


def seconds_per_token(table: SampleTable) -> float | None:
    """Measured wall seconds per completion token at the profiler's batch width.

    A header ``throughput`` ({batch size: tokens/s}) wins. Otherwise each record's
    ``seconds`` is its own wall time while ``parallel`` samples shared the decode
    batch, so the time attributable to one sample is its wall time / the width.
    """
    throughput = table.header.throughput or {}
    rates = [float(v) for v in throughput.values() if isinstance(v, (int, float)) and v > 0]
    if rates:
        return 1.0 / max(rates)
    secs, comp = table.seconds, table.completion_tokens
    ok = ~np.isnan(secs) & ~np.isnan(comp) & (comp > 0) & (secs > 0)
    if not ok.any():
        return None
    return float(secs[ok].sum() / comp[ok].sum()) / table.header.batch_width


def _fill_missing(tokens: np.ndarray, problem: np.ndarray) -> np.ndarray:
    """Missing token counts take the mean of the same problem's recorded samples.

    Per problem, so a training problem's cost never depends on held-out problems' lengths
    (the planner chooses on training problems only); a problem with no recorded length at
    all falls back to the mean over every sample.
    """
    missing = np.isnan(tokens)
    if not missing.any():
        return tokens
    known = ~missing
    size = int(problem.max()) + 1
    total = np.bincount(problem[known], weights=tokens[known], minlength=size)
    count = np.bincount(problem[known], minlength=size)
    overall = float(tokens[known].mean())
    per_problem = np.where(count > 0, total / np.maximum(count, 1), overall)
    return np.where(missing, per_problem[problem], tokens)


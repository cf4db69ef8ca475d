"""Cost model: what one sample and one query cost, in the unit the user budgets in.

Units: ``samples``; ``tokens`` (completion tokens, plus the prompt counted once
per query where the backend shares the prefix across samples and once per
sample where it cannot); ``seconds`` (completion tokens divided by the measured
batched decoding throughput); ``usd`` (``--price-in``/``--price-out`` per million
tokens); ``flops`` (2 × parameters × tokens processed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.errors import InputError
from inferplan.profiles.store import SampleTable

UNITS = ("tokens", "samples", "seconds", "usd", "flops")


@dataclass(frozen=True)
class CostModel:
    """Turns recorded samples into per-sample and per-query costs."""

    unit: str = "tokens"
    shared_prefix: bool = True
    price_in: float = 0.0  # USD per million prompt tokens
    price_out: float = 0.0  # USD per million completion tokens
    parameters: float | None = None  # model parameters, for flops
    seconds_per_token: float | None = None  # measured batched decode time per token

    def sample_costs(self, table: SampleTable) -> np.ndarray:
        """Cost of each recorded sample (aligned with the table's rows)."""
        n = table.n_samples
        if self.unit == "samples":
            return np.ones(n)
        comp = table.completion_tokens
        if np.isnan(comp).all():
            raise InputError(f"profile records no completion token counts; unit {self.unit!r} needs them (use --unit samples)")
        comp = np.nan_to_num(comp, nan=float(np.nanmean(comp)))
        prompt = np.nan_to_num(table.prompt_tokens, nan=0.0)
        per_sample_prompt = 0.0 if self.shared_prefix else prompt
        if self.unit == "tokens":
            return comp + per_sample_prompt
        if self.unit == "seconds":
            return comp * self._spt()
        if self.unit == "usd":
            return (comp * self.price_out + per_sample_prompt * self.price_in) / 1e6
        if self.unit == "flops":
            return 2.0 * self._params() * (comp + per_sample_prompt)
        raise InputError(f"unknown unit {self.unit!r} (choose from {', '.join(UNITS)})")

    def query_overhead(self, table: SampleTable, problem_index: np.ndarray) -> np.ndarray:
        """Per-query cost paid once whatever N is (a shared prompt's prefill)."""
        out = np.zeros(len(problem_index))
        if self.unit in ("samples", "seconds") or not self.shared_prefix:
            return out
        prompt = np.nan_to_num(table.prompt_tokens, nan=0.0)
        # The prompt is the same for every sample of a problem: take its maximum.
        per_problem = np.zeros(len(table.problems))
        np.maximum.at(per_problem, table.problem, prompt)
        tokens = per_problem[problem_index]
        if self.unit == "tokens":
            return tokens
        if self.unit == "usd":
            return tokens * self.price_in / 1e6
        return 2.0 * self._params() * tokens

    def _spt(self) -> float:
        if not self.seconds_per_token:
            raise InputError("profile records no timing; unit 'seconds' needs measured seconds per sample")
        return self.seconds_per_token

    def _params(self) -> float:
        if not self.parameters:
            raise InputError("profile header does not give the model's parameter count; unit 'flops' needs it")
        return float(self.parameters)


def cost_model_for(table: SampleTable, unit: str, *, price_in: float = 0.0, price_out: float = 0.0) -> CostModel:
    """A cost model configured from the profile header and its measured timings."""
    if unit not in UNITS:
        raise InputError(f"unknown unit {unit!r} (choose from {', '.join(UNITS)})")
    if unit == "usd" and price_in <= 0 and price_out <= 0:
        raise InputError("unit 'usd' needs --price-in and/or --price-out (USD per million tokens)")
    header = table.header
    backend = header.get("backend") or {}
    shared = bool(backend.get("supports_shared_prefix", True)) if isinstance(backend, dict) else True
    model = header.get("model") or {}
    params = (model.get("parameters") if isinstance(model, dict) else None) or header.get("parameters")
    spt = None
    secs, comp = table.seconds, table.completion_tokens
    ok = ~np.isnan(secs) & ~np.isnan(comp) & (comp > 0)
    throughput = header.get("throughput")  # {batch size: tokens/s} measured by the profiler
    if isinstance(throughput, dict) and throughput:
        spt = 1.0 / max(float(v) for v in throughput.values())
    elif ok.any():
        # Samples decode in parallel batches, so a sample's wall time overstates its share;
        # divide by the batch width the profile was made with.
        width = float(backend.get("parallel", 1) if isinstance(backend, dict) else 1) or 1.0
        spt = float(secs[ok].sum() / comp[ok].sum()) / width
    return CostModel(unit=unit, shared_prefix=shared, price_in=price_in, price_out=price_out,
                     parameters=params, seconds_per_token=spt)

"""Profiling throughput, from the records' clocks: the one definition ``profile show``
and the ``seconds`` budget unit share.

``inferplan profile`` stamps each record with its run id and ``t`` (seconds since that
run started, at the sample's end). A run's wall span — its first sample's start to its
last sample's end — over its completion tokens is the real throughput at the batch
width used, prefill and idle slots included, which per-sample times miss.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inferplan.profiles.store import iter_records


@dataclass(frozen=True)
class Throughput:
    """Wall seconds, completion tokens and samples of every profiling run, summed."""

    wall_seconds: float
    tokens: float
    samples: int

    @property
    def tokens_per_second(self) -> float | None:
        return self.tokens / self.wall_seconds if self.wall_seconds > 0 else None

    @property
    def samples_per_second(self) -> float | None:
        return self.samples / self.wall_seconds if self.wall_seconds > 0 else None

    @property
    def seconds_per_token(self) -> float | None:
        return self.wall_seconds / self.tokens if self.wall_seconds > 0 and self.tokens > 0 else None


def measured_throughput(profile: Path | str) -> Throughput:
    """Throughput of the runs that wrote ``profile`` (zero wall time if none was timed)."""
    spans: dict[object, list[float]] = {}  # run → [first start, last end, tokens, samples]
    for rec in iter_records(profile):
        run, t, secs, tok = rec.get("run"), rec.get("t"), rec.get("seconds"), rec.get("completion_tokens")
        if run is None or not isinstance(t, (int, float)):
            continue
        start = t - (secs if isinstance(secs, (int, float)) else 0.0)
        span = spans.setdefault(run, [start, t, 0.0, 0])
        span[0], span[1] = min(span[0], start), max(span[1], t)
        span[2] += tok if isinstance(tok, (int, float)) else 0.0
        span[3] += 1
    return Throughput(wall_seconds=sum(max(0.0, hi - lo) for lo, hi, _, _ in spans.values()),
                      tokens=sum(s[2] for s in spans.values()), samples=int(sum(s[3] for s in spans.values())))

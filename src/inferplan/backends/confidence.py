"""How sure a sample was, from its token logprobs: a few numbers, computed as it decodes.

DeepConf (Fu et al., "Deep Think with Confidence", 2025) reads a trace's confidence in
sliding windows of tokens rather than over the whole trace: the *lowest* window mean
marks where a reasoning chain lost its way, the *tail* window how sure it was of the
answer it ended on; votes weighted by them, or with the least confident traces
dropped, beat plain majority on reasoning sets. DeepConf's token confidence is the
mean logprob of the top candidates; inferplan uses the sampled token's own logprob,
which every backend reports (llama.cpp, transformers, OpenAI-compatible servers), over
windows of :data:`WINDOW` tokens (a sample shorter than that is one window).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

WINDOW = 32  # tokens per window: our chains are tens to hundreds of tokens (DeepConf's 2,048 are for 10k+)
# Resolution of the recorded lows (nats): replay finds where a sample crossed a floor to
# within this, and a sample records a few dozen lows rather than one per token.
LOW_STEP = 0.001


@dataclass(frozen=True)
class Confidence:
    """A sample's windowed confidence (mean token logprobs: 0 is certain, more negative less)."""

    lowest: float  # lowest mean over WINDOW consecutive tokens
    lowest_at: int  # tokens generated when that window ended
    tail: float  # mean over the last WINDOW tokens
    # Each new low of the window mean, as (tokens generated, mean), at most one per LOW_STEP
    # band: where a sample stopped early below ANY floor would have stopped (the first
    # low under it), so replay can reproduce online termination at thresholds chosen later.
    lows: tuple[tuple[int, float], ...] = ()


class WindowTracker:
    """Running window means of one sample's token logprobs (O(1) per token)."""

    __slots__ = ("window", "_ring", "_sum", "n", "_lowest", "_lowest_at", "_lows")

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self._ring = [0.0] * window
        self._sum = 0.0
        self.n = 0
        self._lowest = float("inf")
        self._lowest_at = 0
        self._lows: list[tuple[int, float]] = []

    def add(self, logprob: float) -> None:
        slot = self.n % self.window
        self._sum += logprob - self._ring[slot]
        self._ring[slot] = logprob
        self.n += 1
        if self.n >= self.window and self._sum / self.window < self._lowest:
            self._lowest, self._lowest_at = self._sum / self.window, self.n
            if not self._lows or self._lowest <= self._lows[-1][1] - LOW_STEP:
                self._lows.append((self.n, self._lowest))

    def below(self, floor: float) -> bool:
        """Whether the latest full window's mean is under ``floor`` (online termination)."""
        return self.n >= self.window and self._sum / self.window < floor

    def current(self) -> float:
        """Mean of the latest window (of all tokens so far while fewer than a window)."""
        return self._sum / min(self.n, self.window) if self.n else 0.0

    def result(self) -> Confidence | None:
        if self.n == 0:
            return None
        if self.n < self.window:  # the whole sample is one window
            mean = self._sum / self.n
            return Confidence(mean, self.n, mean)
        return Confidence(self._lowest, self._lowest_at, self.current(), tuple(self._lows))


def confidence_of(logprobs: Iterable[float]) -> Confidence | None:
    """The windowed confidence of a finished sample's token logprobs (None if there are none)."""
    tracker = WindowTracker()
    for lp in logprobs:
        tracker.add(float(lp))
    return tracker.result()

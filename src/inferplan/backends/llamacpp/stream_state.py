"""Bookkeeping of the llama.cpp stream: held prompts, admitted requests, deferred Ctrl-C."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field

import numpy as np

from inferplan.backends.base import SampleRequest


def defer_sigint(flag: list[int]):
    """Turn Ctrl-C into a note in ``flag`` while the stream runs; returns the undo.

    llama.cpp calls back into Python (its log callback) during a decode. A
    KeyboardInterrupt raised inside a ctypes callback is printed and swallowed, so
    Ctrl-C would be lost; the stream raises it itself after the step instead.
    """
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return lambda: None
    signal.signal(signal.SIGINT, lambda signum, frame: flag.append(signum))
    return lambda: signal.signal(signal.SIGINT, signal.default_int_handler)


@dataclass
class HeldPrompt:
    """A prompt held in a holder sequence, and the logits after its last token."""

    key: tuple[int, ...]
    seq: int
    filled: int = 0  # tokens decoded so far
    users: int = 0  # requests with samples still to start
    samples: int = 0  # live samples copied from it (in a unified cache they share its cells)
    logits: np.ndarray | None = None  # (n_vocab,) every sample's first token is drawn from these

    @property
    def ready(self) -> bool:
        return self.filled == len(self.key)


@dataclass
class StreamRequest:
    number: int
    request: SampleRequest
    tokens: list[int]
    stops: tuple[bytes, ...]
    started: int = 0  # samples handed to slots
    cancelled: bool = False
    prompt: HeldPrompt | None = None
    live: set = field(default_factory=set)
    force: tuple[int, ...] = ()  # the forced answer prompt's tokens
    room: int = 0  # KV cells one sample may fill: max_tokens, plus a forced answer's

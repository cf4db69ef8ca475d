"""How many CPU threads llama.cpp should use: the cores other programs leave free.

llama.cpp's worker threads wait for each other at every step by spinning. When another
program holds one of the cores, a thread placed there stalls the whole step, and the
engine runs 10–20× slower than with fewer threads (measured on 2 cores with two busy
processes beside it: 11 tok/s with 2 threads against 125 with 1; issue 14). A laptop
always has something else running, so the default is not "all cores" but the cores
that were idle over a short look at the system's CPU counters just before loading.
``--threads`` still overrides it.
"""

from __future__ import annotations

import logging
import os
import time

log = logging.getLogger("inferplan.llamacpp")

WINDOW_S = 0.3  # long enough to see a busy core, short next to loading a model
BUSY_SHARE = 0.5  # a core counts as taken when others keep it busy at least this share of the window


def _usable_cpus() -> set[int] | None:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    cpus = _usable_cpus()
    return max(1, len(cpus) if cpus else os.cpu_count() or 1)


def _cpu_times(cpus: set[int] | None) -> tuple[float, float] | None:
    """(busy, total) CPU time of the given cores (all when None) from /proc/stat (Linux), else None."""
    busy = total = 0.0
    try:
        with open("/proc/stat", encoding="ascii") as f:
            for line in f:
                name, *values = line.split()
                if not name.startswith("cpu") or name == "cpu":
                    continue
                if cpus is not None and int(name[3:]) not in cpus:
                    continue
                fields = [float(x) for x in values]
                idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
                busy, total = busy + sum(fields) - idle, total + sum(fields)
    except (OSError, ValueError):
        return None
    return (busy, total) if total > 0 else None


def busy_cores(window: float = WINDOW_S) -> float | None:
    """Of the usable cores, how many OTHER processes kept busy over ``window`` seconds (None where unknown)."""
    cpus = _usable_cpus()
    first = _cpu_times(cpus)
    if first is None:
        return None
    own = time.process_time()
    time.sleep(window)
    second = _cpu_times(cpus)
    if second is None or second[1] <= first[1]:
        return None
    share = (second[0] - first[0]) / (second[1] - first[1])  # of the usable cores' time
    own_cores = (time.process_time() - own) / window
    return max(0.0, share * usable_cores() - own_cores)


def default_threads() -> int:
    """Threads for llama.cpp when the user gave none: the usable cores others leave idle."""
    cores = usable_cores()
    busy = busy_cores()
    if busy is None:
        return cores
    taken = int(busy + (1 - BUSY_SHARE))  # round at BUSY_SHARE, not at 0.5 of a core
    threads = max(1, cores - taken)
    if threads < cores:
        log.warning("%.1f of %d cores are busy with other programs: using %d llama.cpp thread(s) "
                    "(--threads overrides)", busy, cores, threads)
    return threads


SLOWDOWN = 4.0  # a decode step this many times slower than the best seen at its width: the cores were taken
WARMUP_STEPS = 16  # steps at one batch width before its speed counts


class StepWatch:
    """Warns once when decode steps become several times slower than they were.

    A step's time depends on the batch width (live sequences), so speeds are compared
    width by width: an exponential moving average of the step time per width against
    the best such average seen. A collapse of that kind is what other programs taking
    the cores mid-run look like (the thread count was chosen before they started).
    """

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.warned = False
        self._ema: dict[int, float] = {}
        self._best: dict[int, float] = {}
        self._steps: dict[int, int] = {}

    def record(self, width: int, seconds: float) -> None:
        ema = self._ema.get(width)
        ema = seconds if ema is None else 0.8 * ema + 0.2 * seconds
        self._ema[width] = ema
        steps = self._steps[width] = self._steps.get(width, 0) + 1
        if steps < WARMUP_STEPS // 2:
            return
        best = self._best[width] = min(self._best.get(width, ema), ema)
        if steps >= WARMUP_STEPS and ema > SLOWDOWN * best and not self.warned:
            self.warned = True
            log.warning("decoding became %.0f× slower than earlier in this run (%.0f → %.0f ms per step): "
                        "other programs are probably using the cores; %s", ema / best, 1000 * best, 1000 * ema,
                        "run with --threads 1" if self.threads > 1 else "free some cores")

"""The default llama.cpp thread count leaves cores that other programs keep busy (issue 14, point 1)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from inferplan.backends.llamacpp.threads import busy_cores, default_threads, usable_cores

HOG = "import time\nend = time.time() + 30\nwhile time.time() < end: pass\n"


@pytest.mark.skipif(busy_cores() is None, reason="no /proc/stat: the count falls back to all cores")
@pytest.mark.skipif(not 2 <= usable_cores() <= 8, reason="needs 2–8 usable cores")
def test_cores_busy_with_other_programs_are_left_alone() -> None:
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(usable_cores() - 1)]
    try:
        import time

        time.sleep(0.5)  # let them start spinning
        assert busy_cores() >= usable_cores() - 1.4
        assert default_threads() == 1
    finally:
        for h in hogs:
            h.kill()
            h.wait()


def test_a_collapse_of_the_decode_rate_is_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    from inferplan.backends.llamacpp.threads import StepWatch

    watch = StepWatch(threads=2)
    with caplog.at_level("WARNING", logger="inferplan.llamacpp"):
        for _ in range(40):
            watch.record(16, 0.06)  # quiet: 60 ms per step at 16 sequences
        for _ in range(40):
            watch.record(1, 0.01)  # the tail of a run: one sequence, faster steps, no alarm
        assert not watch.warned
        for _ in range(40):
            watch.record(16, 0.5)  # the cores were taken
    warnings = [r for r in caplog.records if "slower" in r.getMessage()]
    assert watch.warned and len(warnings) == 1 and "--threads 1" in warnings[0].getMessage()


@pytest.mark.slow
@pytest.mark.skipif(busy_cores() is None, reason="no /proc/stat: the count falls back to all cores")
@pytest.mark.skipif(not 2 <= usable_cores() <= 8, reason="needs 2–8 usable cores")
def test_the_engine_opened_beside_busy_cores_leaves_them_alone() -> None:
    """What a user gets: the embedded model opened with default settings while other
    programs hold all but one core uses one thread (it used every core before)."""
    import time

    from inferplan.backends import BackendSettings
    from inferplan.backends.llamacpp.engine import LlamaCppBackend

    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(usable_cores() - 1)]
    try:
        time.sleep(0.5)
        backend = LlamaCppBackend("smollm2", BackendSettings(parallel=2))
        try:
            assert backend.threads == 1 and backend.info.settings["threads"] == 1
        finally:
            backend.close()
    finally:
        for h in hogs:
            h.kill()
            h.wait()

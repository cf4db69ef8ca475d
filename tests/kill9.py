"""A real kill -9 mid-run, for the resume tests: start a command, SIGKILL it once it has written."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


def lines_in(path: Path) -> int:
    """Line breaks written to ``path`` so far (0 before it exists)."""
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def kill_once_written(cmd: list[str], path: Path, lines: int, env: dict, poll: float) -> None:
    """Run ``cmd`` and SIGKILL it once ``path`` holds ``lines`` lines (within 10 minutes)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 600
    while lines_in(path) < lines and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(poll)
    assert proc.poll() is None, "the command finished before it could be killed; make the run longer"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

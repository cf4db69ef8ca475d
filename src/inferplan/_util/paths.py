"""Where inferplan keeps its own state (probe verdicts, caches).

``INFERPLAN_HOME`` overrides the location, so tests can isolate state in a
temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The state directory, created on first use."""
    root = os.environ.get("INFERPLAN_HOME")
    if root:
        path = Path(root)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "inferplan"
    path.mkdir(parents=True, exist_ok=True)
    return path

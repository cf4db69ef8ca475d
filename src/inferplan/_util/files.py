"""Writing output files safely: atomically, and never over a file inferplan did not write.

A user's ``-o notes.json`` or ``--plot thesis.png`` may name a file that matters to
them. inferplan replaces only files it recognises as its own (a plan, a fit report,
a plot it drew), unless told to with ``force``; every write goes to a temporary file
in the same folder first and is renamed into place, so a crash never leaves half a
file, and an OS error at the path is one input error that names it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable

from inferplan.errors import ConflictError, InputError

PNG_SOFTWARE = "inferplan"  # the Software text chunk of every PNG inferplan draws


def json_format_is(prefix: str) -> Callable[[Path], bool]:
    """Ownership test: the file is a JSON document whose ``format`` starts with ``prefix``."""

    def owned(path: Path) -> bool:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return False
        return isinstance(data, dict) and str(data.get("format", "")).startswith(prefix)

    return owned


def png_drawn_by_inferplan(path: Path) -> bool:
    """Ownership test: a PNG whose tEXt ``Software`` chunk names inferplan."""
    try:
        head = path.read_bytes()[:4096]
    except OSError:
        return False
    return head.startswith(b"\x89PNG") and b"Software\x00" + PNG_SOFTWARE.encode() in head


def check_replaceable(path: Path, owned: Callable[[Path], bool], what: str, force: bool) -> None:
    """ConflictError (exit 7) if ``path`` exists and is not an inferplan ``what``, unless ``force``."""
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a {what} file")
    if path.exists() and not force and not owned(path):
        raise ConflictError(f"{path} exists and is not an inferplan {what}; choose another file, or use --force "
                            "to replace it")


def write_atomically(path: Path | str, data: str | bytes, *, owned: Callable[[Path], bool], what: str,
                     force: bool = False) -> Path:
    """Write ``data`` to ``path`` via a temporary file and a rename (see the module docstring)."""
    path = Path(path)
    check_replaceable(path, owned, what, force)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except OSError as e:
        if "tmp" in locals() and os.path.exists(tmp):
            os.unlink(tmp)
        raise InputError(f"{path}: cannot write the {what} ({e.strerror or e})") from None
    return path


class WriterLock:
    """An exclusive lock on ``PATH.lock`` for whoever appends to or replaces ``PATH``.

    A second inferplan writing the same file fails at once with a clear message
    (exit 7) instead of interleaving or duplicating records. The lock is released
    when its holder closes it or dies (``flock`` locks go with the process); the
    small ``.lock`` file is left in place, as removing it would race with a waiter.
    """

    def __init__(self, path: Path | str) -> None:
        import fcntl

        self.path = Path(path)
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise InputError(f"{self.path}: cannot write here ({e.strerror or e})") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise ConflictError(f"{self.path} is being written by another inferplan process; wait for it to "
                                "finish (rerunning afterwards resumes), or write to another file") from None

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = -1

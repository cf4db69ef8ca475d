"""Writing output files safely: atomically, and never over a file inferplan did not write.

A user's ``-o notes.json`` or ``--plot thesis.png`` may name a file that matters to
them. inferplan replaces only files it recognises as its own (a plan, a fit report,
a plot it drew), unless told to with ``force``; every write goes to a temporary file
in the same folder first and is renamed into place, so a crash never leaves half a
file, and an OS error at the path is one error (exit 7) that names it. A new file gets
the mode the user's umask gives (0644 under 022), a replaced one keeps its own.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

from inferplan.errors import ConflictError, OutputError

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


def check_writable(path: Path | str, what: str) -> None:
    """OutputError (exit 7) unless a ``what`` file can be made at ``path``: it is no folder, and the
    folder it goes in (or, when that is still to be made, the nearest one above) takes a new file.
    Call it before the work whose result goes there (a model load, a search), not after."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a directory, not a {what} file")
    folder = path.parent
    while not folder.exists() and not folder.is_symlink() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"{path}: cannot write the {what} there ({folder} is not a folder)")
    try:  # os.access says yes to root over /proc or a read-only mount: only a real file tells
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as e:
        raise OutputError(f"{path}: cannot write the {what}: no file can be made in {folder} "
                          f"({e.strerror or e}); choose another path") from None
    os.close(fd)
    os.unlink(probe)


def check_replaceable(path: Path, owned: Callable[[Path], bool], what: str, force: bool) -> None:
    """ConflictError (exit 7) if ``path`` exists and is not an inferplan ``what``, unless ``force``;
    OutputError (exit 7) if it cannot be written there (:func:`check_writable`)."""
    if path.is_dir():
        raise OutputError(f"{path}: is a directory, not a {what} file")
    if path.exists() and not force and not owned(path):
        raise ConflictError(f"{path} exists and is not an inferplan {what}; choose another file, or use --force "
                            "to replace it")
    check_writable(path, what)


def _umask() -> int:
    """The process's umask, read without changing it where the OS says (Linux), else set and reset."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode(path: Path) -> int:
    """The mode a file written at ``path`` gets: the one it has if it exists, else 0666 less the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def write_atomically(path: Path | str, data: str | bytes, *, owned: Callable[[Path], bool], what: str,
                     force: bool = False) -> Path:
    """Write ``data`` to ``path`` via a temporary file and a rename (see the module docstring)."""
    path = Path(path)
    check_replaceable(path, owned, what, force)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), new_file_mode(path))  # mkstemp makes 0600
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except OSError as e:
        if "tmp" in locals() and os.path.exists(tmp):
            os.unlink(tmp)
        raise OutputError(f"{path}: cannot write the {what} ({e.strerror or e})") from None
    return path


LOCK_MARK = b"inferplan writer lock\n"  # what a lock file inferplan made holds


class WriterLock:
    """An exclusive lock on ``PATH.lock`` for whoever appends to or replaces ``PATH``.

    A second inferplan writing the same file fails at once with a clear message
    (exit 7) instead of interleaving or duplicating records. The lock is released
    when its holder releases it or dies (``flock`` locks go with the process).

    Releasing removes the ``.lock`` file if inferplan made it (it holds LOCK_MARK, or is
    empty as older versions left theirs; a file of that name holding anything else is left). The
    holder unlinks it while still holding the lock, so a process that opened the old
    file meanwhile may then lock an orphan inode: every locker therefore checks, once
    it holds the lock, that the path still names the file it locked, and starts over if not.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.lock = self.path.with_name(self.path.name + ".lock")
        try:
            self.lock.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"{self.path}: cannot write here ({e.strerror or e})") from None
        for _ in range(100):  # a retry is needed only when a holder removed the file under us
            if self._acquire():
                return
        raise ConflictError(f"{self.path} is being written by other inferplan processes in turn; try again")

    def _acquire(self) -> bool:
        import fcntl

        try:
            try:
                fd, made = os.open(self.lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644), True
            except FileExistsError:
                fd, made = os.open(self.lock, os.O_RDWR), False
        except FileNotFoundError:
            return False  # removed between the two opens: start over
        except OSError as e:
            raise OutputError(f"{self.path}: cannot write here ({e.strerror or e})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConflictError(f"{self.path} is being written by another inferplan process; wait for it to "
                                "finish (rerunning afterwards resumes), or write to another file") from None
        if not self._names(fd):  # its holder removed it before we locked it: an orphan
            os.close(fd)
            return False
        held = os.pread(fd, len(LOCK_MARK) + 1, 0)
        # Ours: made now, or by an earlier inferplan (marked; empty as older versions left them).
        self._fd, self._ours = fd, made or held in (b"", LOCK_MARK)
        if self._ours and held != LOCK_MARK:
            os.pwrite(fd, LOCK_MARK, 0)
        return True

    def _names(self, fd: int) -> bool:
        """Whether the lock path still names the file open on ``fd``."""
        try:
            st, mine = os.stat(self.lock), os.fstat(fd)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)

    def release(self) -> None:
        if self._fd >= 0:
            if self._ours and self._names(self._fd):
                try:
                    os.unlink(self.lock)  # while still locked: see the class docstring
                except OSError:
                    pass
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = -1

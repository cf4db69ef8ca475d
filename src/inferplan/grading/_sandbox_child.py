"""Child side of the code sandbox: set limits, disable dangerous calls, run the program.

Run as ``python -I _sandbox_child.py PROGRAM MEM_MB CPU_S FSIZE_MB NPROC STUB_NET``.
Standalone on purpose (imports only the standard library, never inferplan), so
nothing of the parent's state reaches untrusted code.
"""

import builtins
import os
import resource
import shutil
import subprocess
import sys


def _limit(kind: int, value: int) -> None:
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass  # cannot raise a hard limit above the parent's; the lower one stays


def _refuse(*_args, **_kwargs):
    raise PermissionError("disabled in the inferplan code sandbox")


def _stub_network() -> None:
    import socket

    class _NoSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            _refuse()

    socket.socket = _NoSocket
    socket.create_connection = _refuse
    socket.socketpair = _refuse
    socket.getaddrinfo = _refuse


def _disable_process_and_fs_calls() -> None:
    for name in ("system", "fork", "forkpty", "popen", "execv", "execve", "execl", "execle", "execlp",
                 "execlpe", "execvp", "execvpe", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv",
                 "spawnve", "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp", "kill", "killpg",
                 "remove", "unlink", "rmdir", "removedirs", "rename", "renames", "replace", "truncate",
                 "chmod", "chown", "fchmod", "fchown", "setuid", "putenv", "chroot"):
        if hasattr(os, name):
            setattr(os, name, _refuse)
    subprocess.Popen = _refuse
    subprocess.run = subprocess.call = subprocess.check_call = subprocess.check_output = _refuse
    shutil.rmtree = shutil.move = shutil.chown = _refuse
    # ctypes would reach libc's fork/system directly; RLIMIT_NPROC does not bind root, so block it.
    for mod in ("_posixsubprocess", "ctypes", "_ctypes", "multiprocessing", "pty"):
        sys.modules[mod] = None  # type: ignore[assignment]
    os._exit = _refuse  # a program must not "pass" by exiting 0 before its tests ran


def main() -> None:
    program, mem_mb, cpu_s, fsize_mb, nproc, stub_net = sys.argv[1:7]
    mb = 1024 * 1024
    _limit(resource.RLIMIT_AS, int(mem_mb) * mb)
    _limit(resource.RLIMIT_CPU, int(cpu_s))
    _limit(resource.RLIMIT_FSIZE, int(fsize_mb) * mb)
    _limit(resource.RLIMIT_NPROC, int(nproc))
    _limit(resource.RLIMIT_CORE, 0)
    if stub_net == "1":
        _stub_network()
    with open(program, encoding="utf-8") as f:
        source = f.read()
    code = compile(source, "program.py", "exec")
    _disable_process_and_fs_calls()
    sys.argv = ["program.py"]
    try:
        exec(code, {"__name__": "__main__", "__builtins__": builtins})
    except SystemExit:
        # sys.exit()/exit() inside untrusted code would skip the tests: never a pass.
        sys.stderr.write("SystemExit raised by the program\n")
        sys.stderr.flush()
        raise SystemExit(3) from None


if __name__ == "__main__":
    main()

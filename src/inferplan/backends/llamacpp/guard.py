"""Keep llama.cpp quiet and alive: log routing and the AMX crash guard.

On some CPUs that report AMX, a natively built llama.cpp dies with SIGSEGV inside
``ggml_backend_amx_mul_mat`` on the first decode — a native crash no Python code
can catch. So before the first load on a machine, a child process loads the model
with the fast path (extra buffer types, i.e. weight repacking) and decodes a few
batches. If the child is killed by a signal, the model is loaded with
``use_extra_bufts = False`` from then on. The verdict is cached in ``data_dir()``
keyed by the llama-cpp-python version, the CPU flags and the model's file type,
so the probe runs once, not on every run.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import platform
import subprocess
import sys
from pathlib import Path

from inferplan._util.paths import data_dir

log = logging.getLogger("inferplan.llamacpp")

_LOG_CALLBACK = None  # keep the ctypes callback alive for the life of the process


def route_native_logs() -> None:
    """Send llama.cpp/ggml log lines to the ``inferplan.llamacpp`` logger at DEBUG.

    Without this llama.cpp prints hundreds of lines to stderr on every load; they
    show up only when the logger is enabled for DEBUG (``--debug``).
    """
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import llama_cpp

    def _forward(level: int, text: bytes | None, user_data: ctypes.c_void_p) -> None:
        if text and log.isEnabledFor(logging.DEBUG):
            log.debug("llama.cpp: %s", text.decode("utf-8", errors="replace").rstrip("\n"))

    _LOG_CALLBACK = llama_cpp.llama_log_callback(_forward)
    llama_cpp.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return " ".join(sorted(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return f"{platform.machine()} {platform.processor()}"


def _probe_key(model_path: Path, file_type: str | None) -> str:
    import llama_cpp

    cpu = hashlib.sha256(_cpu_flags().encode()).hexdigest()[:16]
    # "probe 2": verdicts of the first probe (which could crash on its own log callback) are void.
    return f"probe 2 | llama-cpp-python {llama_cpp.__version__} | cpu {cpu} | {file_type or model_path.name}"


def extra_bufts_safe(model_path: Path, file_type: str | None, timeout: float = 300.0) -> bool:
    """True if the fast path (extra buffer types) survives a decode on this machine."""
    cache_file = data_dir() / "llamacpp-probe.json"
    key = _probe_key(model_path, file_type)
    try:
        verdicts = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        verdicts = {}
    if key in verdicts:
        return bool(verdicts[key])
    code = [sys.executable, "-c", f"from {__name__} import _child; _child({str(model_path)!r})"]
    try:
        proc = subprocess.run(code, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        rc = None
    if rc == 0:
        safe = True
    elif rc is not None and rc < 0:
        safe = False
        log.warning(
            "llama.cpp crashed (signal %d) in its CPU fast path on this machine (known AMX bug); "
            "using the safe path (use_extra_bufts=False) from now on", -rc,
        )
    else:
        # Failed for another reason (e.g. a bad file): don't cache; be conservative now.
        log.debug("llama.cpp probe failed (rc=%s): %s", rc, proc.stderr[-400:] if rc is not None else "timeout")
        return False
    verdicts[key] = safe
    tmp = cache_file.with_name(f"llamacpp-probe.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(verdicts, indent=1))
    tmp.replace(cache_file)
    return safe


def _child(model_path: str) -> None:
    """Probe body (runs in a subprocess): load with extra buffer types and decode batches."""
    import llama_cpp as L

    # The same kept-alive callback as the parent's (logging is off here, so it is
    # silent): a collected ctypes callback is a SIGSEGV that passes for the AMX crash.
    route_native_logs()
    L.llama_backend_init()
    mp = L.llama_model_default_params()
    mp.use_extra_bufts = True
    model = L.llama_model_load_from_file(model_path.encode(), mp)
    if not model:
        sys.exit(3)
    cp = L.llama_context_default_params()
    cp.n_ctx, cp.n_batch, cp.n_seq_max, cp.kv_unified = 256, 64, 16, True
    ctx = L.llama_init_from_model(model, cp)
    batch = L.llama_batch_init(64, 0, 1)
    # A prompt-sized batch, then decode-sized batches of 16 and 1: the AMX kernel
    # is chosen by batch shape, so exercise several.
    for step, width in enumerate((32, 16, 1)):
        batch.n_tokens = width
        for i in range(width):
            batch.token[i] = 100 + i
            batch.pos[i] = 31 + step if step else i  # positions continue the 32-token prompt
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = i if step else 0
            batch.logits[i] = True
        if step == 1:
            for s in range(1, 16):
                L.llama_memory_seq_cp(L.llama_get_memory(ctx), 0, s, -1, -1)
        if L.llama_decode(ctx, batch) != 0:
            sys.exit(4)
    sys.exit(0)

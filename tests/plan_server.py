"""A REAL ``inferplan serve`` for tests: the CLI in a child process, on a free port.

``PlanServer(plan, *flags).start()`` runs ``python -m inferplan serve --port 0``, reads
the URL it prints once its socket listens, and waits (bounded) until ``/health``
answers; ``stop()`` sends SIGINT (what Ctrl-C sends) and waits for a clean exit.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from servers import wait_until_answering


class PlanServer:
    def __init__(self, plan: Path, *flags: str, env: dict | None = None, ready_timeout: float = 120.0) -> None:
        self.plan, self.flags, self.ready_timeout = Path(plan), flags, ready_timeout
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.stderr = ""

    def start(self) -> PlanServer:
        # stderr goes to a file, never a pipe nobody drains (a full pipe would block the server)
        self.log = self.plan.with_name(f"serve-{os.getpid()}-{time.monotonic_ns()}.log")
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "inferplan", "serve", "--plan", str(self.plan), "--port", "0", *self.flags],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=self.env)
        deadline = time.monotonic() + self.ready_timeout
        while not self.url and time.monotonic() < deadline and self.proc.poll() is None:
            found = re.search(r"on (http://\S+/v1) ", self.log.read_text())
            if found:
                self.url = found.group(1)
            else:
                time.sleep(0.1)
        if not self.url:
            self.stop()
            raise RuntimeError(f"inferplan serve did not start: {self.stderr}")
        failure = wait_until_answering(self.url.removesuffix("/v1") + "/health", self.proc, deadline)
        if failure is not None:
            self.stop()
            raise RuntimeError(f"inferplan serve {failure}: {self.stderr}")
        return self

    def health(self) -> dict:
        with urllib.request.urlopen(self.url.removesuffix("/v1") + "/health", timeout=5) as r:
            return json.loads(r.read())

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr = self.log.read_text()
        return self.proc.returncode


def ask_at_once(client, questions: list[str], timeout: float = 180.0) -> list:
    """Each question as its own chat request from its own thread, all at once (several clients
    of one server); the replies in question order (a request that did not finish fails the test)."""
    replies: dict[int, object] = {}

    def ask(i: int) -> None:
        replies[i] = client.chat.completions.create(model="x", messages=[{"role": "user", "content": questions[i]}])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert sorted(replies) == list(range(len(questions))), "a concurrent request did not finish"
    return [replies[i] for i in range(len(questions))]

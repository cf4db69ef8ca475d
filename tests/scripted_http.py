"""A tiny real HTTP server with scripted answers, for the OpenAI client's wire behaviour.

Used only where the real llama-cpp-python server cannot be made to misbehave on
demand: HTTP 429/500/503 answers (retries and backoff), redirects (the key must not
follow them), servers that honour ``n`` (vLLM-style grouping), replies cut
mid-body, slow replies, and the exact headers a client sends. Sampling itself is always tested against the real server.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

DELAY = "X-Script-Delay"  # handler header: seconds to wait before answering
CUT = "X-Script-Cut"  # handler header: send half the body, then drop the connection


class ScriptedServer:
    """Serves ``handler(path, body) -> (status, json_or_none, headers)`` on 127.0.0.1."""

    def __init__(self, handler: Callable[[str, dict | None], tuple[int, dict | None, dict]]) -> None:
        self.requests: list[tuple[str, dict | None, dict]] = []  # (path, body, headers)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: dict | None) -> None:
                outer.requests.append((self.path, body, dict(self.headers)))
                status, payload, headers = handler(self.path, body)
                headers = dict(headers)
                # Faults on demand: wait before answering, or cut the body half-way and hang up.
                time.sleep(float(headers.pop(DELAY, 0)))
                cut = headers.pop(CUT, None) is not None
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if cut:
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                self._answer(None)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self._answer(json.loads(self.rfile.read(length) or b"null"))

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def completion_reply(body: dict, text: str = "42", honour_n: bool = False) -> dict:
    """An OpenAI-shaped completions reply with one choice (or ``n`` when honoured)."""
    n = int(body.get("n", 1)) if honour_n else 1
    choices = [{"index": i, "text": f"{text}-{body.get('seed', 0) + i}", "finish_reason": "stop",
                "logprobs": {"token_logprobs": [-0.5, -0.25]}} for i in range(n)]
    return {"object": "text_completion", "choices": choices,
            "usage": {"prompt_tokens": 3, "completion_tokens": 2 * n, "total_tokens": 3 + 2 * n}}

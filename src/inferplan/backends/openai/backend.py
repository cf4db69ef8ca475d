"""Backend for any OpenAI-compatible server: vLLM, llama.cpp's llama-server, Ollama, …

``--model http(s)://HOST:PORT/v1 --model-name NAME [--api-key-env VAR]``. Raw prompts
go to ``/completions``, chat messages to ``/chat/completions``. On open the backend
asks the server once whether it honours ``n`` (a probe with n=2, max_tokens=1: two
choices → yes; an error or one choice → no) and then either groups samples into
``n``-requests (vLLM seeds child i with seed+i, so consecutive per-sample seeds are
kept) or fans out one request per sample through a bounded pool of ``parallel``
concurrent requests.

Security: the API key is read from the named environment variable, sent only as a
header to the given base URL (redirects are refused and proxy settings from the
environment are ignored), and appears in no message, repr, log or profile header.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Sequence

import httpx

from inferplan.backends.base import BackendInfo, SampleRequest
from inferplan.backends.openai.http import (
    EXTENSION_KEYS,
    EXTENSIONS,
    HTTPStatusFailure,
    RetryPolicy,
    describe,
    post_json,
)
from inferplan.errors import BackendError, InputError


class OpenAIBackend:
    """Samples through an OpenAI-compatible HTTP server; see the module docstring."""

    name = "openai"

    def __init__(self, base_url: str, settings) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"a server model must be an http(s)://HOST:PORT/v1 URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self.parallel = max(1, int(settings.parallel))
        self.policy = RetryPolicy(attempts=int(settings.extra.get("retries", 5)))
        headers = {}
        if settings.api_key_env:
            key = os.environ.get(settings.api_key_env)
            if not key:
                raise InputError(f"environment variable {settings.api_key_env} (from --api-key-env) is not set")
            headers["Authorization"] = f"Bearer {key}"
        # One event loop thread per backend: asyncio lets cancel() abort in-flight requests.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="inferplan-openai", daemon=True)
        self._thread.start()
        self._closed = False
        timeout = httpx.Timeout(float(settings.timeout), connect=10.0)

        async def make_client() -> httpx.AsyncClient:
            return httpx.AsyncClient(
                base_url=self.base_url, headers=headers, timeout=timeout, follow_redirects=False,
                trust_env=False,  # never route the key through an environment-configured proxy
                limits=httpx.Limits(max_connections=self.parallel + 2, max_keepalive_connections=self.parallel),
            )

        self.client: httpx.AsyncClient = self.call(make_client())
        self.semaphore: asyncio.Semaphore = self.call(_make_semaphore(self.parallel))
        self.logprobs_ok: dict[str, bool] = {}  # endpoint → server accepts our logprobs field
        self.extensions_ok: dict[str, bool] = {}  # endpoint → server accepts top_k/min_p/penalties
        self._kind: str | None = None  # see server_kind
        self.knobs: dict = {}  # forced text → the server's own thinking budget or None (budget.knob_for)
        try:
            self.model_name = settings.model_name or self._first_model()
            self.n_supported = self._probe_n()
        except BaseException:
            self.close()
            raise
        self.info = BackendInfo(
            name="openai", model=self.base_url, device="server", supports_shared_prefix=self.n_supported,
            parallel_slots=self.parallel,
            settings={"base_url": self.base_url, "model_name": self.model_name, "n_supported": self.n_supported},
        )

    def __repr__(self) -> str:  # explicit, so no header (and no key) ever shows up in a repr
        return f"OpenAIBackend({self.base_url!r}, model_name={getattr(self, 'model_name', None)!r})"

    # -- plumbing --------------------------------------------------------------------

    def call(self, coro):
        """Run a coroutine on the backend's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _models(self) -> list:
        """The server's model list (GET /models)."""

        async def get() -> dict:
            try:
                response = await self.client.get("/models")
            except httpx.HTTPError as e:
                raise BackendError(f"cannot reach an OpenAI-compatible server at {self.base_url}: {describe(e)}") from None
            if response.status_code >= 300:
                raise BackendError(f"server at {self.base_url} answered GET /models with HTTP {response.status_code}; "
                                   "pass --model-name")
            return response.json()

        data = self.call(get())
        return (data.get("data") if isinstance(data, dict) else None) or []

    def _first_model(self) -> str:
        """The server's first model id, when --model-name was not given."""
        data = self._models()
        if not data or not isinstance(data[0], dict) or "id" not in data[0]:
            raise BackendError(f"server at {self.base_url} lists no models; pass --model-name")
        return str(data[0]["id"])

    def server_kind(self) -> str:
        """Which server this is, from its model's ``owned_by`` in GET /models: "vllm",
        "llamacpp" (llama.cpp's llama-server), "me" (llama-cpp-python's server), another
        name, or "unknown". Asked once, and only when a request needs it (a forced answer
        on chat messages), so opening a backend costs no extra request."""
        if self._kind is None:
            try:
                models = [m for m in self._models() if isinstance(m, dict)]
            except BackendError:
                models = []
            mine = [m for m in models if m.get("id") == self.model_name] or models
            owner = mine[0].get("owned_by") if mine else None
            self._kind = owner.strip().lower() if isinstance(owner, str) and owner.strip() else "unknown"
        return self._kind

    def _probe_n(self) -> bool:
        """Does the server honour ``n``? One tiny request: n=2, max_tokens=1."""
        body = {"model": self.model_name, "n": 2, "max_tokens": 1, "temperature": 1.0}
        attempts = [("/completions", {"prompt": "Hi"}), ("/chat/completions", {"messages": [{"role": "user", "content": "Hi"}]})]
        for path, extra in attempts:
            try:
                reply = self.call(post_json(self.client, path, {**body, **extra}, self.policy, self.base_url))
            except HTTPStatusFailure as e:
                if e.status in (404, 405):  # this endpoint does not exist here: try the other
                    continue
                if e.status in (401, 403):
                    raise BackendError(f"server at {self.base_url} refused the request (HTTP {e.status}): "
                                       "check the key in the variable named by --api-key-env") from None
                return False  # e.g. llama-server: "only one completion choice is allowed"
            except BackendError as e:
                raise BackendError(f"cannot use the server at {self.base_url}: {e}") from None
            return len(reply.get("choices") or []) >= 2
        raise BackendError(f"server at {self.base_url} has neither /completions nor /chat/completions")

    def body(self, request: SampleRequest, endpoint: str, count: int, temperature: float, seed: int) -> dict:
        """The JSON body for ``count`` samples at one temperature, starting at ``seed``."""
        body: dict = {"model": self.model_name, "max_tokens": request.max_tokens, "temperature": temperature,
                      "seed": seed}
        if count > 1:
            body["n"] = count
        if endpoint == "/chat/completions":
            body["messages"] = [dict(m) for m in request.messages or ()]
        else:
            body["prompt"] = request.prompt
        if request.stop:
            body["stop"] = list(request.stop)
        body["top_p"] = request.top_p
        if self.extensions_ok.get(endpoint, True):
            # Servers add their own sampling defaults (llama-cpp-python: top_k=40, min_p=0.05,
            # repeat_penalty=1.1; Ollama alike) that change the distribution, even at T = 0.
            # Send inferplan's values explicitly so every backend samples the same thing.
            body.update(EXTENSIONS)
            body["top_k"], body["min_p"] = request.top_k, request.min_p
        if self.logprobs_ok.get(endpoint, True):
            if endpoint == "/chat/completions":
                # top_logprobs too: some servers (llama-cpp-python) return null logprobs without it.
                body["logprobs"], body["top_logprobs"] = True, 1
            else:
                body["logprobs"] = 1
        return body

    async def post(self, endpoint: str, body: dict) -> dict:
        """POST ``body``; a strict server (400/422) gets it again without our non-standard
        sampling fields, then without logprobs, and the verdict is remembered per endpoint."""
        for flag, keys in ((self.extensions_ok, EXTENSION_KEYS), (self.logprobs_ok, ("logprobs", "top_logprobs"))):
            try:
                return await post_json(self.client, endpoint, body, self.policy, self.base_url)
            except HTTPStatusFailure as e:
                if e.status not in (400, 422) or not any(k in body for k in keys):
                    raise
                for k in keys:
                    body.pop(k, None)
                flag[endpoint] = False
        return await post_json(self.client, endpoint, body, self.policy, self.base_url)

    # -- Backend protocol ------------------------------------------------------------

    def sample(self, requests: Sequence[SampleRequest]):
        """A stream of completions in finish order (see OpenAIStream)."""
        from inferplan.backends.openai.stream import OpenAIStream

        if self._closed:
            raise BackendError("this backend is closed")
        return OpenAIStream(self, requests)

    def close(self) -> None:
        """Close connections and stop the event loop thread."""
        if self._closed:
            return
        self._closed = True
        client = getattr(self, "client", None)
        if client is not None:
            try:
                self.call(client.aclose())
            except Exception:  # closing a broken connection must not mask the real error
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


async def _make_semaphore(n: int) -> asyncio.Semaphore:
    # Created on the loop thread: the semaphore belongs to that loop.
    return asyncio.Semaphore(n)

"""HTTP for OpenAI-compatible servers: one POST with bounded retries, and response parsing.

Kept apart from the stream scheduler so the wire details (which errors are worth
retrying, the several shapes of ``logprobs`` that servers return) live in one place.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass

import httpx
import numpy as np

from inferplan.backends.confidence import Confidence, confidence_of
from inferplan.errors import BackendError

# 408/409/425/429 and 5xx are transient by convention (rate limits, overload, restarts).
# Non-standard sampling fields (llama.cpp, vLLM, Ollama accept them), neutral values.
EXTENSIONS = {"repeat_penalty": 1.0, "top_k": 0, "min_p": 0.0}
EXTENSION_KEYS = tuple(EXTENSIONS)
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# Connection-level failures worth retrying: refused/reset/dropped mid-response.
RETRY_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadError, httpx.WriteError,
                httpx.RemoteProtocolError, httpx.PoolTimeout)


class HTTPStatusFailure(BackendError):
    """The server answered a request with a non-retryable error status."""

    def __init__(self, message: str, status: int, body: str) -> None:
        super().__init__(message)
        self.status, self.body = status, body


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: base·2^k seconds, capped, at most ``attempts`` tries."""

    attempts: int = 5
    base: float = 0.25
    cap: float = 8.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after:
            try:  # a server's own hint wins, but never beyond the cap
                return min(self.cap, max(0.0, float(retry_after)))
            except ValueError:
                pass
        return min(self.cap, self.base * 2**attempt) * (0.5 + random.random() / 2)


def describe(exc: Exception) -> str:
    """A short human reason for a transport failure (no URL, no headers: never a key)."""
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unreachable"
    if isinstance(exc, (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)):
        return "connection dropped (server stopped or crashed?)"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return type(exc).__name__


async def post_json(client: httpx.AsyncClient, path: str, body: dict, policy: RetryPolicy, where: str) -> dict:
    """POST ``body`` to ``path``; retry transient failures; BackendError with one clear line."""
    last = ""
    for attempt in range(policy.attempts):
        retry_after = None
        try:
            response = await client.post(path, json=body)
        except RETRY_ERRORS as e:
            last = describe(e)
        except httpx.TimeoutException as e:  # a read timeout: the server is alive but too slow
            raise BackendError(f"server at {where} {describe(e)} waiting for an answer; lower max_tokens or --parallel") from None
        else:
            if response.is_redirect:
                # Following a redirect could send the API key to another host: refuse.
                raise BackendError(f"server at {where} redirected to {response.headers.get('location')}; "
                                   "give the final /v1 URL instead")
            if response.status_code < 300:
                try:
                    return response.json()
                except ValueError:
                    raise BackendError(f"server at {where} returned a non-JSON response to {path}") from None
            if response.status_code not in RETRY_STATUS:
                text = response.text[:300].replace("\n", " ")
                raise HTTPStatusFailure(f"server at {where} rejected {path} with HTTP {response.status_code}: {text}",
                                        response.status_code, text)
            last = f"HTTP {response.status_code}"
            retry_after = response.headers.get("retry-after")
        if attempt + 1 < policy.attempts:
            await asyncio.sleep(policy.delay(attempt, retry_after))
    raise BackendError(f"server at {where} failed after {policy.attempts} attempts: {last}")


def _choice_object(choice: object) -> dict:
    if not isinstance(choice, dict):
        raise BackendError(f"server sent a choice that is not a JSON object: {json.dumps(choice)[:60]}")
    return choice


def choice_text(choice: dict) -> str:
    """The generated text of a completions or chat choice."""
    choice = _choice_object(choice)
    text = choice.get("text")
    if text is None:
        message = choice.get("message")
        text = (message.get("content") if isinstance(message, dict) else None) or ""
    if not isinstance(text, str):
        raise BackendError(f"server sent a choice whose text is not a string: {json.dumps(text)[:60]}")
    return text


def choice_logprobs(choice: dict) -> tuple[float | None, int | None, Confidence | None]:
    """(summed logprob, token count, windowed confidence) from whichever logprobs shape the server used.

    Completions: ``{"token_logprobs": [...]}``; chat: ``{"content": [{"logprob": x}, ...]}``;
    anything else (absent, null, unknown shape) → (None, None, None).
    """
    lp = _choice_object(choice).get("logprobs")
    if not isinstance(lp, dict):
        return None, None, None
    values = None
    if isinstance(lp.get("token_logprobs"), list):
        values = lp["token_logprobs"]
    elif isinstance(lp.get("content"), list):
        values = [t.get("logprob") for t in lp["content"] if isinstance(t, dict)]
    if values is None:
        return None, None, None
    finite = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    total = float(sum(finite)) if finite else None
    total = total if total is None or np.isfinite(total) else None
    # Windows need every token's logprob (some servers send null for the first one).
    whole = total is not None and len(finite) == len(values)
    return total, len(values), confidence_of(finite) if whole else None


def finish_reason(choice: dict) -> str:
    """Map a server's finish reason onto inferplan's: "length" or "stop"."""
    return "length" if _choice_object(choice).get("finish_reason") == "length" else "stop"


def reply_parts(reply: object, where: str) -> tuple[list[dict], dict]:
    """The choices (in index order) and usage of a reply, or a BackendError naming what is wrong."""
    choices = reply.get("choices") if isinstance(reply, dict) else None
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise BackendError(f"server at {where} sent a reply without a list of choices")
    usage = reply.get("usage")
    order = [c.get("index") if isinstance(c.get("index"), int) else 0 for c in choices]
    return [c for _, c in sorted(zip(order, choices), key=lambda oc: oc[0])], usage if isinstance(usage, dict) else {}


def token_count(value: object, where: str) -> int | None:
    """A token count from ``usage``: a non-negative integer, or None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e12:
        raise BackendError(f"server at {where} sent an unreadable token count: {str(value)[:40]}")
    return int(value)


def token_pieces(choice: dict) -> list[str] | None:
    """The text of each generated token, from either logprobs shape (None: not sent)."""
    lp = choice.get("logprobs")
    if not isinstance(lp, dict):
        return None
    if isinstance(lp.get("tokens"), list):
        pieces = lp["tokens"]
    elif isinstance(lp.get("content"), list):
        pieces = [t.get("token") for t in lp["content"] if isinstance(t, dict)]
    else:
        return None
    return pieces if all(isinstance(p, str) for p in pieces) else None


def tokens_before(pieces: list[str] | None, text: str, at: int) -> int | None:
    """How many generated tokens start before ``text[at]`` (None: the pieces do not spell the text)."""
    if pieces is None or "".join(pieces) != text:
        return None
    seen = 0
    for i, piece in enumerate(pieces):
        if seen >= at:
            return i
        seen += len(piece)
    return len(pieces)

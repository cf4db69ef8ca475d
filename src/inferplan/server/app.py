"""The ASGI application of ``inferplan serve`` (Starlette): routes, auth, waiting, disconnects.

Every request becomes one query of a :class:`~inferplan.runner.service.PlanService`;
the handler waits on its future without blocking the event loop, and cancels it
when the client goes away or the request times out. Errors are OpenAI-style JSON
(``{"error": {"message", "type", "param", "code"}}``) with the matching status.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import time
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from inferplan.errors import BackendError, InferplanError, InputError
from inferplan.runner.results import QueryResult
from inferplan.runner.service import PlanService, Ticket
from inferplan.server import protocol
from inferplan.server.protocol import Ask, RequestError, error_body

POLL_SECONDS = 0.5  # how often a waiting handler looks for a client that left (each look costs the engine CPU)
KEEPALIVE_SECONDS = 5.0  # a streamed reply sends an SSE comment this often while the plan runs


@dataclass(frozen=True)
class ServeSettings:
    """How the server treats requests (the CLI's flags)."""

    model_id: str  # what /v1/models lists and replies name
    api_key: str | None = None  # required as a bearer token when set
    as_profiled: bool = False  # render prompts with the plan's template, as the profile asked them
    timeout: float = 600.0  # seconds a request may take before it is cancelled (504)
    plan_summary: dict | None = None  # shown by /v1/models and /health


def _json(body: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _error(status: int, message: str, *, kind: str = "invalid_request_error", code: str | None = None) -> JSONResponse:
    return _json(error_body(message, kind=kind, code=code), status)


class Server:
    """The handlers, bound to one service and its settings."""

    def __init__(self, service: PlanService, settings: ServeSettings) -> None:
        self.service, self.settings = service, settings
        self._ids = itertools.count(1)

    # -- plumbing ----------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        key = self.settings.api_key
        if key is None:
            return True
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {key}".encode())

    async def _body(self, request: Request) -> object:
        try:
            return json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RequestError("the request body is not valid JSON") from None

    def _head(self, kind: str) -> dict:
        return {"id": f"{kind}-inferplan-{next(self._ids)}", "created": int(time.time()),
                "model": self.settings.model_id}

    def _submit(self, ask: Ask) -> list[Ticket]:
        as_profiled = self.settings.as_profiled if ask.as_profiled is None else ask.as_profiled
        queries = [protocol.as_question(q) for q in ask.queries] if as_profiled else ask.queries
        tickets = []
        try:
            for query in queries:
                tickets.append(self.service.submit(query, as_profiled=as_profiled, max_tokens=ask.max_tokens,
                                                   stop=ask.stop, seed=ask.seed))
        except InferplanError as e:
            for t in tickets:
                self.service.cancel(t)
            raise RequestError(str(e)) from None
        return tickets

    async def _wait(self, tickets: list[Ticket], request: Request | None) -> list[QueryResult]:
        """The tickets' results; cancelled when the client leaves (None back) or time runs out."""
        futures = [asyncio.wrap_future(t.future) for t in tickets]
        deadline = time.monotonic() + self.settings.timeout
        try:
            while not all(f.done() for f in futures):
                await asyncio.wait(futures, timeout=POLL_SECONDS)
                if request is not None and await request.is_disconnected():
                    raise ClientGone
                if time.monotonic() > deadline:
                    raise RequestError(f"the plan did not finish within {self.settings.timeout:g} s; the request "
                                       "was cancelled", status=504, kind="timeout")
            return [f.result() for f in futures]
        except (RequestError, ClientGone):
            raise
        except asyncio.CancelledError:
            raise RequestError("the request was cancelled by the server", status=503, kind="server_error") from None
        except InputError as e:  # e.g. a prompt longer than the engine's context
            raise RequestError(str(e)) from None
        except BackendError as e:  # the engine or the upstream server failed
            raise RequestError(str(e), status=502, kind="server_error") from None
        except InferplanError as e:
            raise RequestError(str(e), status=500, kind="server_error") from None
        except Exception as e:  # a bug: say so in the reply rather than drop the connection
            raise RequestError(f"internal error: {type(e).__name__}: {e}", status=500, kind="server_error") from None
        finally:
            for t, f in zip(tickets, futures):
                if not f.done():
                    self.service.cancel(t)

    # -- routes ------------------------------------------------------------------------

    async def chat(self, request: Request) -> Response:
        return await self._generate(request, protocol.read_chat, "chatcmpl", protocol.chat_reply,
                                    protocol.chat_chunks, single=True)

    async def completions(self, request: Request) -> Response:
        return await self._generate(request, protocol.read_completion, "cmpl", protocol.completion_reply,
                                    protocol.completion_chunks, single=False)

    async def _generate(self, request: Request, read, kind: str, reply, chunks, *, single: bool) -> Response:
        if not self._authorised(request):
            return _error(401, "missing or wrong API key: send 'Authorization: Bearer <key>'", code="invalid_api_key")
        try:
            ask = read(await self._body(request))
            tickets = self._submit(ask)
        except RequestError as e:
            return _json(e.body(), e.status)
        head = self._head(kind)
        if ask.stream:
            return StreamingResponse(self._events(tickets, ask, head, chunks, single), media_type="text/event-stream")
        try:
            results = await self._wait(tickets, request)
        except ClientGone:
            return Response(status_code=499)  # nobody reads it; the query's samples were cancelled
        except RequestError as e:
            return _json(e.body(), e.status)
        return _json(reply(results[0] if single else results, ask, head))

    async def _events(self, tickets: list[Ticket], ask: Ask, head: dict, chunks, single: bool):
        """Server-sent events: keep-alive comments while the plan runs, then the chosen sample."""
        waiter = asyncio.ensure_future(self._wait(tickets, None))
        try:
            while not waiter.done():
                await asyncio.wait([waiter], timeout=KEEPALIVE_SECONDS)
                if not waiter.done():
                    yield ": the plan is sampling\n\n"
            try:
                results = waiter.result()
            except RequestError as e:
                yield f"data: {json.dumps(e.body())}\n\n"
                return
            for chunk in chunks(results[0] if single else results, ask, head):
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"
        finally:  # the client left mid-stream (the generator is closed): stop paying for its samples
            if not waiter.done():
                waiter.cancel()
            for t in tickets:
                if not t.future.done():
                    self.service.cancel(t)

    async def models(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(401, "missing or wrong API key: send 'Authorization: Bearer <key>'", code="invalid_api_key")
        model = {"id": self.settings.model_id, "object": "model", "created": int(time.time()), "owned_by": "inferplan"}
        if self.settings.plan_summary:
            model[protocol.EXTRA_KEY] = self.settings.plan_summary
        return _json({"object": "list", "data": [model]})

    async def health(self, request: Request) -> Response:
        budget = getattr(self.service, "budget", None)
        return _json({"status": "ok", "model": self.settings.model_id, **self.service.stats.to_json(),
                      **({"budget": budget.to_json()} if budget is not None else {})})


class ClientGone(Exception):
    """The client closed the connection while its plan was running."""


async def _http_error(request: Request, exc: HTTPException) -> Response:
    kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
    return _error(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}", kind=kind)


def build_app(service: PlanService, settings: ServeSettings) -> Starlette:
    """The Starlette app serving ``service`` (the CLI runs it under uvicorn)."""
    server = Server(service, settings)
    routes = [
        Route("/v1/chat/completions", server.chat, methods=["POST"]),
        Route("/v1/completions", server.completions, methods=["POST"]),
        Route("/v1/models", server.models, methods=["GET"]),
        Route("/health", server.health, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})

"""Start ``inferplan serve``: load the backend, bind the socket, run uvicorn until stopped."""

from __future__ import annotations

import ipaddress
import logging
import socket
from pathlib import Path
from typing import Callable

from inferplan.backends import Backend, BackendSettings, open_backend
from inferplan.errors import DependencyError, InputError
from inferplan.planner.plan_file import Plan
from inferplan.runner.live_query import PlanOverrides, effective_max_tokens
from inferplan.runner.serve_budget import serve_budget
from inferplan.runner.service import PlanService
from inferplan.server.protocol import prompts_for

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free one), or one clear line on why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(128)
    return sock


def plan_summary(plan: Plan, source: str | None) -> dict:
    predicted = plan.prediction
    return {"plan": source, "rule": plan.rule.spec, "mix": dict(plan.mix), "aggregation": plan.aggregation.kind,
            "max_tokens": effective_max_tokens(plan, PlanOverrides()), "predicted_accuracy": None if predicted is None else predicted.accuracy.point,
            "predicted_accuracy_ci": None if predicted is None else list(predicted.accuracy.interval),
            "predicted_cost": None if predicted is None else predicted.cost.point, "unit": plan.unit}


def serve(plan: Plan, *, model: str | Backend, settings: BackendSettings | None = None, host: str = "127.0.0.1",
          port: int = 8080, api_key: str | None = None, as_profiled: bool | None = None, timeout: float = 600.0,
          seed: int = 0, plan_source: str | None = None,
          on_ready: Callable[[str, str], None] = lambda url, model_id: None,
          total_budget: float | None = None, per: str = "query", models: list | None = None) -> None:
    """Serve ``plan`` until interrupted; ``on_ready(url, model_id)`` is called once the socket listens.

    ``as_profiled`` None: as the plan's template needs (:func:`inferplan.server.protocol.prompts_for`).
    ``models``: a cascade's or mix's resolved models (cascade_runner.resolve_models), each opened here."""
    if as_profiled is None:
        as_profiled = prompts_for(plan) == "as-profiled"
    try:
        import uvicorn  # noqa: F401  (checked here, before the model loads; used by _listen)

        from inferplan.server.app import ServeSettings, build_app
    except ImportError as e:
        raise DependencyError(f"inferplan serve needs starlette and uvicorn ({e.name} is missing): "
                              "pip install starlette uvicorn") from None
    if timeout <= 0:
        raise InputError(f"--request-timeout must be positive, got {timeout:g}")
    budget = None if total_budget is None else serve_budget(
        plan, total_budget, per, effective_max_tokens(plan, PlanOverrides()), seed=seed)  # refused before loading
    sock = bind(host, port)  # before the model loads: a taken port costs nothing
    if models is not None:
        return _serve_many(plan, models, settings, sock, seed, on_ready, dict(
            api_key=api_key, as_profiled=as_profiled, timeout=timeout, plan_summary=plan_summary(plan, plan_source)))
    backend = open_backend(model, settings) if isinstance(model, str) else model
    service = None
    try:
        service = PlanService(plan, backend, PlanOverrides(seed=seed), budget)
        model_id = Path(backend.info.model).name if isinstance(model, str) and model.endswith(".gguf") \
            else backend.info.model
        app = build_app(service, ServeSettings(model_id=model_id, api_key=api_key, as_profiled=as_profiled,
                                               timeout=timeout, plan_summary=plan_summary(plan, plan_source)))
        _listen(app, sock, model_id, on_ready)
    finally:
        if service is not None:
            service.close()
        if isinstance(model, str):
            backend.close()
        sock.close()


def _listen(app, sock: socket.socket, model_id: str, on_ready: Callable[[str, str], None]) -> None:
    """Run uvicorn on the bound socket until stopped; ``on_ready`` hears the URL first."""
    import uvicorn

    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))
    on_ready(f"http://{shown}:{bound_port}/v1", model_id)
    server.run(sockets=[sock])


def _serve_many(plan: Plan, models: list, settings, sock: socket.socket, seed: int,
                on_ready: Callable[[str, str], None], app_settings: dict) -> None:
    """A cascade or mix served: one service per model (runner/chained_service.py); those the caller
    gave are used as given, the rest opened here (a cascade's later stage at its first escalation)
    and closed when the server stops."""
    from inferplan.runner.chained_service import ChainedService
    from inferplan.server.app import ServeSettings, build_app

    service = None
    try:
        service = ChainedService(plan, models, PlanOverrides(seed=seed), lambda spec: open_backend(spec, settings))
        model_id = " + ".join(c.label for c, _ in models)
        _listen(build_app(service, ServeSettings(model_id=model_id, **app_settings)), sock, model_id, on_ready)
    finally:
        if service is not None:
            service.close()
        sock.close()

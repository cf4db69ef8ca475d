"""`inferplan serve`: an OpenAI-compatible endpoint that answers every request by running a plan."""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer

from inferplan.api import PROMPTS, BackendSettings, prompts_for
from inferplan.cli import options as opt
from inferplan.errors import InputError

PROMPTS_OPTION = typer.Option(
    None, "--prompts",
    help="as-sent: messages and prompts go to the model as given; as-profiled: the question (the one user "
    "message, or the prompt) is asked with the plan's template, as its profile asked — the plan's "
    "prediction holds for these. Default: as-profiled when the plan's template is not a chat template, "
    "else as-sent. A request may choose with \"inferplan\": {\"prompts\": …}.", show_default=False)


@opt.backend_options("--upstream-api-key-env")
def serve(
    plan: str = typer.Option(..., "--plan", help="Plan file made by `inferplan plan`."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8080, "--port", help="Port to listen on (0: any free port, printed at start)."),
    api_key_env: Optional[str] = typer.Option(
        None, "--api-key-env", help="Environment variable holding a key that clients must send as a bearer token."),
    prompts: Optional[str] = PROMPTS_OPTION,
    request_timeout: float = typer.Option(600.0, "--request-timeout", help="Seconds a request may run (then 504)."),
    seed: int = typer.Option(0, "--seed", help="Seed of requests that send none (with their arrival number)."),
    total_budget: Optional[float] = typer.Option(
        None, "--total-budget", show_default=False, help="One hard budget over the requests, in the plan's unit: "
        "per --per window, or on average per request; each request's share adapts to its first samples' agreement."),
    per: Optional[str] = typer.Option(
        None, "--per", show_default=False, help="With --total-budget (refused without it): 'query' (the average per "
        "request, the default) or a window of wall clock (60, 60s, 5m, 1h) that the total holds in."),
    model: Optional[str] = opt.PLAN_MODEL,
    model_mismatch: str = opt.MODEL_MISMATCH,
    settings: BackendSettings = None,  # the shared backend options (cli.options.backend_options)
) -> None:
    """Serve PLAN over HTTP: /v1/chat/completions, /v1/completions, /v1/models, /health.

    Each request is answered by executing the plan — its temperature mix,
    stopping rule, token cap and aggregation — on the model; concurrent requests
    share the engine's batch. The reply is a normal completion whose text is a
    sample of the winning answer; its 'inferplan' field carries the answer, the
    votes, the samples drawn, the tokens and the rule's statistic.
    """
    from inferplan import api
    from inferplan.api import is_loopback

    if prompts is not None and prompts not in PROMPTS:
        raise InputError(f"--prompts must be one of {', '.join(PROMPTS)}, not {prompts!r}")
    key = None
    if api_key_env is not None:
        key = os.environ.get(api_key_env)
        if not key:
            raise InputError(f"--api-key-env {api_key_env}: that environment variable is empty or not set")
    the_plan = api.load_plan(plan)
    if not is_loopback(host) and key is None:
        print(f"inferplan serve: warning: listening on {host} without --api-key-env; anyone who can reach it "
              "can use the model", file=sys.stderr)

    mode = _prompts_mode(prompts, the_plan, plan)

    def ready(url: str, model_id: str) -> None:
        print(f"inferplan serve: {plan} on {url} (model {model_id}, prompts {mode}); Ctrl-C stops",
              file=sys.stderr, flush=True)

    api.serve(the_plan, model=model, host=host, port=port, api_key=key, as_profiled=mode == "as-profiled",
              timeout=request_timeout, seed=seed, plan_source=plan, on_ready=ready, model_mismatch=model_mismatch,
              settings=settings, total_budget=total_budget, per=per)


def _prompts_mode(prompts: str | None, the_plan, source: str) -> str:
    """--prompts, or the plan's default; a warning where as-sent defeats a non-chat template."""
    if prompts == "as-sent" and prompts_for(the_plan) == "as-profiled":
        print(f"inferplan serve: warning: {source} was profiled with the {the_plan.prompt.template} template, not "
              "chat; prompts sent as they are will not be asked the way its prediction assumes", file=sys.stderr)
    return prompts or prompts_for(the_plan)

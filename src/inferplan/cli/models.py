"""`inferplan models`: the embedded default model, or any GGUF file described."""

from __future__ import annotations

from typing import Optional

import typer


def models(
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="Describe this model (a .gguf path or 'smollm2') instead of listing the default."),
    json_out: bool = typer.Option(False, "--json", help="JSON on stdout."),
    no_hash: bool = typer.Option(False, "--no-hash", help="Skip the sha256 (computed once per file, then cached)."),
) -> None:
    """List the default model, or describe a GGUF file: architecture, parameters, quantisation, context, size, sha256."""
    from inferplan import api
    from inferplan.cli.render.models import render_models

    render_models(api.describe_models(model, with_hash=not no_hash), json_out)

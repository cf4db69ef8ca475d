"""`inferplan import boinf|osca|esc|lm-eval FILE -o PROFILE`: published or harness sample sets → profiles."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer


class ImportKind(str, Enum):
    boinf = "boinf"
    osca = "osca"
    esc = "esc"
    lm_eval = "lm-eval"


def import_cmd(
    kind: ImportKind = typer.Argument(
        ..., help="Format: boinf (Best-of-∞), osca (OSCA counts), esc (ESC texts) or lm-eval "
        "(lm-evaluation-harness --log_samples output: samples_<task>_<time>.jsonl)."),
    src: Path = typer.Argument(..., help="The published file."),
    out: Path = typer.Option(..., "--out", "-o", help="Profile file to write."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing profile made from another file."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result on stdout."),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="lm-eval: count tokens with this model's tokenizer (smollm2 or a .gguf)."),
    filter_name: Optional[str] = typer.Option(
        None, "--filter", help="lm-eval: the task's filter whose answers to import (default: the first)."),
) -> None:
    """Import a published sample set into the profile format (rerunning is a no-op)."""
    from inferplan import api
    from inferplan.cli.render.profile import render_import

    render_import(api.import_profile(kind.value, src, out=out, force=force, model=model, filter_name=filter_name),
                  as_json=as_json)

"""`inferplan import boinf|osca|esc|lm-eval FILE… -o PROFILE|DIR`: published or harness sample sets → profiles
(into a folder: one profile per model)."""

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
    src: list[Path] = typer.Argument(
        ..., help="The published file; boinf: several files of one benchmark (one model each, the same "
        "problems) import at once, one profile per file in the folder -o names; osca: into a folder, one "
        "profile per model."),
    out: Path = typer.Option(..., "--out", "-o", help="Profile file to write (a folder for several files, or an "
                             "existing folder: each profile named as its source; osca: <file>_<model>.jsonl)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing profile made from another file."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result on stdout."),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", help="lm-eval: count tokens with this model's tokenizer (smollm2 or a .gguf)."),
    filter_name: Optional[str] = typer.Option(
        None, "--filter", help="lm-eval: the task's filter whose answers to import (default: the first)."),
) -> None:
    """Import a published sample set into the profile format (rerunning is a no-op)."""
    from inferplan import api
    from inferplan.cli.render.imports import render_imports
    from inferplan.cli.render.profile import render_import

    if len(src) > 1 or out.is_dir():
        if model is not None or filter_name is not None:
            raise typer.BadParameter("--model and --filter go with `import lm-eval` of one file")
        render_imports(api.import_profiles(kind.value, src, out_dir=out, force=force), out, as_json=as_json)
        return
    render_import(api.import_profile(kind.value, src[0], out=out, force=force, model=model, filter_name=filter_name),
                  as_json=as_json)

"""`inferplan import boinf|osca|esc FILE -o PROFILE`: published sample sets → profiles."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer


class ImportKind(str, Enum):
    boinf = "boinf"
    osca = "osca"
    esc = "esc"


def register(app: typer.Typer) -> None:
    """Add the ``import`` command to the app."""

    @app.command("import")
    def import_cmd(
        kind: ImportKind = typer.Argument(..., help="Format: boinf (Best-of-∞), osca (OSCA counts) or esc (ESC texts)."),
        src: Path = typer.Argument(..., help="The published file."),
        out: Path = typer.Option(..., "--out", "-o", help="Profile file to write."),
        force: bool = typer.Option(False, "--force", help="Overwrite an existing profile made from another file."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable result on stdout."),
    ) -> None:
        """Import a published sample set into the profile format (rerunning is a no-op)."""
        from inferplan.cli.render.profile import render_import
        from inferplan import api

        render_import(api.import_profile(kind.value, src, out=out, force=force), as_json=as_json)

"""Rendering for `inferplan import boinf FILE… -o DIR`: one line per profile, then how to plan across them."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from inferplan.api import ImportResult
from inferplan.cli.render.common import out, print_json
from inferplan.cli.render.profile import render_import


def render_imports(results: tuple[ImportResult, ...], folder: Path, *, as_json: bool) -> None:
    """Each profile written, and the command that plans across them (they hold the same problems)."""
    if as_json:
        print_json({"profiles": [{**asdict(r), "path": str(r.path)} for r in results]})
        return
    for r in results:
        render_import(r, as_json=False)
    if len(results) > 1:
        out.print(f"{len(results)} profiles of the same {results[0].problems} problems: plan across them with "
                  f"`inferplan plan {folder / '*.jsonl'} --unit …`", highlight=False)

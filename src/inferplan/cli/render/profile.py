"""Rendering for `inferplan profile`, `profile show` and `import`."""

from __future__ import annotations

from dataclasses import asdict

from inferplan.cli.render.common import out, print_json
from inferplan.profiles.importers import ImportResult


def render_import(result: ImportResult, *, as_json: bool) -> None:
    """One summary line (or a JSON object) for an import."""
    if as_json:
        print_json({**asdict(result), "path": str(result.path)})
        return
    line = (f"wrote {result.path}: {result.problems} problems × {len(result.configs)} "
            f"configuration(s), {result.records} samples")
    if result.extracted is not None:
        line += f", answers extracted from {result.extracted} ({100 * result.extracted / max(1, result.records):.1f}%)"
    out.print(line, highlight=False)

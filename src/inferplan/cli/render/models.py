"""Rendering of `inferplan models`: a key/value panel per model, or JSON."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from inferplan.api import ModelEntry
from inferplan.cli.render.common import out, print_json


def _human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _human_params(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M"


def entry_json(e: ModelEntry) -> dict:
    g = e.gguf
    return {
        "alias": e.alias, "default": e.default, "available": e.available, "description": e.description,
        "path": g.path if g else None, "name": g.name if g else None,
        "architecture": g.architecture if g else None, "parameters": g.parameters if g else None,
        "quantization": g.quantization if g else None, "context_length": g.context_length if g else None,
        "size_bytes": g.size_bytes if g else None, "sha256": e.sha256,
        "chat_template": bool(g and g.chat_template), "problem": e.problem,
    }


def render_models(entries: list[ModelEntry], json_out: bool) -> None:
    if json_out:
        print_json([entry_json(e) for e in entries])
        return
    for e in entries:
        title = e.alias or (e.gguf.name if e.gguf else "model")
        table = Table(title=f"[bold]{escape(title)}[/bold]" + ("  (default)" if e.default else ""),
                      show_header=False, box=None, title_justify="left", pad_edge=False)
        table.add_column(style="dim", no_wrap=True)
        table.add_column(overflow="fold")  # paths and hashes wrap rather than being cut
        if e.description:
            table.add_row("description", escape(e.description))
        if not e.available:
            table.add_row("status", f"[yellow]{escape(e.problem or 'unavailable')}[/yellow]")
        g = e.gguf
        if g:
            table.add_row("path", escape(g.path))
            table.add_row("name", escape(g.name or "-"))
            table.add_row("architecture", escape(g.architecture or "-"))
            table.add_row("parameters", f"{_human_params(g.parameters)} ({g.parameters:,})")
            table.add_row("quantization", escape(g.quantization or "-"))
            table.add_row("context length", str(g.context_length or "-"))
            table.add_row("size", f"{_human_size(g.size_bytes)} ({g.size_bytes:,} bytes)")
            table.add_row("chat template", "yes" if g.chat_template else "no (ChatML fallback)")
            if e.sha256:
                table.add_row("sha256", e.sha256)
        out.print(table)

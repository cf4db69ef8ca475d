"""Reading user-supplied JSONL files: one JSON value a line, errors that name FILE:LINE."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterator

from inferplan.errors import InputError


def read_json_lines(path: str | Path, *, what: str = "file") -> Iterator[tuple[str, int, object]]:
    """(``FILE:LINE``, line number, parsed value) of every non-blank line.

    A missing or unreadable file, or a line that is not JSON, is an InputError
    naming the place; checking the values' shape is the caller's job.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path}: {e}") from None
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{line_no}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{where}: not valid JSON ({e.msg})") from None
        yield where, line_no, value


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become null, tuples become lists, numpy scalars plain."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(obj: Any) -> str:
    """Compact, deterministic JSON of a result."""
    return json.dumps(_clean(obj), ensure_ascii=False, sort_keys=False, separators=(",", ":"))

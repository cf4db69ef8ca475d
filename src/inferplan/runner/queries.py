"""Queries for ``inferplan run``: from arguments, stdin lines, or a tasks-like JSONL file.

A JSONL line is an object with an optional ``id`` and one of ``prompt``,
``messages`` (a list of {role, content}), ``input`` or ``question`` (the common
field names of published task sets). Other fields (``answer``, ``target`` …) are
ignored here. A bad line is reported as ``FILE:LINE: reason``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from inferplan._util.jsonl import read_json_lines
from inferplan.errors import InputError

_TEXT_FIELDS = ("prompt", "input", "question")


@dataclass(frozen=True)
class Query:
    """One question: exactly one of ``prompt`` (text) or ``messages`` (chat turns)."""

    id: str | int
    prompt: str | None = None
    messages: tuple[dict, ...] | None = None


def queries_from_texts(texts: Iterable[str]) -> list[Query]:
    """Prompts given as plain strings → queries with ids 1, 2, …; empty ones are an error."""
    queries = []
    for i, text in enumerate(texts, start=1):
        if not text.strip():
            raise InputError(f"prompt {i} is empty")
        queries.append(Query(id=i, prompt=text))
    return queries


def queries_from_stdin_lines(lines: Iterable[str]) -> list[Query]:
    """One prompt per non-blank line of stdin (blank lines are skipped).

    When the first line is a JSON object (or every line starts like one and some are), stdin is
    read as a JSONL query file (``cat q.jsonl | inferplan run -``), so a query's text is never
    its JSON: a line there that does not parse is malformed JSON, named by its line number on
    stdin (blank lines counted), and a mix of JSON objects and plain prompts is refused.
    """
    numbered = [(n, line.rstrip("\n")) for n, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise InputError("no prompts on stdin (one prompt per line)")
    objects = [(n, _json_object(t)) for n, t in numbered]
    jsonl = any(o is not None for _, o in objects) and (
        objects[0][1] is not None or all(t.lstrip().startswith("{") for _, t in numbered))
    if jsonl:
        for (n, obj), (_, text) in zip(objects, numbered):
            if obj is None:
                _refuse_in_jsonl(n, text)
        return _unique([(f"stdin:{n}", _query_from_obj(o, f"stdin:{n}", i))
                        for i, (n, o) in enumerate(objects, start=1)])
    line = next((n for n, o in objects if o is not None), None)
    if line is not None:
        raise InputError(f"stdin:{line}: a JSON object among plain-text prompts; give JSONL queries on every "
                         "line (or use --input FILE), or plain prompts only")
    return queries_from_texts(t for _, t in numbered)


def _refuse_in_jsonl(line: int, text: str) -> None:
    """The error for a line of JSONL on stdin that is not a JSON object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        if text.lstrip().startswith(("{", "[", '"')):
            raise InputError(f"stdin:{line}: malformed JSON ({e.msg} at column {e.colno})") from None
        raise InputError(f"stdin:{line}: a plain-text prompt among JSONL queries; give JSONL queries on every "
                         "line (or use --input FILE), or plain prompts only") from None
    raise InputError(f"stdin:{line}: expected a JSON object, got {type(value).__name__}")


def _json_object(text: str) -> dict | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _unique(placed: list[tuple[str, Query]]) -> list[Query]:
    """The queries, after checking that no id repeats (the error names the line that repeats it)."""
    seen: set = set()
    for where, q in placed:
        if q.id in seen:
            raise InputError(f"{where}: duplicate id {q.id!r}")
        seen.add(q.id)
    return [q for _, q in placed]


def _query_from_obj(obj: object, where: str, line_no: int) -> Query:
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    qid = obj.get("id", line_no)
    if not isinstance(qid, (str, int)) or isinstance(qid, bool):
        raise InputError(f"{where}: 'id' must be a string or an integer")
    if "messages" in obj:
        msgs = obj["messages"]
        ok = isinstance(msgs, list) and msgs and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in msgs
        )
        if not ok:
            raise InputError(f"{where}: 'messages' must be a non-empty list of {{role, content}} strings")
        return Query(id=qid, messages=tuple({"role": m["role"], "content": m["content"]} for m in msgs))
    for name in _TEXT_FIELDS:
        if name in obj:
            text = obj[name]
            if not isinstance(text, str):
                raise InputError(f"{where}: '{name}' must be a string")
            if not text.strip():
                raise InputError(f"{where}: empty prompt")
            return Query(id=qid, prompt=text)
    raise InputError(f"{where}: needs one of 'prompt', 'messages', 'input' or 'question'")


def read_queries(path: str | Path) -> list[Query]:
    """Queries of a JSONL file; blank lines are skipped, ids must be unique."""
    queries = _unique([(where, _query_from_obj(obj, where, line_no))
                       for where, line_no, obj in read_json_lines(path, what="input file")])
    if not queries:
        raise InputError(f"{path}: no queries")
    return queries


def as_queries(queries: str | Path | Sequence[str | dict | Query]) -> list[Query]:
    """Queries from a JSONL path, or a list of prompt strings, query dicts or :class:`Query` objects."""
    if isinstance(queries, (str, Path)):
        return read_queries(queries)
    out: list[Query] = []
    for i, q in enumerate(queries, start=1):
        if isinstance(q, Query):
            out.append(q)
        elif isinstance(q, str):
            if not q.strip():
                raise InputError(f"query {i} is empty")
            out.append(Query(id=i, prompt=q))
        else:
            out.append(_query_from_obj(q, f"query {i}", i))
    if not out:
        raise InputError("no queries to run")
    return out

"""What every importer shares: reading a JSONL of objects, and the profile record of one published sample."""

from __future__ import annotations

from pathlib import Path

from inferplan._util.jsonl import read_json_lines
from inferplan.errors import InputError


def read_objects(src: Path) -> list[dict]:
    """Every line of a JSONL file, each a JSON object; one clear line on the first that is not."""
    rows = []
    for where, _, row in read_json_lines(src):
        if not isinstance(row, dict):
            raise InputError(f"{where}: expected a JSON object")
        rows.append(row)
    if not rows:
        raise InputError(f"{src}: no records")
    return rows


def sample_record(problem: str, config: str, index: int, answer: str | None, correct: bool,
                  completion_tokens: int | None = None, text: str | None = None) -> dict:
    """A profile record of a published sample: no seed, prompt tokens, timing or logprob."""
    rec = {
        "problem": problem, "config": config, "index": index, "seed": None, "answer": answer,
        "correct": correct, "completion_tokens": completion_tokens, "prompt_tokens": None,
        "seconds": None, "logprob": None, "finish": None,
    }
    if text is not None:
        rec["text"] = text
    return rec

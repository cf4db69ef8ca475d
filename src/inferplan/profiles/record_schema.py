"""The schema of one profile sample line: what each field may hold, checked on read.

A profile is JSONL the user can edit, merge or truncate, so every field a reader uses
is checked for its type and range here and a bad line is one input error naming the
file, never a traceback deep in the table code.
"""

from __future__ import annotations

import json

from inferplan.errors import InputError
from inferplan.profiles.probes import record_probes

INDEX_MAX = 2**31 - 1  # indices are stored as int32
# In the table's column order; conf_* are the windowed confidences (backends/confidence.py).
NUMERIC = ("completion_tokens", "prompt_tokens", "seconds", "logprob", "conf_low", "conf_tail")


def number(v: object, field: str, where: str) -> float:
    """A record's numeric field: a JSON number, or null for unknown."""
    if v is None:
        return float("nan")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"{where}: {field} must be a number or null, not {json.dumps(v)[:40]}")
    try:
        return float(v)
    except OverflowError:
        raise InputError(f"{where}: {field} is out of range") from None


def record_key(rec: object, where: str) -> tuple[str, str, int]:
    """(problem, config, index) of a record, checked: the schema of every sample line."""
    if not isinstance(rec, dict):
        raise InputError(f"{where}: a record must be a JSON object, not {json.dumps(rec)[:40]}")
    pid, cname, index = rec.get("problem"), rec.get("config"), rec.get("index")
    if not isinstance(pid, (str, int)) or isinstance(pid, bool) or not isinstance(cname, str):
        raise InputError(f"{where}: record without problem/config/index: {json.dumps(rec)[:80]}")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= INDEX_MAX:
        raise InputError(f"{where}: index must be an integer in 0…{INDEX_MAX}, not {json.dumps(index)[:40]}")
    for field in ("answer", "text", "finish"):
        if rec.get(field) is not None and not isinstance(rec[field], str):
            raise InputError(f"{where}: {field} must be a string or null, not {json.dumps(rec[field])[:40]}")
    return str(pid), cname, index


def confidence_lows(value: object) -> tuple[tuple[int, float], ...] | None:
    """A record's ``conf_lows`` as (tokens, mean) pairs; None when absent or malformed."""
    if not isinstance(value, list):
        return None
    try:
        return tuple((int(n), float(v)) for n, v in value)
    except (TypeError, ValueError):
        return None


def record_row(rec: dict, answers: dict[str, int], where: str, with_text: bool, probed: bool) -> tuple:
    """A record as the table's row: (answer id, correct, the NUMERIC fields, text, cut at the cap,
    confidence lows, forced answers). ``answers`` maps the problem's answer strings to ids.

    A sample made to answer at the cap (finish "forced") is the plain view here: cut at the cap,
    it abstains and cost its thinking tokens; its forced answer is among the forced answers."""
    forced = rec.get("finish") == "forced"
    ans = None if forced else rec.get("answer")
    a = -1 if ans is None else answers.setdefault(str(ans), len(answers))
    nums = [number(rec.get(f), f, where) for f in NUMERIC]
    if forced and rec.get("thinking_tokens") is not None:
        nums[0] = number(rec["thinking_tokens"], "thinking_tokens", where)
    return (a, bool(rec.get("correct")) and not forced, *nums, rec.get("text") if with_text else None,
            rec.get("finish") in ("length", "forced"), confidence_lows(rec.get("conf_lows")),
            record_probes(rec, where) if probed else ())

"""What kind of file a profile reader was given: the ``format`` field, and a clear word when it is missing.

Files of other kinds reach ``fit``, ``plan`` and ``simulate`` by mistake, most often the
two a profile is made from: a task file (problems to profile a model on) and an
lm-evaluation-harness samples file (to import). The error says which it looks like and
the command that makes a profile of it.
"""

from __future__ import annotations

import json
from pathlib import Path

from inferplan.errors import InputError

FORMAT_NAME, FORMAT_MAJOR = "inferplan.profile", 1
FORMAT = f"{FORMAT_NAME}/{FORMAT_MAJOR}"

_TASK_FIELDS = ("prompt", "input", "question", "problem")  # as tasks.taskset reads a task's text


def check_format(value: object, name: str, major: int, path: Path | str) -> None:
    """Reject files of another kind or an unknown major version, clearly."""
    if not isinstance(value, str) or "/" not in value:
        raise InputError(f"{path}: not an {name} file (no \"format\" field)")
    kind, _, version = value.partition("/")
    if kind != name:
        raise InputError(f"{path}: expected an {name} file, found {kind!r}")
    try:
        found_major = int(version.split(".")[0])
    except ValueError:
        raise InputError(f"{path}: unreadable format version {version!r}") from None
    if found_major != major:
        raise InputError(f"{path}: {name} version {version} is not supported (this inferplan reads version {major})")


def not_a_profile(first: dict, path: Path | str) -> str:
    """The one-line error for a JSON file without a profile header, from its first object."""
    if "doc_id" in first and ("resps" in first or "filtered_resps" in first):
        return (f"{path}: an lm-evaluation-harness samples file, not a profile; "
                f"convert it first: inferplan import lm-eval {path} -o PROFILE.jsonl")
    if any(k in first for k in _TASK_FIELDS):
        return (f"{path}: a task file (problems, not sampled answers), not a profile; "
                f"make a profile from it: inferplan profile --tasks {path} -o PROFILE.jsonl")
    return (f"{path}: not an inferplan profile (no \"format\" field); make one with inferplan profile, "
            "or convert published samples with inferplan import")


def check_profile_header(header: dict, path: Path | str) -> None:
    """InputError (exit 3) unless ``header`` is a profile header of a version this inferplan reads."""
    if "format" not in header:
        raise InputError(not_a_profile(header, path))
    check_format(header.get("format"), FORMAT_NAME, FORMAT_MAJOR, path)


def is_profile(path: Path) -> bool:
    """Ownership test: empty, or a first line that is a JSON header of some version of the profile format."""
    try:
        with path.open("rb") as f:
            first = f.readline()
        header = json.loads(first) if first else {"format": FORMAT}
    except (OSError, ValueError):
        return False
    return isinstance(header, dict) and str(header.get("format", "")).startswith(FORMAT_NAME + "/")

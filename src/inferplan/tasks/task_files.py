"""Task files in the formats people have: JSONL, CSV, Parquet, Arrow, a Hugging Face
``datasets`` directory (``save_to_disk``) and the local Hugging Face hub cache.

A task spec is a path or ``hf:OWNER/NAME``, optionally followed by ``#`` and
comma-separated options: ``split=NAME`` and ``config=NAME`` choose a part of a
dataset (default split ``test`` when there is one, else the only one), and
``FIELD=COLUMN`` maps a column to a task field (``question=problem,answer=solution``).
The options are part of the spec, so a profile and its plans reload exactly the
same tasks. Nothing is ever downloaded: a dataset missing from the cache is one
clear error that says how to get it.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Iterator

from inferplan._util.jsonl import read_json_lines
from inferplan.errors import DependencyError, InputError

FIELDS = ("id", "prompt", "question", "input", "messages", "answer", "target", "grader", "test", "tests",
          "entry_point")
_DATA_SUFFIXES = (".parquet", ".jsonl", ".json", ".csv", ".arrow")
Rows = list[tuple[str, dict]]  # (where, row) — ``where`` names the row in error messages


def split_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``PATH#k=v,…`` → (PATH, {k: v}); unknown option names are refused."""
    location, _, rest = spec.partition("#")
    options: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not value:
            raise InputError(f"{spec}: task option {item!r} is not NAME=VALUE")
        if key not in FIELDS and key not in ("split", "config"):
            raise InputError(f"{spec}: unknown task option {key!r} (split, config, or a field: {', '.join(FIELDS)})")
        options[key] = value
    return location, options


def map_fields(row: dict, options: dict[str, str], where: str) -> dict:
    """The row with mapped columns renamed to their task fields."""
    mapping = {field: column for field, column in options.items() if field in FIELDS}
    if not mapping:
        return row
    missing = [column for column in mapping.values() if column not in row]
    if missing:
        raise InputError(f"{where}: no column {', '.join(map(repr, missing))} (columns: {', '.join(row)})")
    renamed = {k: v for k, v in row.items() if k not in mapping.values() and k not in mapping}
    renamed.update({field: row[column] for field, column in mapping.items()})
    return renamed


def read_rows(location: str, options: dict[str, str]) -> Rows:
    """Every row of a task source, in file order."""
    if location.startswith("hf:"):
        return _files_rows(_hub_files(location[3:], options), location)
    path = Path(location).expanduser()
    if path.is_dir():
        return _files_rows(_saved_dataset_files(path, options), location)
    if not path.is_file():
        raise InputError(f"{path}: no such task file")
    return _file_rows(path)


def _file_rows(path: Path) -> Rows:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            return [(f"{path}:{n}", dict(row)) for n, row in enumerate(csv.DictReader(f), start=2)]
    if suffix in (".parquet", ".arrow", ".feather"):
        return [(f"{path}: row {n}", row) for n, row in enumerate(_arrow_rows(path, suffix), start=1)]
    return [(where, row) for where, _, row in read_json_lines(path, what="task file")]


def _files_rows(files: list[Path], name: str) -> Rows:
    rows: Rows = []
    for f in files:
        rows.extend(_file_rows(f))
    if not rows:
        raise InputError(f"{name}: the dataset has no rows")
    return rows


def _arrow_rows(path: Path, suffix: str) -> Iterator[dict]:
    try:
        import pyarrow.ipc as ipc
        import pyarrow.parquet as pq
    except ImportError:
        raise DependencyError(f"{path.name}: reading {suffix} files needs pyarrow: pip install pyarrow") from None
    try:
        if suffix == ".parquet":
            table = pq.read_table(path)
        else:  # datasets writes the IPC stream format; Feather/Arrow files use the file format
            with path.open("rb") as f:
                head = f.read(6)
            reader = ipc.open_file(path) if head == b"ARROW1" else ipc.open_stream(path)
            table = reader.read_all()
    except (OSError, ValueError) as e:  # pyarrow's errors derive from these
        raise InputError(f"{path}: not a readable {suffix} file ({e})") from None
    yield from table.to_pylist()


def _saved_dataset_files(root: Path, options: dict[str, str]) -> list[Path]:
    """The Arrow files of a ``save_to_disk`` directory (a Dataset, or one split of a DatasetDict)."""
    splits_file = root / "dataset_dict.json"
    if splits_file.is_file():
        splits = list(json.loads(splits_file.read_text()).get("splits") or ())
        root = root / _choose("split", splits, options.get("split"), str(root))
    state = root / "state.json"
    if not state.is_file():
        raise InputError(f"{root}: not a task file or a Hugging Face dataset saved with save_to_disk "
                         "(no state.json or dataset_dict.json)")
    names = [f["filename"] for f in json.loads(state.read_text()).get("_data_files") or ()]
    return [root / n for n in names]


def hub_cache() -> Path:
    """Where huggingface_hub keeps downloads (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or Path("~/.cache/huggingface").expanduser()
    return Path(home) / "hub"


def _hub_files(repo: str, options: dict[str, str]) -> list[Path]:
    """The data files of one config and split of a dataset in the local hub cache."""
    cache = hub_cache()
    snapshots = cache / f"datasets--{repo.replace('/', '--')}" / "snapshots"
    revisions = sorted(snapshots.glob("*"), key=lambda p: p.stat().st_mtime) if snapshots.is_dir() else []
    if not revisions:
        raise InputError(f"hf:{repo} is not in the local Hugging Face cache ({cache}); inferplan never downloads "
                         f"at run time: fetch it once (huggingface-cli download --repo-type dataset {repo}) or pass "
                         "a file or a save_to_disk directory")
    snapshot = revisions[-1]
    parts: dict[tuple[str, str], list[Path]] = {}
    for f in sorted(snapshot.rglob("*")):
        if f.suffix.lower() not in _DATA_SUFFIXES or not f.is_file():
            continue
        rel = f.relative_to(snapshot).parts
        config = rel[0] if len(rel) > 1 and rel[0] != "data" else "default"
        split = f.name.split("-")[0].split(".")[0]
        parts.setdefault((config, split), []).append(f)
    configs = sorted({c for c, _ in parts})
    config = _choose("config", configs, options.get("config"), f"hf:{repo}")
    splits = sorted({s for c, s in parts if c == config})
    return parts[(config, _choose("split", splits, options.get("split"), f"hf:{repo}"))]


def _choose(kind: str, available: list[str], wanted: str | None, where: str) -> str:
    if wanted is not None:
        if wanted not in available:
            raise InputError(f"{where}: no {kind} {wanted!r} (it has {', '.join(available) or 'none'})")
        return wanted
    if kind == "split" and "test" in available:
        return "test"
    if len(available) == 1:
        return available[0]
    raise InputError(f"{where}: choose a {kind} with '#{kind}=NAME' (it has {', '.join(available) or 'none'})")

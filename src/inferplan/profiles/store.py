"""The profile file: a versioned header line, then one JSON line per sample.

Append-only and flushed per batch, so a killed run loses at most the batch in
flight; a torn last line (the process died mid-write) is dropped on read and
truncated away before appending, and records are keyed by
(problem, config, index) so a resumed run never duplicates one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from inferplan._util.files import WriterLock, check_replaceable, new_file_mode
from inferplan.errors import ConflictError, InputError
from inferplan.profiles.format import (  # noqa: F401  (check_format, FORMAT*: imported from here too)
    FORMAT,
    FORMAT_MAJOR,
    FORMAT_NAME,
    check_format,
    check_profile_header,
    is_profile,
)
from inferplan.profiles.header import ConfigSpec, ProfileHeader
from inferplan.profiles.probes import ProbeColumns, pack_probes, probe_depths
from inferplan.profiles.record_schema import NUMERIC, record_key, record_row

# Fields of one sample line; ``text`` is optional.
RECORD_FIELDS = (
    "problem", "config", "index", "seed", "answer", "correct", "completion_tokens",
    "prompt_tokens", "seconds", "logprob", "finish",
)


def _read_lines(path: Path) -> tuple[list[str], int]:
    """Complete lines of ``path`` and the byte length they span (drops a torn tail)."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    try:
        return data[:end].decode("utf-8").splitlines(), end
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte {e.start}); not a profile") from None


@dataclass(frozen=True)
class SampleTable:
    """All samples of a profile as parallel numpy arrays (fast to replay).

    ``answer`` holds per-problem answer ids (−1 = no answer extracted); the
    strings are in ``answer_names[problem][id]``.
    """

    header: ProfileHeader
    problems: tuple[str, ...]
    configs: tuple[ConfigSpec, ...]
    problem: np.ndarray  # int32 index into problems
    config: np.ndarray  # int32 index into configs
    index: np.ndarray  # int32 sample index within (problem, config)
    answer: np.ndarray  # int32 answer id within the problem, −1 = none
    correct: np.ndarray  # bool
    completion_tokens: np.ndarray  # float64 (nan where unknown)
    prompt_tokens: np.ndarray  # float64 (nan where unknown)
    seconds: np.ndarray  # float64 (nan where unknown)
    logprob: np.ndarray  # float64 (nan where unknown)
    answer_names: tuple[tuple[str, ...], ...]
    texts: tuple[str | None, ...] | None = None
    duplicates: int = 0  # records whose key an earlier record already had (the later one is kept)
    truncated: np.ndarray | None = None  # bool: the sample hit its token cap (finish "length")
    # Windowed confidence (lowest / tail window mean token logprob; nan where unknown).
    conf_low: np.ndarray | None = None
    conf_tail: np.ndarray | None = None
    # Some samples were allocated adaptively (``profile --strategy adaptive``): problems
    # hold unequal counts by design, the settled ones fewest (see replay.traces.draw).
    adaptive: bool = False
    # Per sample, the window mean's successive lows ((tokens, mean) pairs; None unrecorded):
    # where online low-confidence termination would have cut it (backends/confidence.py).
    conf_lows: tuple[tuple[tuple[int, float], ...] | None, ...] | None = None
    # Forced answers per (sample, depth) where the profile recorded them (``--probes``); the
    # columns above are the plain view, where a sample cut at the cap abstains.
    probes: ProbeColumns | None = None

    @property
    def n_samples(self) -> int:
        return int(self.problem.shape[0])

    def config_index(self, name: str) -> int:
        for i, c in enumerate(self.configs):
            if c.name == name:
                return i
        raise InputError(f"no configuration {name!r} in profile (have {', '.join(c.name for c in self.configs)})")

    def split(self) -> dict | None:
        """The profile's own train/test split of problem ids, if it has one."""
        return self.header.split


def read_header(path: Path | str) -> dict:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such profile")
    with path.open("rb") as f:
        first = f.readline()
    try:
        header = json.loads(first)
    except ValueError:  # broken JSON, or bytes that are not UTF-8
        raise InputError(f"{path}: line 1 is not a JSON profile header") from None
    if not isinstance(header, dict):
        raise InputError(f"{path}: line 1 is not a JSON profile header")
    check_profile_header(header, path)
    return header


def iter_records(path: Path | str) -> Iterator[dict]:
    """Sample records of a profile (header skipped, torn last line dropped)."""
    path = Path(path)
    read_header(path)
    lines, _ = _read_lines(path)
    # One json.loads per chunk of lines, parsed as a JSON array, saves the per-call
    # overhead of one per line (loading a 40,000-sample profile: 0.40 → 0.26 s). A chunk
    # that fails, or yields a different number of values (a line holding "1, 2"), is
    # re-read line by line, which names the broken line.
    for start in range(1, len(lines), _CHUNK):
        chunk = [(n, line) for n, line in enumerate(lines[start:start + _CHUNK], start=start + 1) if line.strip()]
        try:
            records = json.loads("[" + ",".join(line for _, line in chunk) + "]")
        except json.JSONDecodeError:
            records = None
        if records is None or len(records) != len(chunk):
            records = []
            for n, line in chunk:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    raise InputError(f"{path}:{n}: broken record line") from None
                records.append(rec)
        yield from records


_CHUNK = 4096  # record lines parsed per json.loads call


def load_profile(path: Path | str, *, with_text: bool = False) -> SampleTable:
    """Read a profile into a :class:`SampleTable` (later duplicates of a key win)."""
    path = Path(path)
    header = ProfileHeader.parse(read_header(path), path)
    configs = header.configs
    config_ix = {c.name: i for i, c in enumerate(configs)}
    problem_ix: dict[str, int] = {}
    for p in header.problem_ids:
        problem_ix.setdefault(p, len(problem_ix))
    answers: list[dict[str, int]] = [{} for _ in problem_ix]
    rows: dict[tuple[int, int, int], tuple] = {}
    duplicates = 0
    adaptive = False
    where = str(path)
    depths = probe_depths(header.raw)
    for rec in iter_records(path):
        adaptive = adaptive or str(rec.get("alloc", "")).startswith("adaptive")
        pid, cname, index = record_key(rec, where)
        if cname not in config_ix:
            raise InputError(f"{path}: record names unknown configuration {cname!r}")
        p = problem_ix.setdefault(pid, len(problem_ix))
        if p == len(answers):
            answers.append({})
        key = (p, config_ix[cname], index)
        duplicates += key in rows
        rows[key] = record_row(rec, answers[p], where, with_text, bool(depths))
    keys = sorted(rows)
    width = 6 + len(NUMERIC)  # answer, correct, the numbers, text, truncated, lows, forced answers
    cols = list(zip(*(rows[k] for k in keys))) if keys else [()] * width
    num = {f: np.array(cols[2 + i], dtype=np.float64) for i, f in enumerate(NUMERIC)}
    probes = pack_probes(depths, [(k[0], f) for k, f in zip(keys, cols[-1])], answers) if depths else None
    key_arr = np.array(keys, dtype=np.int32).reshape(-1, 3)
    return SampleTable(
        header=header,
        problems=tuple(problem_ix),
        configs=configs,
        problem=key_arr[:, 0].copy(),
        config=key_arr[:, 1].copy(),
        index=key_arr[:, 2].copy(),
        answer=np.array(cols[0], dtype=np.int32),
        correct=np.array(cols[1], dtype=bool),
        **num,
        answer_names=tuple(tuple(a) for a in answers),
        texts=tuple(cols[-4]) if with_text else None,
        duplicates=duplicates,
        truncated=np.array(cols[-3], dtype=bool),
        conf_lows=tuple(cols[-2]) if any(x is not None for x in cols[-2]) else None,
        adaptive=adaptive,
        probes=probes,
    )


def check_profile_output(path: Path | str, *, force: bool = False) -> None:
    """Refuse (exit 7) a file that is not a profile (unless ``force``) or a place that cannot be
    written: call before loading the model."""
    check_replaceable(Path(path), is_profile, "profile", force)


# Header keys that must match for a rerun to resume an existing profile.
IDENTITY_KEYS = ("model", "backend", "tasks", "grader", "prompt_template", "max_tokens", "forcing", "configs", "seed")


def _identity(header: dict) -> dict:
    ident = {k: header.get(k) for k in IDENTITY_KEYS}
    backend = dict(ident.get("backend") or {})
    backend.pop("device", None)  # the same profile may be continued on another device
    # Descriptive facts added to headers later; a profile made before them still resumes.
    backend.pop("supports_shared_prefix", None)
    ident["backend"] = backend
    model = ident.get("model")
    if isinstance(model, dict):
        ident["model"] = {k: v for k, v in model.items() if k != "parameters"}
    return json.loads(json.dumps(ident, sort_keys=True))


class ProfileWriter:
    """Append sample records to a profile, resuming one made with the same settings.

    Use as a context manager. ``done`` holds the (problem, config, index) keys
    already on disk, so callers schedule only the missing samples.
    """

    def __init__(self, path: Path | str, header: dict, *, force: bool = False) -> None:
        self.path = Path(path)
        self.header = {"format": FORMAT, **{k: v for k, v in header.items() if k != "format"}}
        self.done: set[tuple[str, str, int]] = set()
        self._lock = WriterLock(self.path)  # before reading what is done: nobody else appends meanwhile
        try:
            self._open(force)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, force: bool) -> None:
        check_profile_output(self.path, force=force)
        if self.path.exists() and self.path.stat().st_size > 0 and not force:
            self._resume()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            mode = new_file_mode(self.path)  # a replaced profile keeps its mode
            tmp.write_text(json.dumps(self.header) + "\n", encoding="utf-8")
            os.chmod(tmp, mode)
            os.replace(tmp, self.path)  # a half-written header never replaces a good file
        self._file = self.path.open("ab")

    def _resume(self) -> None:
        old = read_header(self.path)
        mine, theirs = _identity(self.header), _identity(old)
        if mine != theirs:
            diff = sorted(k for k in mine if mine[k] != theirs.get(k))
            raise ConflictError(
                f"{self.path} was made with different {', '.join(diff)}; "
                "use another -o file, or --force to start over"
            )
        self.header = old
        _, good = _read_lines(self.path)
        if good < self.path.stat().st_size:  # drop a torn line left by a kill
            with self.path.open("r+b") as f:
                f.truncate(good)
        for rec in iter_records(self.path):
            self.done.add((str(rec["problem"]), str(rec["config"]), int(rec["index"])))

    def write(self, records: Iterable[dict]) -> None:
        """Append a batch of records and flush them to disk (skips keys already written)."""
        buf = []
        for rec in records:
            key = (str(rec["problem"]), str(rec["config"]), int(rec["index"]))
            if key in self.done:
                continue
            self.done.add(key)
            buf.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        if buf:
            self._file.write("".join(buf).encode("utf-8"))
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()
        self._lock.release()

    def __enter__(self) -> ProfileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

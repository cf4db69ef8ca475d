"""The record of a run under one total (``run --total-budget X -o FILE``), so that it resumes.

Append-only JSONL, as a profile is: a header line (format, the plan's and the queries' hashes,
the unit, the per-sample cap, the seed), then one line per event, flushed and synced before the
run goes on:

- ``{"start": [Q, K]}`` before sample K of query Q (its position in the input) is submitted;
- ``{"sample": [Q, K], "id": …, "answer": …, "tokens": …, "finish": …, "cost": …}`` once it is in.

A kill -9 loses at most the samples in flight. On resume a started sample with no ``sample`` line
is charged the cap (``max_tokens`` in the unit, or one sample): it may have generated that much before the
kill, so the spend recorded is never below what was really generated, and the total still holds.
Every finished sample is kept and fed back to the allocator in the order it came, and its
(query, index) is never drawn again, so no answered sample is lost or repeated. A torn last line
(the process died mid-write) is dropped and truncated away; ``PATH.lock`` keeps a second writer out.
A rerun may name another total (a larger one spends only the difference).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from inferplan._util.files import WriterLock, check_replaceable, new_file_mode
from inferplan.errors import ConflictError, InputError
from inferplan.planner.plan_file import Plan
from inferplan.runner.queries import Query

FORMAT = "inferplan.total-run/1"
IDENTITY = ("plan_sha256", "queries_sha256", "unit", "cap", "seed")


def _sha(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def journal_header(plan: Plan, queries: Sequence[Query], *, unit: str, cap: float, seed: int, max_samples: int,
                   system: str | None) -> dict:
    """What a journal must match to be resumed by this run."""
    return {"format": FORMAT, "plan_sha256": _sha([plan.to_json(), max_samples, system]),
            "queries_sha256": _sha([[str(q.id), q.prompt, list(q.messages or ())] for q in queries]),
            "queries": len(queries), "unit": unit, "cap": cap, "seed": seed}


def _is_journal(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = json.loads(f.readline())
    except (OSError, ValueError):
        return False
    return isinstance(head, dict) and head.get("format") == FORMAT


@dataclass
class Resumed:
    """What a journal holds: finished samples in the order they came, and the spend so far."""

    samples: list[dict] = field(default_factory=list)  # the ``sample`` records
    drawn: dict[int, int] = field(default_factory=dict)  # query → samples started (next index)
    orphans: int = 0  # started, never finished: charged the cap
    spent: float = 0.0


class TotalJournal:
    """Append the events of a run under one total to ``path``, resuming a matching one."""

    def __init__(self, path: Path | str, header: dict, *, force: bool = False) -> None:
        self.path = Path(path)
        self.header = header
        self.resumed = Resumed()
        self._lock = WriterLock(self.path)  # before reading: nobody else appends meanwhile
        try:
            check_replaceable(self.path, _is_journal, "total-budget run record", force)
            if self.path.exists() and self.path.stat().st_size > 0 and not force:
                self._resume()
            else:
                self._create()
            self._file = self.path.open("ab")
        except BaseException:
            self._lock.release()
            raise

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        mode = new_file_mode(self.path)
        tmp.write_text(json.dumps(self.header) + "\n", encoding="utf-8")
        os.chmod(tmp, mode)
        os.replace(tmp, self.path)

    def _resume(self) -> None:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a torn last line left by a kill
            with self.path.open("r+b") as f:
                f.truncate(end)
        lines = data[:end].decode("utf-8", errors="replace").splitlines()
        old = json.loads(lines[0])
        diff = [k for k in IDENTITY if old.get(k) != self.header.get(k)]
        if diff:
            raise ConflictError(f"{self.path} records a run with different {', '.join(diff)}; "
                                "use another -o file, or --force to start over")
        started: set[tuple[int, int]] = set()
        r = self.resumed
        for n, line in enumerate(lines[1:], start=2):
            try:
                rec = json.loads(line)
                key = tuple(rec.get("start") or rec["sample"])
            except (ValueError, KeyError, TypeError):
                raise InputError(f"{self.path}:{n}: broken record line") from None
            if "start" in rec:
                started.add(key)
                r.drawn[key[0]] = max(r.drawn.get(key[0], 0), key[1] + 1)
            elif key in started:
                started.discard(key)
                r.samples.append(rec)
                r.spent += float(rec["cost"])
        r.orphans = len(started)
        r.spent += r.orphans * float(self.header["cap"])

    def _append(self, records: list[dict]) -> None:
        self._file.write("".join(json.dumps(x, ensure_ascii=False, separators=(",", ":")) + "\n"
                                 for x in records).encode("utf-8"))
        self._file.flush()
        os.fsync(self._file.fileno())

    def started(self, keys: Sequence[tuple[int, int]]) -> None:
        """Before these samples are submitted."""
        self._append([{"start": list(k)} for k in keys])

    def finished(self, key: tuple[int, int], qid: str | int, answer: str | None, tokens: int, finish: str,
                 cost: float) -> None:
        self._append([{"sample": list(key), "id": qid, "answer": answer, "tokens": tokens, "finish": finish,
                       "cost": cost}])

    def close(self) -> None:
        self._file.close()
        self._lock.release()

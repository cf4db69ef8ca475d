"""Published sample sets → inferplan profiles, so every later command works on them.

Three formats (see REFERENCE.md §6):

- ``boinf`` — Best-of-∞ analysis files: one JSON line per problem with ``all_answers``
  (``[answer, completion_tokens]`` pairs, already extracted), ``gold_answer`` and the
  file's own ``majority_answer``. ``correct`` is exact string equality with the gold
  answer, as the file itself grades; an empty answer counts as no answer.
- ``osca`` — OSCA's per-configuration correct COUNTS (``settings``, ``train``/``test``
  lists indexed by setting, ``training_instances``/``testing_instances``). Only counts
  exist, so each (problem, config) gets ``runs`` records whose first ``c`` are correct;
  the order of those records carries no information (never read "the first k" as a
  sample of k runs — estimators must use all of them). ``answer`` is null.
- ``esc`` — Early-Stopping Self-Consistency: one JSON line per question with 40
  ``generated_answer`` texts at T = 0.7. The answer is what follows the last
  "the answer is", letters only, lower-cased; the text is kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from inferplan._util.hashing import sha256_file
from inferplan.errors import InputError
from inferplan.importers.common import read_objects, sample_record
from inferplan.profiles.header import ConfigSpec
from inferplan.profiles.store import ProfileWriter

KINDS = ("boinf", "osca", "esc", "lm-eval")
_BATCH = 20_000  # records per flushed write: few fsyncs, bounded memory


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote."""

    path: Path
    kind: str
    problems: int
    configs: tuple[str, ...]
    records: int  # records in the file after the import (existing ones included)
    extracted: int | None = None  # ESC: samples with an extracted answer
    notes: tuple[str, ...] = ()


# --- BoInf ------------------------------------------------------------------------


def _boinf(src: Path) -> tuple[dict, Iterator[dict]]:
    rows = read_objects(src)
    ids, gold = [], {}
    for n, row in enumerate(rows, start=1):
        if "all_answers" not in row or "gold_answer" not in row:
            raise InputError(f"{src}: line {n} lacks all_answers/gold_answer (not a BoInf file?)")
        pid = str(row.get("problem_num", n - 1))
        ids.append(pid)
        gold[pid] = str(row["gold_answer"])
    # Files are named <dataset>_<model>.jsonl by the Best-of-∞ release.
    dataset, _, model = src.stem.rpartition("_")  # datasets have underscores (gpqa_diamond), the models none
    header = {
        "model": {"name": model or src.stem, "sha256": None},
        "dataset": dataset,
        "configs": [ConfigSpec("default").to_json()],
        "problem_ids": ids,
        "gold": gold,
    }

    def records() -> Iterator[dict]:
        for pid, row in zip(ids, rows):
            for i, pair in enumerate(row["all_answers"]):
                ans, tokens = (pair[0], pair[1]) if isinstance(pair, list) and len(pair) == 2 else (pair, None)
                ans = None if ans is None or str(ans).strip() == "" else str(ans)  # "" abstains
                yield sample_record(pid, "default", i, ans, ans is not None and ans == gold[pid],
                              None if tokens is None else int(tokens))

    return header, records()


# --- OSCA -------------------------------------------------------------------------


def _osca_config(name: str) -> ConfigSpec:
    model, _, temp = name.rpartition("_")
    try:
        return ConfigSpec(name, float(temp), {"model": model})
    except ValueError:
        return ConfigSpec(name, None, {})


def _model_of(config: ConfigSpec) -> str:
    """The model an OSCA setting belongs to (``Qwen`` of ``Qwen_0.8``; the whole name if it has none)."""
    return config.settings.get("model", config.name)


def osca_models(src: Path) -> list[str]:
    """The models of an OSCA counts file, in the order its settings first name them (a setting is
    ``MODEL_TEMPERATURE``)."""
    header, _ = read_osca(src)
    return list(dict.fromkeys(_model_of(_osca_config(c["name"])) for c in header["configs"]))


def read_osca(src: Path, model: str | None = None) -> tuple[dict, Iterator[dict]]:
    """The file's header and records; ``model``: only that model's configurations (a profile of one
    model, as a plan across models takes it)."""
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    try:
        data = json.loads(src.read_text(encoding="utf-8"))
        settings = data["settings"]
        train_ids, test_ids = list(data["training_instances"]), list(data["testing_instances"])
        counts = {"train": data["train"], "test": data["test"]}
    except (json.JSONDecodeError, KeyError, TypeError):
        raise InputError(f"{src}: not an OSCA counts file (settings/train/test/…_instances)") from None
    configs = [_osca_config(str(s["name"])) for s in settings]
    runs = [int(s["runs"]) for s in settings]
    own = [model is None or _model_of(c) == model for c in configs]
    if not any(own):
        raise InputError(f"{src}: no setting of model {model!r}")
    for part, pids in (("train", train_ids), ("test", test_ids)):
        for j in range(len(settings)):
            col = counts[part].get(str(j))
            if col is None or len(col) != len(pids):
                raise InputError(f"{src}: {part} counts of setting {j} do not match its {len(pids)} instances")
    header = {
        "model": {"name": model or "+".join(sorted({_model_of(c) for c in configs})), "sha256": None},
        "configs": [c.to_json() | {"runs": r} for c, r, mine in zip(configs, runs, own) if mine],
        "problem_ids": train_ids + test_ids,
        "split": {"train": train_ids, "test": test_ids},
        "note": "OSCA publishes correct counts only: the first c of each (problem, config)'s runs "
                "are marked correct; record order carries no information",
    }

    def records() -> Iterator[dict]:
        for part, pids in (("train", train_ids), ("test", test_ids)):
            for p, pid in enumerate(pids):
                for j, cfg in enumerate(configs):
                    if not own[j]:
                        continue
                    c = int(counts[part][str(j)][p])
                    if not 0 <= c <= runs[j]:
                        raise InputError(f"{src}: count {c} for {pid}/{cfg.name} outside 0..{runs[j]}")
                    for i in range(runs[j]):
                        # Compact: 444k records; the absent fields read as unknown (null).
                        yield {"problem": pid, "config": cfg.name, "index": i, "answer": None, "correct": i < c}

    return header, records()


# --- ESC --------------------------------------------------------------------------

_ANSWER_IS = re.compile(r"the answer is", re.IGNORECASE)
_NOT_LETTER = re.compile(r"[^a-z]")


def extract_last_letters(text: str) -> str | None:
    """The letters after the last "the answer is" (up to the line/sentence end), lower-cased."""
    found = list(_ANSWER_IS.finditer(text))
    if not found:
        return None
    tail = text[found[-1].end():].split("\n", 1)[0]
    tail = re.split(r"\.(?:\s|$)", tail, maxsplit=1)[0]
    letters = _NOT_LETTER.sub("", tail.lower())
    return letters or None


def _esc(src: Path) -> tuple[dict, Iterator[dict]]:
    rows = read_objects(src)
    for n, row in enumerate(rows, start=1):
        if not isinstance(row.get("generated_answer"), list) or "answer" not in row:
            raise InputError(f"{src}: line {n} lacks generated_answer/answer (not an ESC file?)")
    ids = [str(i) for i in range(len(rows))]  # the release has no ids: file order it is
    gold = {pid: _NOT_LETTER.sub("", str(row["answer"]).lower()) for pid, row in zip(ids, rows)}
    header = {
        "model": {"name": "gpt-3.5-turbo", "sha256": None},
        "configs": [ConfigSpec("t0.7", 0.7).to_json()],
        "problem_ids": ids,
        "gold": gold,
        "questions": [str(row.get("question", "")) for row in rows],
    }

    def records() -> Iterator[dict]:
        for pid, row in zip(ids, rows):
            for i, text in enumerate(row["generated_answer"]):
                ans = extract_last_letters(str(text))
                yield sample_record(pid, "t0.7", i, ans, ans is not None and ans == gold[pid], text=str(text))

    return header, records()


_READERS: dict[str, Callable[[Path], tuple[dict, Iterator[dict]]]] = {"boinf": _boinf, "osca": read_osca, "esc": _esc}
_GRADERS = {"boinf": "exact string (as published)", "osca": "unit tests (as published)",
            "esc": "letters after 'the answer is', lower-cased, exact",
            "lm-eval": "the task's filter and exact_match, per repeat"}


def run_import(kind: str, src: Path | str, out: Path | str, *, force: bool = False, model: str | None = None,
               filter_name: str | None = None) -> ImportResult:
    """Convert the file ``src`` of format ``kind`` into the profile ``out``.

    ``lm-eval`` only: ``filter_name`` picks the task's filter, ``model`` counts tokens.
    """
    src, out = Path(src), Path(out)
    header, records, notes = read_published(kind, src, model=model, filter_name=filter_name)
    return write_import(kind, src, out, header, records, notes, force=force)


def read_published(kind: str, src: Path, *, model: str | None = None,
                   filter_name: str | None = None) -> tuple[dict, Iterator[dict], list[str]]:
    """The file ``src`` of format ``kind`` read: its profile header, its records and notes."""
    if kind not in KINDS:
        raise InputError(f"unknown import format {kind!r}; choose one of {', '.join(KINDS)}")
    if kind != "lm-eval" and (model is not None or filter_name is not None):
        raise InputError("--model and --filter go with `import lm-eval` only")
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    notes: list[str] = []
    if kind == "lm-eval":
        from inferplan.importers.lmeval import read_lmeval

        counter = None
        if model is not None:
            from inferplan.backends import token_counter

            counter = token_counter(model)
        header, records, notes = read_lmeval(src, filter_name=filter_name, count_tokens=counter)
        if counter is None:
            notes.append("token counts unknown (give --model to count them with its tokenizer)")
        header["note"] = "; ".join(notes)
    else:
        header, records = _READERS[kind](src)
    return header, records, notes


def write_import(kind: str, src: Path, out: Path, header: dict, records: Iterator[dict], notes: list[str], *,
                 force: bool = False) -> ImportResult:
    """Write a read file's records as the profile ``out`` (resuming one made from the same file)."""
    header = {
        **header,
        "backend": {"name": "import", "format": kind},
        "tasks": {"name": src.name, "sha256": sha256_file(src)},
        "imported_from": str(src),
        "grader": _GRADERS[kind],
        "prompt_template": None,
        "max_tokens": None,
        "seed": None,
    }
    written = extracted = 0
    with ProfileWriter(out, header, force=force) as writer:
        batch: list[dict] = []
        for rec in records:
            batch.append(rec)
            written += 1
            extracted += rec["answer"] is not None
            if len(batch) >= _BATCH:
                writer.write(batch)
                batch = []
        writer.write(batch)
        total = len(writer.done)
    return ImportResult(
        path=out, kind=kind, problems=len(header["problem_ids"]),
        configs=tuple(c["name"] for c in header["configs"]), records=total,
        extracted=extracted if kind == "esc" else None, notes=tuple(notes),
    )


def import_published(kind: str, src: Path | str, out: Path | str, *, force: bool = False) -> Path:
    """Import a published sample set (``boinf``, ``osca`` or ``esc``); returns ``out``."""
    return run_import(kind, src, out, force=force).path

"""Published files → one profile per model in a folder: several Best-of-∞ files of one benchmark
(one model each), or OSCA's one file of two models' configurations.

A plan across models takes one profile per model of the same problems (``plan A B …``), so
the simplest honest shape for a benchmark's files is one profile per file, each named as its
source, in the folder ``-o`` names: ``inferplan plan DIR/*.jsonl`` then plans across them
unchanged. Every file is read and checked before anything is written — the same problem ids
with the same gold answers (files of another benchmark are refused, the difference named),
one file per model — and every output is checked against what it would replace (a file
inferplan did not write is never overwritten without ``--force``).

OSCA's one counts file holds two models' configurations (``Qwen_0.2`` … ``Llama_1.4``); into a
folder it imports as one profile per model (``<file>_<model>.jsonl``, each with its model's
temperatures as configurations), the same shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from inferplan.errors import InputError, OutputError
from inferplan.importers.published import ImportResult, osca_models, read_osca, read_published, write_import
from inferplan.profiles.store import check_profile_output


def _same_problems(first: tuple[Path, dict], other: tuple[Path, dict]) -> None:
    """One clear line (exit 3) when two files do not hold the same problems with the same gold answers."""
    (a, ha), (b, hb) = first, other
    ga, gb = ha["gold"], hb["gold"]
    only_a, only_b = [p for p in ga if p not in gb], [p for p in gb if p not in ga]
    if only_a or only_b:
        example = f"problem {only_a[0]!r} only in {a.name}" if only_a else f"problem {only_b[0]!r} only in {b.name}"
        raise InputError(f"{a.name} and {b.name} hold different problems ({len(only_a)} only in the first, "
                         f"{len(only_b)} only in the second, e.g. {example}); import files of one benchmark")
    differ = [p for p in ga if ga[p] != gb[p]]
    if differ:
        p = differ[0]
        raise InputError(f"{a.name} and {b.name} give {len(differ)} problem(s) different gold answers (problem {p!r}: "
                         f"{ga[p]!r} against {gb[p]!r}); import files of one benchmark")


def import_set(kind: str, sources: Sequence[Path | str], out_dir: Path | str, *,
               force: bool = False) -> tuple[ImportResult, ...]:
    """Import each file of ``sources`` as ``out_dir/<its name>``, after checking they hold the same problems."""
    sources, out_dir = [Path(s) for s in sources], Path(out_dir)
    if kind not in ("boinf", "osca") or (kind == "osca" and len(sources) > 1):
        raise InputError(f"several files at once go with `import boinf` only; import {kind} files one at a time")
    if not sources:
        raise InputError("give at least one file to import")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: is a file; with several files to import, -o names a folder for their profiles")
    if kind == "osca":
        return _osca_per_model(sources[0], out_dir, force)
    read = [(src, read_published(kind, src)) for src in sources]
    for src, (header, _, _) in read[1:]:
        _same_problems((sources[0], read[0][1][0]), (src, header))
    models: dict[str, Path] = {}
    for src, (header, _, _) in read:  # a plan across models names each model once
        name = header["model"]["name"]
        if name in models:
            raise InputError(f"{models[name].name} and {src.name} are both of model {name}; give one file per model")
        models[name] = src
    outs = [out_dir / src.name for src in sources]
    for out in outs:  # every output checked before the first is written
        check_profile_output(out, force=force)
    return tuple(write_import(kind, src, out, header, records, notes, force=force)
                 for (src, (header, records, notes)), out in zip(read, outs))


def _osca_per_model(src: Path, out_dir: Path, force: bool) -> tuple[ImportResult, ...]:
    """An OSCA counts file as one profile per model in ``out_dir``, every output checked first."""
    models = osca_models(src)
    outs = [out_dir / f"{src.stem}_{m}.jsonl" for m in models]
    for out in outs:
        check_profile_output(out, force=force)
    return tuple(write_import("osca", src, out, *read_osca(src, m), [], force=force)
                 for m, out in zip(models, outs))

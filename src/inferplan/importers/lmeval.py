"""lm-evaluation-harness ``--log_samples`` output → an inferplan profile.

lm-eval writes ``samples_<task>_<time>.jsonl`` (one record per document and
filter: ``doc``, ``target``, ``arguments``, ``resps`` — the raw generations, one
per repeat — ``filtered_resps``, ``filter``, and each metric's value) beside
``results_<time>.json``, which holds the task's config. A task with
``repeats: K`` gives K samples per document, but its filter usually reduces them
to one answer (``take_first``, ``majority_vote``) and its metric is computed on
that one only. So the importer re-applies the filter's per-response steps
(``regex``, ``remove_whitespace``, ``lowercase``, ``uppercase``, ``map``) to every
repeat, as lm-eval defines them, grades each with the task's ``exact_match``
(its ``ignore_case``, ``ignore_punctuation``, ``ignore_numbers`` and
``regexes_to_ignore``), and checks both against what lm-eval itself recorded for
every document: a filter or metric it cannot reproduce is refused, never guessed.
A response equal to the regex's fallback (``[invalid]``) abstains.

Token counts are not in the samples: ``--model`` (a GGUF, or ``smollm2``) counts
them with that model's tokenizer; without it they stay unknown.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

from inferplan.errors import InputError
from inferplan.importers.common import read_objects, sample_record
from inferplan.profiles.header import ConfigSpec

_REDUCERS = ("take_first", "majority_vote")
_STEPS = ("regex", "remove_whitespace", "lowercase", "uppercase", "map")


def results_file(samples: Path) -> Path | None:
    """The ``results_<time>.json`` written with ``samples_<task>_<time>.jsonl``."""
    stamp = re.search(r"_(\d{4}-\d\d-\d\dT[\d\-.]+)\.jsonl$", samples.name)
    if stamp is None:
        return None
    candidate = samples.with_name(f"results_{stamp.group(1)}.json")
    return candidate if candidate.is_file() else None


def _task_config(results: dict, task: str) -> dict:
    configs = results.get("configs") or {}
    if task not in configs:
        raise InputError(f"the results file has no config for task {task!r} (it has {', '.join(configs) or 'none'})")
    return configs[task]


# -- the filter, per response ----------------------------------------------------------


def _regex_step(pattern: str, group_select: int = 0, fallback: str = "[invalid]") -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def apply(resp: str) -> str:
        found = compiled.findall(resp if isinstance(resp, str) else "")
        if not found:
            return fallback
        match = found[group_select]
        if isinstance(match, tuple):  # several groups: the first that matched
            match = next((m for m in match if m), fallback)
        return match.strip()

    return apply


def per_response_filter(steps: list[dict], where: str) -> tuple[Callable[[str], str], str | None, str | None]:
    """(the filter's per-response part, its reducing step, the regex fallback) of a filter's steps."""
    funcs: list[Callable[[str], str]] = []
    reducer = fallback = None
    for step in steps:
        name = step.get("function")
        if name in _REDUCERS:
            reducer = reducer or name  # the first reduction decides (take_first after a vote keeps the vote)
        elif name == "regex":
            fallback = step.get("fallback", "[invalid]")
            funcs.append(_regex_step(step.get("regex_pattern", r"#### (\-?[0-9\.\,]+)"), int(step.get("group_select", 0)),
                                     fallback))
        elif name == "remove_whitespace":
            funcs.append(str.strip)
        elif name == "lowercase":
            funcs.append(str.lower)
        elif name == "uppercase":
            funcs.append(str.upper)
        elif name == "map":
            table, default = dict(step.get("mapping_dict") or {}), step.get("default_value")
            funcs.append(lambda r, t=table, d=default: t.get(r, d))
        else:
            raise InputError(f"{where}: filter step {name!r} cannot be re-applied to each repeat (inferplan "
                             f"re-applies {', '.join(_STEPS)}, then {' or '.join(_REDUCERS)}); choose another --filter")

    def apply(resp: str) -> str:
        for f in funcs:
            resp = f(resp)
        return resp

    return apply, reducer, fallback


def _reduce(answers: list[str], reducer: str | None) -> str:
    if reducer == "majority_vote":
        return Counter(answers).most_common(1)[0][0]
    return answers[0]


# -- the metric -----------------------------------------------------------------------


def exact_match(config: dict) -> Callable[[str, str], bool]:
    """lm-eval's ``exact_match`` with the options of the task's ``metric_list`` entry."""
    entry = next((m for m in config.get("metric_list") or () if m.get("metric") == "exact_match"), None)
    if entry is None:
        names = [m.get("metric") for m in config.get("metric_list") or ()]
        raise InputError(f"the task's metrics are {names}; inferplan grades each repeat with exact_match only")
    ignore = list(entry.get("regexes_to_ignore") or ())
    drop_punct = str.maketrans("", "", string.punctuation)
    drop_digits = str.maketrans("", "", string.digits)

    def normal(text: str) -> str:
        for pattern in ignore:
            text = re.sub(pattern, "", text)
        if entry.get("ignore_case"):
            text = text.lower()
        if entry.get("ignore_punctuation"):
            text = text.translate(drop_punct)
        if entry.get("ignore_numbers"):
            text = text.translate(drop_digits)
        return text

    return lambda prediction, reference: normal(str(prediction)) == normal(str(reference))


# -- the import ------------------------------------------------------------------------


def read_lmeval(src: Path, *, filter_name: str | None = None,
                count_tokens: Callable[[str], int] | None = None) -> tuple[dict, Iterator[dict], list[str]]:
    """(profile header, records, notes) of an lm-eval samples file."""

    rows, chosen, filters = _rows_of_filter(read_objects(src), filter_name, src)
    results = results_file(src)
    if results is None:
        raise InputError(f"{src}: the results_<time>.json lm-eval wrote beside it is missing (it holds the "
                         "task's filter and metric, needed to grade every repeat)")
    task = re.sub(r"^samples_(.+)_\d{4}-\d\d-\d\dT.*$", r"\1", src.name)
    data = json.loads(results.read_text(encoding="utf-8"))
    config = _task_config(data, task)
    steps = next((f["filter"] for f in config.get("filter_list") or () if f.get("name") == chosen), None)
    if steps is None and chosen != "none":
        raise InputError(f"{results}: task {task!r} has no filter {chosen!r} in its config")
    # lm-eval's default filter "none" takes the first response as it is
    per_response, reducer, fallback = per_response_filter(steps or [{"function": "take_first"}], f"filter {chosen!r}")
    grade = exact_match(config)
    gen = config.get("generation_kwargs") or {}
    temperature = float(gen.get("temperature", 0.0)) if gen.get("do_sample", False) else 0.0
    cfg = ConfigSpec(f"t{temperature:g}", temperature)
    ids = [str((r.get("doc") or {}).get("id", r["doc_id"])) for r in rows]
    if len(set(ids)) != len(ids):
        ids = [str(r["doc_id"]) for r in rows]
    prepared = []
    for pid, row in zip(ids, rows):
        texts = [t if isinstance(t, str) else "" for t in (row["resps"][0] if row["resps"] else [])]
        answers = [per_response(t) for t in texts]
        _check(row, answers, reducer, grade, src)
        prepared.append((pid, row, texts, answers))
    identical = sum(len(set(t)) == 1 for _, _, t, _ in prepared if len(t) > 1)
    notes = [f"lm-eval task {task}, filter {chosen} (of {', '.join(filters)}), graded by exact_match per repeat"]
    if prepared and identical > len(prepared) / 2:
        notes.append(f"{identical} of {len(prepared)} documents have identical repeats: lm-eval sends every repeat "
                     "with the same seed, and a server that honours seeds returns the same sample; these are not "
                     "independent samples")
    header = {
        "model": {"name": str(data.get("model_name") or config.get("metadata", {}).get("pretrained") or "lm-eval"),
                  "sha256": None},
        "dataset": task, "configs": [cfg.to_json()], "problem_ids": ids,
        "gold": {pid: str(row.get("target")) for pid, row in zip(ids, rows)},
    }

    def records() -> Iterator[dict]:
        for pid, row, texts, answers in prepared:
            prompt = (row.get("arguments") or {}).get("gen_args_0", {}).get("arg_0")
            prompt_tokens = count_tokens(prompt) if count_tokens and isinstance(prompt, str) else None
            for i, (text, answer) in enumerate(zip(texts, answers)):
                rec = sample_record(pid, cfg.name, i, None if answer == fallback else answer,
                              grade(answer, row.get("target")), count_tokens(text) if count_tokens else None, text)
                rec["prompt_tokens"] = prompt_tokens
                yield rec

    return header, records(), notes


def _rows_of_filter(rows: list[dict], filter_name: str | None, src: Path) -> tuple[list[dict], str, list[str]]:
    """(the records of one filter, its name, every filter's name); the first filter by default."""
    for n, row in enumerate(rows, start=1):
        if not isinstance(row.get("resps"), list) or "doc_id" not in row or "filter" not in row:
            raise InputError(f"{src}: line {n} lacks doc_id/resps/filter (not an lm-eval samples file?)")
    filters = list(dict.fromkeys(str(r["filter"]) for r in rows))
    chosen = filter_name or filters[0]
    if chosen not in filters:
        raise InputError(f"{src}: no filter {chosen!r} (the file has {', '.join(filters)})")
    return [r for r in rows if r["filter"] == chosen], chosen, filters


def _check(row: dict, answers: list[str], reducer: str | None, grade, src: Path) -> None:
    """The re-applied filter and metric must give what lm-eval recorded for this document."""
    recorded = row.get("filtered_resps")
    ours = [_reduce(answers, reducer)] if reducer else answers
    if answers and recorded is not None and [str(a) for a in ours] != [str(a) for a in recorded][:len(ours)]:
        raise InputError(f"{src}: doc {row['doc_id']}: the filter re-applied gives {ours[:2]}, lm-eval recorded "
                         f"{recorded[:2]}; this filter cannot be imported per repeat")
    value = row.get("exact_match")
    if answers and value is not None and float(grade(ours[0], row.get("target"))) != float(value):
        raise InputError(f"{src}: doc {row['doc_id']}: exact_match re-computed is {float(grade(ours[0], row.get('target')))}, "
                         f"lm-eval recorded {value}")

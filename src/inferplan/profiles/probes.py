"""Forced answers in a profile: each sample's answer when made to answer at a depth (issue 30).

A profile made with ``--probes`` records, per sample, the answer it gave when made to
answer after ``depth`` thinking tokens (``probes``: on the side, while the thinking went
on) and, when it reached ``max_tokens``, the answer forced there instead of a cut-off
text (``forced``, finish "forced"). The table keeps the plain view — a sample cut at the
cap abstains, as in a profile without forcing — and these as extra columns, one per
depth: replay reads a sample at a thinking budget from them (``replay.budgets``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferplan.errors import InputError

NOT_PROBED = -2  # answer id of a (sample, depth) with no forced answer recorded


@dataclass(frozen=True)
class ProbeColumns:
    """Forced answers per (sample, depth): ``depths`` ascending, the last the profile's max_tokens."""

    depths: tuple[int, ...]
    answer: np.ndarray  # (S, D) int32 answer id; −1 none extracted (censored), NOT_PROBED none asked
    correct: np.ndarray  # (S, D) bool
    tokens: np.ndarray  # (S, D) float: the forced answer's tokens (answer prompt + answer), nan where none
    ended: np.ndarray  # (S, D) bool: the answer ended by itself (not at answer_tokens)


def record_probes(rec: dict, where: str) -> tuple[tuple, ...]:
    """A record's forced answers as (depth, answer, correct, tokens, ended) tuples, checked."""
    cells = ([rec["forced"]] if rec.get("forced") is not None else []) + list(rec.get("probes") or ())
    out = []
    for cell in cells:
        try:
            depth, answer, correct, tokens, ended = cell[:5]
            out.append((int(depth), None if answer is None else str(answer), bool(correct), float(tokens), bool(ended)))
        except (TypeError, ValueError):
            raise InputError(f"{where}: a forced answer must be [depth, answer, correct, tokens, ended], "
                             f"not {str(cell)[:60]}") from None
    return tuple(out)


def probe_depths(header: dict) -> tuple[int, ...]:
    """The depths a profile's header says it forced answers at (probes, then max_tokens); () if none."""
    forcing = header.get("forcing")
    if not isinstance(forcing, dict) or header.get("max_tokens") is None:
        return ()
    return tuple(sorted({*(int(d) for d in forcing.get("probe_depths") or ()), int(header["max_tokens"])}))


def pack_probes(depths: tuple[int, ...], cells: list[tuple[int, tuple]], answers: list[dict[str, int]]) -> ProbeColumns:
    """The columns of the table's samples: ``cells`` holds (problem, forced answers) per sample, in
    table order; answer strings get ids in the problem's answer list (``answers``, extended)."""
    S, D = len(cells), len(depths)
    col = {d: j for j, d in enumerate(depths)}
    answer = np.full((S, D), NOT_PROBED, np.int32)
    correct = np.zeros((S, D), bool)
    tokens = np.full((S, D), np.nan)
    ended = np.zeros((S, D), bool)
    for i, (p, forced) in enumerate(cells):
        for depth, ans, ok, toks, end in forced:
            j = col.get(depth)
            if j is None:
                continue  # a depth the header does not name (an edited file): not a budget to replay
            answer[i, j] = -1 if ans is None else answers[p].setdefault(ans, len(answers[p]))
            correct[i, j], tokens[i, j], ended[i, j] = ok and ans is not None, toks, end
    return ProbeColumns(depths, answer, correct, tokens, ended)

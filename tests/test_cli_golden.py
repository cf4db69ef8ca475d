"""Golden output: one table of each data command, at a fixed console width.

The golden file was written by the CLI before the library redesign and changes only
on purpose (what a user sees is part of the interface): since then only the
predicted maj@k of ``fit`` (the maj@k model of issue 13), the ``bayes`` rule's
frontier points (its exact Bayes factor), the (m)sprt specs (their β parameter), the search's
candidate count (ConSol's defaults), the break-even line of ``plan``, the fit footnote
on what its predicted intervals are for, the intervals widened to at least the binomial
interval of the problem count (issue 28), maj@k's self-check line, headers that wrap
instead of being cut, and rules, aggregations and curve families said in words with fit's
raw parameters behind --verbose and plan's and simulate's line on what they buy (issue 29) changed. Rewrite it with
``INFERPLAN_WRITE_GOLDEN=1 pytest tests/test_cli_golden.py`` and review the diff.
Wall-clock times and the install location of the embedded model are masked.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from inferplan.cli.render import common

GOLDEN = Path(__file__).parent / "golden" / "cli_tables.txt"
COMMANDS = [
    (100, ["import", "esc", "{data}/esc/last_letters_gpt35.jsonl", "-o", "esc.jsonl"]),
    (100, ["profile", "show", "esc.jsonl"]),
    (100, ["fit", "esc.jsonl", "--at", "32,100"]),
    (100, ["plan", "esc.jsonl", "--budget", "8", "--unit", "samples", "-o", "esc.plan.json"]),
    (100, ["simulate", "esc.jsonl", "--plan", "esc.plan.json"]),
    (100, ["simulate", "esc.jsonl", "--rule", "beta:0.95", "--max-samples", "40"]),
    (200, ["models", "--no-hash"]),
]


def _normalise(text: str) -> str:
    text = re.sub(r"searched in \d+(\.\d+)?s", "searched in <t>s", text)
    text = re.sub(r"\S*/site-packages/", "<site-packages>/", text)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


@pytest.mark.data
def test_tables_are_unchanged(cli, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    got = []
    for width, args in COMMANDS:
        monkeypatch.setattr(common.out, "_width", width)
        args = [a.format(data=shared_data) for a in args]
        r = cli(*args)
        got.append(f"=== {' '.join(args[:2])} (exit {r.code})\n{r.out}")
    if os.environ.get("INFERPLAN_WRITE_GOLDEN") == "1":
        GOLDEN.write_text(_normalise("".join(got)))
    assert _normalise("".join(got)) == GOLDEN.read_text()


NARROW = Path(__file__).parent / "golden" / "cli_tables_80.txt"


@pytest.mark.data
def test_tables_fit_80_columns_without_a_cut_cell(cli, shared_data: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """At 80 columns no table cell is cut short ("con…", "10…"): headers wrap, figures stay whole."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(common.out, "_width", 80)
    got = []
    for _, args in COMMANDS[:6]:
        args = [a.format(data=shared_data) for a in args]
        r = cli(*args)
        got.append(f"=== {' '.join(args[:2])} (exit {r.code})\n{r.out}")
        cut = [line for line in r.out.splitlines() if re.search(r"…\s*[│┃]", line)]
        assert not cut, f"{' '.join(args[:2])}: cells cut at 80 columns:\n" + "\n".join(cut)
    if os.environ.get("INFERPLAN_WRITE_GOLDEN") == "1":
        NARROW.write_text(_normalise("".join(got)))
    assert _normalise("".join(got)) == NARROW.read_text()

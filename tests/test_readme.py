"""The README's tour and its Python snippet, run as written, in a fresh folder, on the embedded model."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def section(title: str) -> str:
    """The text of the README's ``## title`` section, up to the next ``## ``."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"the README has no '## {title}' section"
    return match.group(1)


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.M | re.S)


def tour_script() -> str:
    return "\n".join(blocks(section("A short tour"), "sh"))


def python_snippet() -> str:
    found = blocks(section("From Python"), "python")
    assert len(found) == 1, "the README's 'From Python' should hold one python block"
    return found[0]


def _env() -> dict[str, str]:
    # `inferplan` and `python` as this interpreter's environment has them (the project's .venv).
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


def test_the_tour_and_the_snippet_are_found() -> None:
    script = tour_script()
    assert "inferplan profile" in script and "inferplan run" in script and "questions.jsonl" in script
    assert "--install-completion" not in script  # it would change the user's shell set-up
    snippet = python_snippet()
    assert len(snippet.strip().splitlines()) <= 6


@pytest.mark.slow
def test_the_tour_runs_as_written(tmp_path: Path) -> None:
    script = "set -euo pipefail\n" + tour_script()
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, f"the tour failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    for name in ("questions.jsonl", "profile.jsonl", "curves.png", "plan.json", "answers.jsonl"):
        assert (tmp_path / name).stat().st_size > 0, name
    answers = [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text().splitlines() if line.strip()]
    assert [a["id"] for a in answers] == ["q1", "q2"]
    assert json.loads((tmp_path / "plan.json").read_text())["model"]["spec"] == "smollm2"


@pytest.mark.slow
def test_the_python_snippet_runs_as_written(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", python_snippet()], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"the snippet failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    accuracy = done.stdout.split()[-1]
    assert 0.0 <= float(accuracy) <= 1.0
    assert (tmp_path / "plan-from-python.json").exists() and (tmp_path / "profile.jsonl").exists()

